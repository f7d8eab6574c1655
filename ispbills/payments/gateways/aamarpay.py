"""aamarPay: the JSON payment API, the form callbacks and the trxcheck verification.

``POST jsonpost.php`` (``type: "json"``, store id and signature key in the body) answers
``{"result": "true", "payment_url": ...}``. success_url and fail_url receive an unsigned form
POST, cancel_url a plain navigation: none of them is proof. ``GET
api/v1/trxcheck/request.php?request_id=<our tran_id>&store_id=&signature_key=&type=json``
is the check: paid when ``pay_status`` is ``Successful`` for our ``mer_txnid`` and amount.
The signature key travels in that query string, so the URL must never reach a log.

Unconfirmed (to check with the provider's onboarding pack): which currency key trxcheck
answers (``currency_merchant``, else ``currency``, else the store's BDT), and when the
answer is a one-element array (both shapes are read).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from django.utils.translation import gettext_lazy as _

from ispbills.payments.gateways import register
from ispbills.payments.gateways.base import (
    AttemptInfo,
    Callback,
    CallbackRequest,
    CallbackStatus,
    Confirmation,
    CredentialField,
    GatewayError,
    PaymentGateway,
    PaymentRequest,
    Signature,
    StartResult,
    Verdict,
    format_amount,
)
from ispbills.payments.gateways.base import (
    parse_amount as base_parse_amount,
)

SANDBOX_HOST = "https://sandbox.aamarpay.com"
LIVE_HOST = "https://secure.aamarpay.com"
CREATE_PATH = "/jsonpost.php"
TRXCHECK_PATH = "/api/v1/trxcheck/request.php"
CURRENCIES = frozenset({"BDT", "USD"})
SUCCESSFUL = "Successful"
FAILED_STATUSES = frozenset({"Failed", "Cancelled", "Canceled", "Expired"})


class AamarpayProtocolError(ValueError):
    """An aamarPay message could not be built or understood."""


def parse_amount(value: Any) -> Decimal | None:
    return base_parse_amount(value, AamarpayProtocolError)


def payment_fields(
    *,
    store_id: str,
    signature_key: str,
    tran_id: str,
    amount: Decimal,
    currency: str,
    description: str,
    success_url: str,
    fail_url: str,
    cancel_url: str,
    customer: dict[str, str],
) -> dict[str, str]:
    """The fields of a payment request (the JSON API adds ``type: "json"``)."""
    if currency not in CURRENCIES:
        raise AamarpayProtocolError(f"currency {currency} is not taken")
    return {
        "store_id": store_id,
        "signature_key": signature_key,
        "tran_id": tran_id,
        "amount": format_amount(amount),
        "currency": currency,
        "desc": description,
        "cus_name": customer.get("name") or "Customer",
        "cus_email": customer.get("email") or "noreply@example.com",
        "cus_phone": customer.get("phone") or "",
        "cus_add1": customer.get("address") or "N/A",
        "cus_add2": "",
        "cus_city": customer.get("city") or "N/A",
        "cus_country": customer.get("country") or "Bangladesh",
        "success_url": success_url,
        "fail_url": fail_url,
        "cancel_url": cancel_url,
        "opt_a": tran_id,
        "opt_b": "",
        "opt_c": "",
        "opt_d": "",
    }


def json_body(fields: dict[str, str]) -> dict[str, str]:
    return {**fields, "type": "json"}


def parse_create(body: Any) -> str:
    """The payment page URL, or the messages aamarPay refused the request with."""
    if isinstance(body, dict) and str(body.get("result")) == "true" and body.get("payment_url"):
        return str(body["payment_url"])
    if isinstance(body, dict):
        messages = [str(v) for k, v in body.items() if k != "result" and v]
        raise AamarpayProtocolError("; ".join(messages) or "the payment request was refused")
    raise AamarpayProtocolError(f"the payment request was refused: {body!r}"[:200])


def trxcheck_params(*, tran_id: str, store_id: str, signature_key: str) -> dict[str, str]:
    return {
        "request_id": tran_id,
        "store_id": store_id,
        "signature_key": signature_key,
        "type": "json",
    }


@dataclass(frozen=True)
class Verification:
    """aamarPay's own record of a transaction, from trxcheck."""

    pay_status: str
    tran_id: str
    amount: Decimal | None
    currency: str
    provider_txn_id: str
    bank_txn: str
    raw: dict[str, Any]

    @property
    def paid(self) -> bool:
        return self.pay_status == SUCCESSFUL

    @property
    def failed(self) -> bool:
        return self.pay_status in FAILED_STATUSES


def parse_trxcheck(body: Any, *, default_currency: str = "BDT") -> Verification:
    """Read trxcheck's answer (an object, or an array of one)."""
    if isinstance(body, list) and len(body) == 1:
        body = body[0]
    if not isinstance(body, dict):
        raise AamarpayProtocolError("trxcheck answered neither an object nor a one-element list")
    status = body.get("pay_status")
    if not status:
        message = body.get("msg") or body.get("message") or body.get("error")
        raise AamarpayProtocolError(str(message or "trxcheck answered without pay_status"))
    return Verification(
        pay_status=str(status),
        tran_id=str(body.get("mer_txnid") or ""),
        amount=parse_amount(body.get("amount")),
        currency=str(body.get("currency_merchant") or body.get("currency") or default_currency),
        provider_txn_id=str(body.get("pg_txnid") or body.get("epw_txnid") or ""),
        bank_txn=str(body.get("bank_txn") or body.get("bank_trxid") or ""),
        raw=body,
    )


def callback_fields(form: dict[str, str]) -> dict[str, str]:
    """What the unsigned success/fail POST says (a hint, never proof)."""
    keys = ("pay_status", "mer_txnid", "pg_txnid", "epw_txnid", "amount", "currency")
    return {key: form.get(key, "") for key in keys}


