"""SSLCommerz hosted checkout (v4): session → the payer on GatewayPageURL → IPN and the
browser's POST back → the validation API; the transaction query by tran_id for reconciliation
and for returns whose val_id was lost; refunds.

The return handler is stateless (the attempt is found by ``tran_id``): SSLCommerz posts the
browser back cross-site, so the session cookie may not come with it. ``store_passwd`` travels
in query strings of the validator APIs: stored exchanges redact it by name and by value, and
httpx's own request log is silenced (config/settings.py).
"""

from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

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
    RefundResult,
    Signature,
    StartResult,
    Verdict,
)
from ispbills.payments.gateways.http import json_of

VALIDATION = "/validator/api/validationserverAPI.php"
TRANSACTIONS = "/validator/api/merchantTransIDvalidationAPI.php"
PAID = ("VALID", "VALIDATED")


def _money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def verify_sign(fields: dict[str, str], store_passwd: str) -> str:
    """SSLCommerz's callback hash: the fields named in ``verify_key`` plus
    ``store_passwd=md5(password)``, sorted by name, joined as ``k=v&…``, MD5 (as the official
    libraries check it)."""
    names = [name for name in fields.get("verify_key", "").split(",") if name]
    data = {name: fields.get(name, "") for name in names}
    data["store_passwd"] = hashlib.md5(store_passwd.encode()).hexdigest()
    text = "&".join(f"{key}={data[key]}" for key in sorted(data))
    return hashlib.md5(text.encode()).hexdigest()


