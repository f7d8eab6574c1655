"""Razorpay: orders, Checkout, the payment signature, payment fetch and webhooks.

Amounts travel as integers in the currency's minor unit (paise for INR). The payment
signature is ``hex(HMAC_SHA256(key_secret, order_id + "|" + payment_id))`` and is computed
with the order id *we* stored, never the one the browser sends; the webhook signature is
``hex(HMAC_SHA256(webhook_secret, raw_body))`` over the raw bytes. A signature alone proves
the browser did not forge the ids; the payment is paid only once ``GET /v1/payments/{id}``
says ``captured`` for our order, amount and currency.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

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
    RefundResult,
    Signature,
    StartResult,
    Verdict,
)
from ispbills.payments.gateways.http import json_of

LIVE_BASE = "https://api.razorpay.com"
# Currencies taken here; all have two decimal places (100 minor units to one).
CURRENCIES = frozenset({"INR", "MYR", "SGD", "USD"})
MINOR = Decimal(100)
RECEIPT_MAX = 40


class RazorpayProtocolError(ValueError):
    """A Razorpay message could not be built or trusted."""


def to_minor(amount: Decimal) -> int:
    """An amount (rupees) in paise; refuses a fraction of a paisa."""
    minor = amount * MINOR
    if minor != minor.to_integral_value():
        raise RazorpayProtocolError(f"{amount} has a fraction of the minor unit")
    return int(minor)


def from_minor(value: Any) -> Decimal:
    """Paise back to an amount with two decimals."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise RazorpayProtocolError(f"{value!r} is not an integer amount in minor units")
    return (Decimal(value) / MINOR).quantize(Decimal("0.01"))


def basic_auth(key_id: str, key_secret: str) -> str:
    token = base64.b64encode(f"{key_id}:{key_secret}".encode()).decode()
    return f"Basic {token}"


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def payment_signature(order_id: str, payment_id: str, key_secret: str) -> str:
    """What Razorpay signs a successful Checkout with."""
    return _hmac_hex(key_secret, f"{order_id}|{payment_id}".encode())


def verify_payment_signature(
    order_id: str, payment_id: str, signature: str, key_secret: str
) -> bool:
    expected = payment_signature(order_id, payment_id, key_secret)
    return hmac.compare_digest(expected, signature or "")


def webhook_signature(raw_body: bytes, webhook_secret: str) -> str:
    return _hmac_hex(webhook_secret, raw_body)


def verify_webhook_signature(raw_body: bytes, signature: str, webhook_secret: str) -> bool:
    expected = webhook_signature(raw_body, webhook_secret)
    return hmac.compare_digest(expected, signature or "")


def order_body(
    *, amount: Decimal, currency: str, receipt: str, notes: dict[str, str] | None = None
) -> dict[str, Any]:
    """``POST /v1/orders``: the amount in minor units and our per-attempt receipt."""
    if currency not in CURRENCIES:
        raise RazorpayProtocolError(f"currency {currency} is not taken")
    if not receipt or len(receipt) > RECEIPT_MAX:
        raise RazorpayProtocolError(f"the receipt must be 1 to {RECEIPT_MAX} characters")
    if amount < 1:
        raise RazorpayProtocolError("Razorpay's smallest order is 1.00")
    return {
        "amount": to_minor(amount),
        "currency": currency,
        "receipt": receipt,
        "notes": notes or {},
    }


@dataclass(frozen=True)
class Order:
    id: str
    amount: Decimal
    currency: str
    receipt: str
    status: str


def parse_order(body: dict[str, Any]) -> Order:
    if body.get("entity") != "order" or not body.get("id"):
        raise RazorpayProtocolError(error_message(body) or "the answer is not an order")
    return Order(
        id=str(body["id"]),
        amount=from_minor(body.get("amount")),
        currency=str(body.get("currency") or ""),
        receipt=str(body.get("receipt") or ""),
        status=str(body.get("status") or ""),
    )