# -- the adapter ----------------------------------------------------------------------------


def with_query(url: str, **params: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode(params)}"


CALLBACK_STATUS = {"Successful": CallbackStatus.SUCCESS, "Failed": CallbackStatus.FAILURE}


@register
class AamarpayGateway(PaymentGateway):
    """aamarPay: the JSON payment API, form callbacks, trxcheck."""

    code = "aamarpay"
    name = "aamarPay"
    sandbox_url = SANDBOX_HOST
    live_url = LIVE_HOST
    currencies: ClassVar[tuple[str, ...]] = ("BDT", "USD")
    credential_fields = (
        CredentialField("store_id", "Store id", secret=False),
        CredentialField("signature_key", "Signature key"),
    )
    redact_keys = frozenset({"signature_key"})
    unconfirmed: ClassVar[tuple[str, ...]] = (
        "The currency key of trxcheck's answer (`currency_merchant`, else `currency`, else "
        "the store's BDT).",
        "When trxcheck answers a one-element array instead of an object (both are read).",
        "IPN: the guide mentions a notification but no endpoint spec; trxcheck and "
        "reconciliation only.",
        "Refunds: no public API; refund in the merchant panel.",
    )
    product = "aamarPay"
    trxcheck_path = TRXCHECK_PATH

    def fields(self, request: PaymentRequest) -> dict[str, str]:
        try:
            return payment_fields(
                store_id=self.cred("store_id"),
                signature_key=self.cred("signature_key"),
                tran_id=request.merchant_ref,
                amount=request.amount,
                currency=request.currency,
                description=request.description or "Payment",
                success_url=request.callback_url,
                fail_url=request.callback_url,
                # The cancel return carries no data: name the attempt in its URL.
                cancel_url=with_query(
                    request.callback_url, status="cancel", tran_id=request.merchant_ref
                ),
                customer={
                    "name": request.customer_name,
                    "phone": request.customer_phone,
                    "email": request.customer_email,
                    "address": request.customer_address,
                },
            )
        except AamarpayProtocolError as exc:
            raise GatewayError(f"{self.product}: {exc}") from None

    def start(self, request: PaymentRequest) -> StartResult:
        response = self.http.request(
            "payment request",
            "POST",
            self.base_url + CREATE_PATH,
            json_body=json_body(self.fields(request)),
        )
        try:
            page = parse_create(_json(response, self.product))
        except AamarpayProtocolError as exc:
            raise GatewayError(f"{self.product}: {exc}") from None
        return self.started(page)

    def started(self, page: str) -> StartResult:
        track = dict(parse_qsl(urlsplit(page).query)).get("track", "")
        return StartResult(provider_ref=track, redirect_url=page, data={"track": track})

    @classmethod
    def identify(cls, request: CallbackRequest) -> tuple[str, str]:
        return request.form.get("mer_txnid") or request.query.get("tran_id", ""), ""

    def parse_callback(self, request: CallbackRequest) -> Callback:
        fields = callback_fields(request.form)
        if fields["mer_txnid"]:
            return Callback(
                status=CALLBACK_STATUS.get(fields["pay_status"], CallbackStatus.UNKNOWN),
                signature=Signature.ABSENT,
                merchant_ref=fields["mer_txnid"],
                data={k: v for k, v in fields.items() if v},
            )
        cancelled = request.param("status") == "cancel"
        return Callback(
            status=CallbackStatus.CANCEL if cancelled else CallbackStatus.UNKNOWN,
            signature=Signature.ABSENT,
            merchant_ref=request.query.get("tran_id", ""),
        )

    def query(self, attempt: AttemptInfo) -> Confirmation:
        response = self.http.request(
            "trxcheck",
            "GET",
            self.base_url + self.trxcheck_path,
            params=trxcheck_params(
                tran_id=attempt.merchant_ref,
                store_id=self.cred("store_id"),
                signature_key=self.cred("signature_key"),
            ),
        )
        if response.status_code >= 400:
            raise GatewayError(f"{self.product}: HTTP {response.status_code}.")
        try:
            body = response.json()
        except ValueError:
            raise GatewayError(f"{self.product}: trxcheck did not answer JSON.") from None
        try:
            result = parse_trxcheck(body)
        except AamarpayProtocolError as exc:
            # An id trxcheck does not know (the payer never reached the page): not yet.
            return Confirmation(Verdict.UNKNOWN, message=str(exc)[:200])
        if result.paid:
            verdict = Verdict.PAID
        elif result.pay_status in {"Cancelled", "Canceled"}:
            verdict = Verdict.CANCELLED
        elif result.failed:
            verdict = Verdict.FAILED
        else:
            verdict = Verdict.PENDING
        return Confirmation(
            verdict=verdict,
            provider_txn_id=result.provider_txn_id if verdict is Verdict.PAID else "",
            amount=result.amount,
            currency=result.currency,
            merchant_ref=result.tran_id,
            message=result.pay_status,
            data={"bank_txn": result.bank_txn, "card_type": str(result.raw.get("card_type") or "")},
        )

    def check(self) -> str:
        response = self.http.request(
            "check",
            "GET",
            self.base_url + self.trxcheck_path,
            params=trxcheck_params(
                tran_id="CHECK",
                store_id=self.cred("store_id"),
                signature_key=self.cred("signature_key"),
            ),
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        text = str(body).lower()
        if response.status_code >= 400 or "unauthori" in text or "invalid store" in text:
            raise GatewayError(f"{self.product}: the store id or signature key was refused.")
        return str(_("The store answers."))


def _json(response: httpx.Response, product: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise GatewayError(f"{product}: HTTP {response.status_code}, not JSON.") from None