@register
class SslcommerzGateway(PaymentGateway):
    """SSLCommerz v4 hosted checkout (cards, mobile banking, internet banking)."""

    code = "sslcommerz"
    name = "SSLCommerz"
    credential_fields = (
        CredentialField("store_id", "Store ID", secret=False),
        CredentialField("store_passwd", "Store password"),
        CredentialField(
            "product_profile",
            "Product profile",
            secret=False,
            required=False,
            default="non-physical-goods",
            choices=(
                ("non-physical-goods", "Non-physical goods"),
                ("telecom-vertical", "Telecom"),
                ("general", "General"),
            ),
        ),
        CredentialField(
            "multi_card_name",
            "Only these methods (e.g. bkash,mobilebank; empty: all)",
            secret=False,
            required=False,
        ),
    )
    sandbox_url = "https://sandbox.sslcommerz.com"
    live_url = "https://securepay.sslcommerz.com"
    min_amount = Decimal("10.00")
    max_amount = Decimal("500000.00")
    supports_refund = True
    unconfirmed = (
        "The algorithm behind `verify_sign_sha2`: only the MD5 `verify_sign` is checked.",
        "`product_profile` for an ISP subscription (non-physical-goods is used; telecom-vertical "
        "may be required).",
        "Refund API access per store (IP whitelisting) and the `refund_trans_id` field "
        "(introduced 2025-02-24 per the docs reconstruction).",
        "Whether the fail/cancel browser POSTs always carry `verify_sign`: a return without it is "
        "treated as an unsigned hint and checked with the transaction query.",
    )

    def _auth(self) -> dict[str, str]:
        return {"store_id": self.cred("store_id"), "store_passwd": self.cred("store_passwd")}

    def start(self, request: PaymentRequest) -> StartResult:
        form = {
            **self._auth(),
            "total_amount": f"{request.amount:.2f}",
            "currency": request.currency,
            "tran_id": request.merchant_ref,
            "success_url": request.callback_url,
            "fail_url": request.callback_url,
            "cancel_url": request.callback_url,
            "ipn_url": request.ipn_url,
            "product_category": "internet",
            "product_name": request.description[:255] or "Internet service",
            "product_profile": self.cred("product_profile"),
            "cus_name": request.customer_name or "Customer",
            "cus_email": request.customer_email or "customer@example.com",
            "cus_add1": request.customer_address or "Bangladesh",
            "cus_city": "Dhaka",
            "cus_postcode": "1000",
            "cus_country": "Bangladesh",
            "cus_phone": request.customer_phone or "01700000000",
            "shipping_method": "NO",
            "num_of_item": "1",
            "value_a": request.merchant_ref,
        }
        if self.cred("multi_card_name"):
            form["multi_card_name"] = self.cred("multi_card_name")
        response = self.http.request(
            "session", "POST", f"{self.base_url}/gwprocess/v4/api.php", form=form
        )
        data = json_of(response)
        if str(data.get("status", "")).upper() != "SUCCESS" or not data.get("GatewayPageURL"):
            raise GatewayError(
                f"SSLCommerz: {data.get('failedreason') or 'session refused'}",
                code=str(response.status_code),
            )
        return StartResult(
            provider_ref=str(data.get("sessionkey", "")),
            redirect_url=str(data["GatewayPageURL"]),
        )

    @classmethod
    def identify(cls, request: CallbackRequest) -> tuple[str, str]:
        return request.param("tran_id"), ""

    def parse_callback(self, request: CallbackRequest) -> Callback:
        fields = {**request.query, **request.form}
        status = fields.get("status", "").upper()
        claim = {
            "VALID": CallbackStatus.SUCCESS,
            "VALIDATED": CallbackStatus.SUCCESS,
            "FAILED": CallbackStatus.FAILURE,
            "CANCELLED": CallbackStatus.CANCEL,
            "UNATTEMPTED": CallbackStatus.FAILURE,
            "EXPIRED": CallbackStatus.FAILURE,
        }.get(status, CallbackStatus.UNKNOWN)
        signature = Signature.ABSENT
        if fields.get("verify_sign") or fields.get("verify_key"):
            expected = verify_sign(fields, self.cred("store_passwd"))
            signature = (
                Signature.VALID
                if secrets.compare_digest(expected, fields.get("verify_sign", ""))
                else Signature.INVALID
            )
        elif request.kind == "ipn":
            signature = Signature.INVALID  # SSLCommerz always signs its IPN
        return Callback(
            status=claim,
            signature=signature,
            merchant_ref=fields.get("tran_id", ""),
            data={"val_id": fields.get("val_id", ""), "status": status},
        )

    def verify(self, attempt: AttemptInfo, callback: Callback) -> Confirmation:
        val_id = str(callback.data.get("val_id") or "")
        if callback.status == CallbackStatus.SUCCESS and val_id:
            confirmation = self._validate(val_id)
            if confirmation is not None:
                return confirmation
        # No val_id (a lost POST body), a failure or cancel claim, or a val_id SSLCommerz does
        # not know: the transaction query by tran_id is the authority.
        return self.query(attempt)

    def _validate(self, val_id: str) -> Confirmation | None:
        response = self.http.request(
            "validate",
            "GET",
            f"{self.base_url}{VALIDATION}",
            params={"val_id": val_id, **self._auth(), "v": "1", "format": "json"},
        )
        data = json_of(response)
        if data.get("APIConnect", "DONE") != "DONE":
            raise GatewayError(f"SSLCommerz validation: {data.get('APIConnect')}")
        if str(data.get("status", "")).upper() in PAID:
            return self._paid(data)
        return None

    def _paid(self, data: dict[str, Any]) -> Confirmation:
        currency = str(data.get("currency_type") or data.get("currency") or "BDT")
        amount = _money(data.get("currency_amount") or data.get("amount"))
        return Confirmation(
            Verdict.PAID,
            provider_txn_id=str(data.get("bank_tran_id") or data.get("val_id") or ""),
            amount=amount,
            currency=currency,
            merchant_ref=str(data.get("tran_id", "")),
            message=f"SSLCommerz: {data.get('status')} ({data.get('card_type', '')})",
            data={
                "val_id": str(data.get("val_id", "")),
                "risk_level": str(data.get("risk_level", "")),
                # A high-risk payment is held for a person, as SSLCommerz advises.
                "hold": str(data.get("risk_level", "0")) == "1",
            },
        )

    def query(self, attempt: AttemptInfo) -> Confirmation:
        response = self.http.request(
            "query",
            "GET",
            f"{self.base_url}{TRANSACTIONS}",
            params={"tran_id": attempt.merchant_ref, **self._auth(), "format": "json"},
        )
        data = json_of(response)
        if data.get("APIConnect") != "DONE":
            raise GatewayError(
                f"SSLCommerz query: {data.get('APIConnect') or response.status_code}"
            )
        elements = data.get("element") or []
        if not isinstance(elements, list):
            elements = []
        for element in elements:
            if str(element.get("status", "")).upper() in PAID:
                return self._paid({**element, "tran_id": element.get("tran_id", "")})
        statuses = {str(element.get("status", "")).upper() for element in elements}
        if not elements or statuses & {"PENDING", "UNATTEMPTED", "PROCESSING"}:
            return Confirmation(Verdict.PENDING, message="SSLCommerz: not paid yet")
        if statuses == {"CANCELLED"}:
            return Confirmation(Verdict.CANCELLED, message="SSLCommerz: cancelled")
        return Confirmation(
            Verdict.FAILED,
            message="SSLCommerz: " + ", ".join(sorted(statuses)),
            data={"expired": statuses == {"EXPIRED"}},
        )

    def refund(self, attempt: AttemptInfo, amount: Decimal, reason: str) -> RefundResult:
        refund_id = "RF" + secrets.token_hex(8).upper()
        response = self.http.request(
            "refund",
            "GET",
            f"{self.base_url}{TRANSACTIONS}",
            params={
                "bank_tran_id": attempt.provider_txn_id,
                "refund_trans_id": refund_id,
                "refund_amount": f"{amount:.2f}",
                "refund_remarks": (reason or "refund")[:255],
                **self._auth(),
                "format": "json",
            },
        )
        data = json_of(response)
        status = str(data.get("status", "")).lower()
        if data.get("APIConnect") != "DONE" or status not in ("success", "processing"):
            raise GatewayError(f"SSLCommerz refund: {data.get('errorReason') or status}")
        return RefundResult(
            refund_id=str(data.get("refund_ref_id") or refund_id),
            amount=amount,
            completed=status == "success",
            message=status,
        )

    def check(self) -> str:
        response = self.http.request(
            "test",
            "GET",
            f"{self.base_url}{TRANSACTIONS}",
            params={"tran_id": "IBCONNECTIONTEST", **self._auth(), "format": "json"},
        )
        data = json_of(response)
        if data.get("APIConnect") != "DONE":
            why = data.get("APIConnect") or response.status_code
            raise GatewayError(f"SSLCommerz refused the store credentials ({why}).")
        return "SSLCommerz accepted the store credentials."
