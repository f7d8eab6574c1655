"""shurjoPay v2: token, secret-pay, the return, verification.

``POST get_token`` gives a bearer token valid ``expires_in`` **seconds** (the official plugin
reads them as milliseconds and logs in on every call); ``POST secret-pay`` creates the
checkout and answers ``sp_order_id``; the browser comes back to ``return_url?order_id=<sp
order id>`` (a hint); ``POST verification`` answers a one-element JSON **array** for a known
order (an object with ``sp_code`` 1011 for an unknown one). Paid means ``sp_code == "1000"``
with our ``customer_order_id``, amount and currency. There is no payload signing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
from django.utils.translation import gettext_lazy as _

from ispbills.core import clock
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

SANDBOX_BASE = "https://sandbox.shurjopayment.com"
LIVE_BASE = "https://engine.shurjopayment.com"
PREFIX_MAX = 5
CURRENCIES = frozenset({"BDT", "USD"})
SUCCESS = "1000"
INVALID_ORDER = "1011"
# Codes after which the order will not be paid (failed, cancelled, declined, ...).
FINAL_FAILED = frozenset({"1001", "1002", "1005", "1006", "1007", "1008", "1009", "1010", "1067"})
CANCELLED = "1002"
# Renew the token this long before shurjoPay says it expires.
TOKEN_MARGIN = dt.timedelta(seconds=60)


class ShurjopayProtocolError(ValueError):
    """A shurjoPay message could not be built or understood."""


def parse_amount(value: Any) -> Decimal | None:
    return base_parse_amount(value, ShurjopayProtocolError, thousands=False)


def token_body(username: str, password: str) -> dict[str, str]:
    return {"username": username, "password": password}


@dataclass(frozen=True)
class Token:
    token: str
    store_id: str
    expires_at: dt.datetime

    def fresh(self, now: dt.datetime) -> bool:
        return now + TOKEN_MARGIN < self.expires_at


def parse_token(body: dict[str, Any], now: dt.datetime) -> Token:
    """The token and when it runs out: ``expires_in`` is seconds."""
    token = body.get("token")
    if str(body.get("sp_code")) != "200" or not token:
        raise ShurjopayProtocolError(str(body.get("message") or "login was refused"))
    try:
        seconds = int(body.get("expires_in") or 0)
    except (TypeError, ValueError):
        seconds = 0
    return Token(
        token=str(token),
        store_id=str(body.get("store_id") or ""),
        expires_at=now + dt.timedelta(seconds=max(seconds, 0)),
    )


def secret_pay_body(
    token: Token,
    *,
    prefix: str,
    order_id: str,
    amount: Decimal,
    currency: str,
    return_url: str,
    cancel_url: str,
    client_ip: str,
    customer: dict[str, str],
) -> dict[str, Any]:
    """The secret-pay request; customer keys are name, phone, email, address, city."""
    if not prefix or len(prefix) > PREFIX_MAX:
        raise ShurjopayProtocolError(f"the store prefix must be 1 to {PREFIX_MAX} characters")
    if currency not in CURRENCIES:
        raise ShurjopayProtocolError(f"currency {currency} is not taken")
    return {
        "token": token.token,
        "store_id": token.store_id,
        "prefix": prefix,
        "currency": currency,
        "return_url": return_url,
        "cancel_url": cancel_url,
        "amount": format_amount(amount),
        "order_id": order_id,
        "discount_amount": "0",
        "disc_percent": "0",
        "client_ip": client_ip,
        "customer_name": customer.get("name") or "Customer",
        "customer_phone": customer.get("phone") or "",
        "customer_email": customer.get("email") or "",
        "customer_address": customer.get("address") or "N/A",
        "customer_city": customer.get("city") or "N/A",
        "customer_state": customer.get("city") or "N/A",
        "customer_postcode": customer.get("postcode") or "",
        "customer_country": customer.get("country") or "Bangladesh",
        "value1": order_id,
        "value2": "",
        "value3": "",
        "value4": "",
    }


@dataclass(frozen=True)
class Checkout:
    checkout_url: str
    sp_order_id: str


def parse_secret_pay(body: dict[str, Any]) -> Checkout:
    url, sp_order_id = body.get("checkout_url"), body.get("sp_order_id")
    if not url or not sp_order_id:
        message = body.get("message") or body.get("sp_message") or "secret-pay was refused"
        raise ShurjopayProtocolError(str(message))
    return Checkout(str(url), str(sp_order_id))


def verification_body(sp_order_id: str) -> dict[str, str]:
    return {"order_id": sp_order_id}


@dataclass(frozen=True)
class Verification:
    """shurjoPay's own record of an order (element 0 of the verification array)."""

    sp_code: str
    message: str
    sp_order_id: str
    customer_order_id: str
    amount: Decimal | None
    currency: str
    bank_trx_id: str
    raw: dict[str, Any]

    @property
    def paid(self) -> bool:
        return self.sp_code == SUCCESS

    @property
    def failed(self) -> bool:
        return self.sp_code in FINAL_FAILED or self.sp_code == INVALID_ORDER

    @property
    def cancelled(self) -> bool:
        return self.sp_code == CANCELLED