@dataclass(frozen=True)
class Payment:
    """Razorpay's own record of a payment, from ``GET /v1/payments/{id}``."""

    id: str
    order_id: str
    status: str
    amount: Decimal
    currency: str
    raw: dict[str, Any]

    @property
    def paid(self) -> bool:
        return self.status == "captured"

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def parse_payment(body: dict[str, Any]) -> Payment:
    if body.get("entity") != "payment" or not body.get("id"):
        raise RazorpayProtocolError(error_message(body) or "the answer is not a payment")
    return Payment(
        id=str(body["id"]),
        order_id=str(body.get("order_id") or ""),
        status=str(body.get("status") or ""),
        amount=from_minor(body.get("amount")),
        currency=str(body.get("currency") or ""),
        raw=body,
    )


def parse_order_payments(body: dict[str, Any]) -> list[Payment]:
    """``GET /v1/orders/{id}/payments``: a collection of payment entities."""
    items = body.get("items")
    if body.get("entity") != "collection" or not isinstance(items, list):
        raise RazorpayProtocolError(error_message(body) or "the answer is not a collection")
    return [parse_payment(item) for item in items]


def error_message(body: dict[str, Any]) -> str:
    error = body.get("error")
    if isinstance(error, dict):
        return str(error.get("description") or error.get("code") or "")
    return ""


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def webhook_payment(event: dict[str, Any]) -> dict[str, Any] | None:
    """The payment entity a ``payment.*`` or ``order.paid`` webhook carries, if any."""
    payload = event.get("payload")
    if not isinstance(payload, dict):
        return None
    payment = payload.get("payment")
    if isinstance(payment, dict) and isinstance(payment.get("entity"), dict):
        return payment["entity"]
    return None


# -- the adapter ----------------------------------------------------------------------------


WEBHOOK_STATUS = {
    "payment.captured": CallbackStatus.SUCCESS,
    "order.paid": CallbackStatus.SUCCESS,
    "payment.failed": CallbackStatus.FAILURE,
    "payment.authorized": CallbackStatus.UNKNOWN,
}


def with_query(url: str, **params: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode(params)}"


