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
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

LIVE_BASE = "https://api.razorpay.com/v1"
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


def webhook_payment(event: dict[str, Any]) -> dict[str, Any] | None:
    """The payment entity a ``payment.*`` or ``order.paid`` webhook carries, if any."""
    payload = event.get("payload")
    if not isinstance(payload, dict):
        return None
    payment = payload.get("payment")
    if isinstance(payment, dict) and isinstance(payment.get("entity"), dict):
        return payment["entity"]
    return None