def parse_verification(body: Any) -> Verification:
    """Element 0 of the array; the object an unknown order gets is read the same way."""
    if isinstance(body, list):
        if not body or not isinstance(body[0], dict):
            raise ShurjopayProtocolError("verification answered an empty list")
        item: dict[str, Any] = body[0]
    elif isinstance(body, dict):
        item = body
    else:
        raise ShurjopayProtocolError("verification answered neither a list nor an object")
    code = str(item.get("sp_code") or "")
    if not code:
        raise ShurjopayProtocolError("verification answered without sp_code")
    return Verification(
        sp_code=code,
        message=str(item.get("sp_message") or item.get("sp_massage") or item.get("message") or ""),
        sp_order_id=str(item.get("order_id") or ""),
        customer_order_id=str(item.get("customer_order_id") or ""),
        amount=parse_amount(item.get("amount")),
        currency=str(item.get("currency") or ""),
        bank_trx_id=str(item.get("bank_trx_id") or ""),
        raw=item,
    )


# -- the adapter ----------------------------------------------------------------------------


def with_query(url: str, **params: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode(params)}"


def _verdict(result: Verification) -> Verdict:
    if result.paid:
        return Verdict.PAID
    if result.cancelled:
        return Verdict.CANCELLED
    if result.failed:
        return Verdict.FAILED
    return Verdict.PENDING