@register
class RazorpayGateway(PaymentGateway):
    """Razorpay: an order per attempt, Hosted Checkout, the signed return, payment fetch."""

    code = "razorpay"
    name = "Razorpay"
    sandbox_url = LIVE_BASE  # test keys (rzp_test_…) use the same host
    live_url = LIVE_BASE
    currencies = ("INR", "MYR", "SGD", "USD")
    min_amount = Decimal("1.00")
    max_amount = Decimal("500000.00")
    supports_refund = True
    credential_fields = (
        CredentialField("key_id", "Key id", secret=False, help_text="rzp_test_… or rzp_live_…"),
        CredentialField("key_secret", "Key secret"),
        CredentialField(
            "webhook_secret",
            "Webhook secret",
            required=False,
            help_text="The secret of the webhook set in Razorpay's dashboard (not the key secret).",
        ),
        CredentialField(
            "merchant_name", "Name shown on the checkout", secret=False, required=False
        ),
    )
    redact_keys = frozenset({"key_secret", "webhook_secret", "razorpay_signature"})
    unconfirmed = (
        "Hosted Checkout (a form POST to /v1/checkout/embedded, returning to callback_url) "
        "may have to be enabled for the account; the reference describes checkout.js.",
        "Auto-capture must be on in the Dashboard: an authorised payment stays pending "
        "(nothing captures it here).",
    )

    def _auth(self) -> dict[str, str]:
        return {"Authorization": basic_auth(self.cred("key_id"), self.cred("key_secret"))}

    def _call(self, label: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response: httpx.Response = self.http.request(
            label, method, self.base_url + path, headers=self._auth(), **kwargs
        )
        body = json_of(response)
        if response.status_code >= 400 or "error" in body:
            error = _mapping(body.get("error"))
            raise GatewayError(
                f"Razorpay: {error_message(body) or f'HTTP {response.status_code}'}",
                code=str(error.get("code") or response.status_code),
                data=body,
            )
        return body

    def start(self, request: PaymentRequest) -> StartResult:
        try:
            body = order_body(
                amount=request.amount,
                currency=request.currency,
                receipt=request.merchant_ref,
                notes={"merchant_ref": request.merchant_ref},
            )
        except RazorpayProtocolError as exc:
            raise GatewayError(f"Razorpay: {exc}") from None
        try:
            order = parse_order(self._call("create order", "POST", "/v1/orders", json_body=body))
        except RazorpayProtocolError as exc:
            raise GatewayError(f"Razorpay: {exc}") from None
        fields = {
            "key_id": self.cred("key_id"),
            "order_id": order.id,
            "amount": str(body["amount"]),
            "currency": order.currency,
            "name": self.cred("merchant_name") or request.description,
            "description": request.description,
            "prefill[name]": request.customer_name,
            "prefill[contact]": request.customer_phone,
            "prefill[email]": request.customer_email,
            "notes[merchant_ref]": request.merchant_ref,
            "callback_url": request.callback_url,
            # Razorpay sends nothing to cancel_url: name the attempt in it.
            "cancel_url": with_query(
                request.callback_url, status="cancel", receipt=request.merchant_ref
            ),
        }
        return StartResult(
            provider_ref=order.id,
            form_action=f"{self.base_url}/v1/checkout/embedded",
            form_method="post",
            form_fields={k: v for k, v in fields.items() if v},
            data={"order_id": order.id, "amount_minor": body["amount"]},
        )

    @classmethod
    def identify(cls, request: CallbackRequest) -> tuple[str, str]:
        if request.kind == "ipn":
            try:
                event = json.loads(request.body)
            except ValueError:
                return "", ""
            entity = webhook_payment(event) if isinstance(event, dict) else None
            if entity is None:
                return "", ""
            notes = _mapping(entity.get("notes"))
            return str(notes.get("merchant_ref") or ""), str(entity.get("order_id") or "")
        order_id = request.param("razorpay_order_id")
        if not order_id and request.param("error[metadata]"):
            try:
                metadata = json.loads(request.param("error[metadata]"))
            except ValueError:
                metadata = {}
            order_id = str(metadata.get("order_id") or "") if isinstance(metadata, dict) else ""
        return request.query.get("receipt", ""), order_id

    def parse_callback(self, request: CallbackRequest) -> Callback:
        if request.kind == "ipn":
            return self._webhook(request)
        payment_id = request.param("razorpay_payment_id")
        order_id = request.param("razorpay_order_id")
        if payment_id or order_id:
            valid = verify_payment_signature(
                order_id, payment_id, request.param("razorpay_signature"), self.cred("key_secret")
            )
            return Callback(
                status=CallbackStatus.SUCCESS,
                signature=Signature.VALID if valid else Signature.INVALID,
                provider_ref=order_id,
                provider_txn_id=payment_id,
                data={"razorpay_payment_id": payment_id, "razorpay_order_id": order_id},
            )
        if request.param("error[code]") or request.param("error[description]"):
            try:
                metadata = json.loads(request.param("error[metadata]") or "{}")
            except ValueError:
                metadata = {}
            metadata = metadata if isinstance(metadata, dict) else {}
            return Callback(
                status=CallbackStatus.FAILURE,
                signature=Signature.ABSENT,
                provider_ref=str(metadata.get("order_id") or ""),
                provider_txn_id=str(metadata.get("payment_id") or ""),
                data={
                    "error_code": request.param("error[code]"),
                    "error_description": request.param("error[description]"),
                    "error_reason": request.param("error[reason]"),
                },
            )
        if request.param("status") == "cancel":
            return Callback(
                status=CallbackStatus.CANCEL,
                signature=Signature.ABSENT,
                merchant_ref=request.query.get("receipt", ""),
            )
        return Callback(status=CallbackStatus.UNKNOWN, signature=Signature.ABSENT)

    def _webhook(self, request: CallbackRequest) -> Callback:
        secret = self.cred("webhook_secret")
        signature = request.headers.get("x-razorpay-signature", "")
        if not secret or not verify_webhook_signature(request.body, signature, secret):
            return Callback(status=CallbackStatus.UNKNOWN, signature=Signature.INVALID)
        try:
            event = json.loads(request.body)
        except ValueError:
            return Callback(status=CallbackStatus.UNKNOWN, signature=Signature.INVALID)
        name = str(event.get("event") or "") if isinstance(event, dict) else ""
        entity = webhook_payment(event) if isinstance(event, dict) else None
        if name not in WEBHOOK_STATUS or entity is None:
            # refund.*, and events we do not act on: acknowledged, nothing to verify.
            return Callback(
                status=CallbackStatus.UNKNOWN,
                signature=Signature.VALID,
                housekeeping=True,
                data={"event": name},
            )
        notes = _mapping(entity.get("notes"))
        return Callback(
            status=WEBHOOK_STATUS[name],
            signature=Signature.VALID,
            merchant_ref=str(notes.get("merchant_ref") or ""),
            provider_ref=str(entity.get("order_id") or ""),
            provider_txn_id=str(entity.get("id") or ""),
            data={
                "event": name,
                "event_id": request.headers.get("x-razorpay-event-id", ""),
            },
        )

    def verify(self, attempt: AttemptInfo, callback: Callback) -> Confirmation:
        # The return's signature was checked over the order id the browser sent; the stored
        # order id decides, so a signed return for another order confirms nothing here.
        if callback.provider_ref and callback.provider_ref != attempt.provider_ref:
            return Confirmation(
                Verdict.UNKNOWN, message="The order id differs from the stored one."
            )
        return self.query(attempt)

    def query(self, attempt: AttemptInfo) -> Confirmation:
        order_id = attempt.provider_ref or str(attempt.data.get("order_id") or "")
        if not order_id:
            return Confirmation(Verdict.UNKNOWN, message="Razorpay gave no order id.")
        try:
            order = parse_order(self._call("fetch order", "GET", f"/v1/orders/{order_id}"))
            payments = parse_order_payments(
                self._call("fetch payments", "GET", f"/v1/orders/{order_id}/payments")
            )
        except RazorpayProtocolError as exc:
            raise GatewayError(f"Razorpay: {exc}") from None
        captured = [p for p in payments if p.paid and p.order_id == order_id]
        if captured:
            payment = captured[0]
            return Confirmation(
                verdict=Verdict.PAID,
                provider_txn_id=payment.id,
                amount=payment.amount,
                currency=payment.currency,
                merchant_ref=order.receipt,
                provider_ref=order.id,
                message=payment.status,
                data={"payments": [p.id for p in payments], "order_status": order.status},
            )
        if any(p.status == "authorized" for p in payments):
            verdict, message = Verdict.PENDING, "authorized, not captured"
        elif payments and all(p.failed for p in payments):
            verdict, message = (
                Verdict.FAILED,
                str(payments[-1].raw.get("error_description") or "failed"),
            )
        else:
            verdict, message = Verdict.PENDING, order.status
        return Confirmation(
            verdict=verdict,
            amount=order.amount,
            currency=order.currency,
            merchant_ref=order.receipt,
            provider_ref=order.id,
            message=message,
        )

    def refund(self, attempt: AttemptInfo, amount: Decimal, reason: str) -> RefundResult:
        if not attempt.provider_txn_id:
            raise GatewayError("Razorpay: the attempt has no payment to refund.")
        try:
            minor = to_minor(amount)
        except RazorpayProtocolError as exc:
            raise GatewayError(f"Razorpay: {exc}") from None
        body = self._call(
            "refund",
            "POST",
            f"/v1/payments/{attempt.provider_txn_id}/refund",
            json_body={"amount": minor, "notes": {"reason": reason[:250]}},
        )
        if body.get("entity") != "refund" or not body.get("id"):
            raise GatewayError("Razorpay: the refund answer is not a refund.", data=body)
        return RefundResult(
            refund_id=str(body["id"]),
            amount=from_minor(body.get("amount")),
            completed=body.get("status") == "processed",
            message=str(body.get("status") or ""),
            data={"speed": body.get("speed_processed") or body.get("speed_requested") or ""},
        )

    def check(self) -> str:
        self._call("check", "GET", "/v1/orders", params={"count": 1})
        return str(_("Razorpay accepted the key."))