@register
class ShurjopayGateway(PaymentGateway):
    """shurjoPay v2: a shared bearer token, secret-pay, verification."""

    code = "shurjopay"
    name = "shurjoPay"
    sandbox_url = SANDBOX_BASE
    live_url = LIVE_BASE
    currencies = ("BDT", "USD")
    credential_fields = (
        CredentialField("username", "Merchant username", secret=False),
        CredentialField("password", "Merchant password"),
        CredentialField(
            "prefix",
            "Order prefix",
            secret=False,
            help_text="The short store prefix shurjoPay issued (at most 5 characters).",
        ),
    )
    unconfirmed = (
        "Refunds: shurjoPay has refund status codes (2000-2002) but no public refund API; "
        "refund in the merchant panel.",
        "IPN: none in the public plugins; verification and reconciliation only.",
        "The error envelope of a refused secret-pay (read from `message` or `sp_message`).",
    )

    # -- the shared token ------------------------------------------------------------------

    def _login(self) -> Token:
        response = self.http.request(
            "get token",
            "POST",
            f"{self.base_url}/api/get_token",
            json_body=token_body(self.cred("username"), self.cred("password")),
        )
        try:
            token = parse_token(_json(response), clock.now())
        except ShurjopayProtocolError as exc:
            raise GatewayError(f"shurjoPay: {exc}.", code="1064") from None
        self.http.add_secrets([token.token])
        return token

    def token(self, *, renew: bool = False) -> Token:
        """The token every process shares, renewed (once, under the account's lock) when it
        is about to run out or shurjoPay refused it."""
        stale = self.state.read().get("token")

        def refresh(state: dict[str, Any]) -> dict[str, Any] | None:
            current = _stored(state)
            if (
                current
                and current.fresh(clock.now())
                and not (renew and state.get("token") == stale)
            ):
                return None  # another process renewed it meanwhile
            token = self._login()
            return {
                **state,
                "token": token.token,
                "store_id": token.store_id,
                "expires_at": token.expires_at.isoformat(),
            }

        current = _stored(self.state.read())
        if current is None or renew or not current.fresh(clock.now()):
            current = _stored(self.state.update(refresh))
        if current is None:  # pragma: no cover - refresh always stores one
            raise GatewayError("shurjoPay: no token.")
        self.http.add_secrets([current.token])
        return current

    def _authorised(self, label: str, path: str, body: dict[str, Any]) -> httpx.Response:
        """A call with the bearer token; a refused token is renewed once and the call retried
        (only used for secret-pay before it is accepted and for read-only calls)."""
        for attempt in (0, 1):
            token = self.token(renew=attempt == 1)
            response = self.http.request(
                label,
                "POST",
                f"{self.base_url}/api{path}",
                json_body={**body, "token": token.token} if path == "/secret-pay" else body,
                headers={"Authorization": f"Bearer {token.token}"},
            )
            if response.status_code != 401:
                return response
        return response

    # -- the flow -------------------------------------------------------------------------

    def start(self, request: PaymentRequest) -> StartResult:
        token = self.token()
        try:
            body = secret_pay_body(
                token,
                prefix=self.cred("prefix"),
                order_id=request.merchant_ref,
                amount=request.amount,
                currency=request.currency,
                return_url=request.callback_url,
                cancel_url=with_query(request.callback_url, status="cancel"),
                client_ip=request.client_ip or "127.0.0.1",
                customer={
                    "name": request.customer_name,
                    "phone": request.customer_phone,
                    "email": request.customer_email,
                    "address": request.customer_address,
                },
            )
        except ShurjopayProtocolError as exc:
            raise GatewayError(f"shurjoPay: {exc}") from None
        response = self._authorised("secret-pay", "/secret-pay", body)
        try:
            checkout = parse_secret_pay(_json(response))
        except ShurjopayProtocolError as exc:
            raise GatewayError(f"shurjoPay: {exc}") from None
        return StartResult(
            provider_ref=checkout.sp_order_id,
            redirect_url=checkout.checkout_url,
            data={"sp_order_id": checkout.sp_order_id},
        )

    @classmethod
    def identify(cls, request: CallbackRequest) -> tuple[str, str]:
        return "", request.param("order_id")

    def parse_callback(self, request: CallbackRequest) -> Callback:
        # The return carries only shurjoPay's order id: what happened is for verification.
        cancelled = request.param("status") == "cancel"
        return Callback(
            status=CallbackStatus.CANCEL if cancelled else CallbackStatus.UNKNOWN,
            signature=Signature.ABSENT,
            provider_ref=request.param("order_id"),
        )

    def query(self, attempt: AttemptInfo) -> Confirmation:
        sp_order_id = attempt.provider_ref or str(attempt.data.get("sp_order_id") or "")
        if not sp_order_id:
            return Confirmation(Verdict.UNKNOWN, message="shurjoPay gave no order id.")
        response = self._authorised("verification", "/verification", verification_body(sp_order_id))
        if response.status_code >= 500:
            raise GatewayError(f"shurjoPay: HTTP {response.status_code}.")
        try:
            result = parse_verification(_json_any(response))
        except ShurjopayProtocolError as exc:
            raise GatewayError(f"shurjoPay: {exc}") from None
        verdict = _verdict(result)
        return Confirmation(
            verdict=verdict,
            provider_txn_id=(result.sp_order_id or sp_order_id) if verdict is Verdict.PAID else "",
            amount=result.amount,
            currency=result.currency,
            merchant_ref=result.customer_order_id,
            provider_ref=result.sp_order_id or sp_order_id,
            message=f"{result.sp_code} {result.message}".strip(),
            data={"bank_trx_id": result.bank_trx_id, "method": str(result.raw.get("method") or "")},
        )

    def check(self) -> str:
        self.token(renew=True)
        return str(_("shurjoPay accepted the merchant login."))


def _stored(state: dict[str, Any]) -> Token | None:
    if not state.get("token") or not state.get("expires_at"):
        return None
    try:
        expires = dt.datetime.fromisoformat(str(state["expires_at"]))
    except ValueError:
        return None
    return Token(str(state["token"]), str(state.get("store_id") or ""), expires)


def _json_any(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise GatewayError(f"shurjoPay: HTTP {response.status_code}, not JSON.") from None


def _json(response: httpx.Response) -> dict[str, Any]:
    body = _json_any(response)
    if not isinstance(body, dict):
        raise GatewayError("shurjoPay: the answer is not a JSON object.")
    return body
