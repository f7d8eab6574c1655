"""A fake Razorpay: orders, Hosted Checkout, payments, refunds and signed webhooks.

It checks HTTP Basic ``key_id:key_secret`` on every API call (401 with Razorpay's error
envelope otherwise), validates orders as Razorpay does (integer minor units, at least 100,
a known currency, a receipt of at most 40 characters), signs the Checkout return with
``HMAC_SHA256(key_secret, order_id|payment_id)`` and webhooks with ``HMAC_SHA256(
webhook_secret, raw body)`` in ``X-Razorpay-Signature``.
"""

from __future__ import annotations

import base64
import html
import json
import re
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from ispbills.payments.gateways import razorpay
from ispbills.payments.gateways.fakes import register_fake
from ispbills.payments.gateways.fakes._forms import send_back
from ispbills.payments.gateways.fakes.base import (
    BrowserReturn,
    FakeProvider,
    FakeRequest,
    FakeResponse,
    route,
)

ALPHABET = string.ascii_letters + string.digits


def entity_id(prefix: str) -> str:
    return f"{prefix}_" + "".join(secrets.choice(ALPHABET) for _ in range(14))


def error(description: str, status: int = 400, code: str = "BAD_REQUEST_ERROR") -> FakeResponse:
    return FakeResponse.json(
        {
            "error": {
                "code": code,
                "description": description,
                "source": "business" if status == 400 else "NA",
                "step": "payment_initiation" if status == 400 else "NA",
                "reason": "input_validation_failed" if status == 400 else "NA",
                "metadata": {},
            }
        },
        status,
    )


@dataclass
class Order:
    id: str
    amount: int
    currency: str
    receipt: str
    notes: dict[str, Any]
    created_at: int
    payments: list[str] = field(default_factory=list)
    callback_url: str = ""
    cancel_url: str = ""

    def status(self, payments: dict[str, dict[str, Any]]) -> str:
        states = [payments[p]["status"] for p in self.payments]
        if "captured" in states:
            return "paid"
        return "attempted" if states else "created"

    def amount_paid(self, payments: dict[str, dict[str, Any]]) -> int:
        return sum(
            payments[p]["amount"] for p in self.payments if payments[p]["status"] == "captured"
        )


@register_fake
class FakeRazorpay(FakeProvider):
    """Razorpay's v1 API and Hosted Checkout."""

    code = "razorpay"
    name = "Razorpay"
    demo_credentials: ClassVar[dict[str, str]] = {
        "key_id": "rzp_test_1DP5mmOlF5G5ag",
        "key_secret": "thisisnotarealsecretfortest",
        "webhook_secret": "webhook-secret-for-the-fake",
        "merchant_name": "Acme Broadband",
    }

    def __init__(self, credentials: dict[str, str] | None = None) -> None:
        super().__init__(credentials)
        self.orders: dict[str, Order] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.webhook_url = ""  # set by a test or the demo: where webhooks go
        self.webhooks: list[tuple[bytes, dict[str, str]]] = []  # every webhook built

    # -- auth ----------------------------------------------------------------------------

    def _authorised(self, request: FakeRequest) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.credentials["key_id"] and password == self.credentials["key_secret"]

    def _refused(self, request: FakeRequest) -> FakeResponse | None:
        if self._authorised(request):
            return None
        return error("Authentication failed", 401)

    # -- orders ----------------------------------------------------------------------------

    def order_entity(self, order: Order) -> dict[str, Any]:
        paid = order.amount_paid(self.payments)
        return {
            "id": order.id,
            "entity": "order",
            "amount": order.amount,
            "amount_paid": paid,
            "amount_due": order.amount - paid,
            "currency": order.currency,
            "receipt": order.receipt,
            "offer_id": None,
            "status": order.status(self.payments),
            "attempts": len(order.payments),
            "notes": order.notes,
            "created_at": order.created_at,
        }

    @route("POST", r"/v1/orders")
    def create_order(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if refused := self._refused(request):
            return refused
        body = request.json()
        if not isinstance(body, dict):
            return error("The request body is not valid JSON")
        amount = body.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int):
            return error("The amount must be an integer.")
        if amount < 100:
            return error("The amount must be atleast INR 1.00")
        currency = body.get("currency")
        if currency not in razorpay.CURRENCIES:
            return error("The currency provided is invalid.")
        receipt = str(body.get("receipt") or "")
        if len(receipt) > razorpay.RECEIPT_MAX:
            return error("The receipt may not be greater than 40 characters.")
        notes = body.get("notes") or {}
        with self.lock:
            order = Order(entity_id("order"), amount, currency, receipt, notes, int(time.time()))
            self.orders[order.id] = order
            return FakeResponse.json(self.order_entity(order))

    @route("GET", r"/v1/orders")
    def list_orders(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if refused := self._refused(request):
            return refused
        with self.lock:
            items = [self.order_entity(o) for o in list(self.orders.values())[-10:]]
        return FakeResponse.json({"entity": "collection", "count": len(items), "items": items})

    @route("GET", r"/v1/orders/(?P<id>[^/]+)")
    def fetch_order(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if refused := self._refused(request):
            return refused
        with self.lock:
            order = self.orders.get(match["id"])
            if order is None:
                return error("The id provided does not exist")
            return FakeResponse.json(self.order_entity(order))

    @route("GET", r"/v1/orders/(?P<id>[^/]+)/payments")
    def order_payments(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if refused := self._refused(request):
            return refused
        with self.lock:
            order = self.orders.get(match["id"])
            if order is None:
                return error("The id provided does not exist")
            items = [self.payments[p] for p in order.payments]
        return FakeResponse.json({"entity": "collection", "count": len(items), "items": items})

    @route("GET", r"/v1/payments/(?P<id>[^/]+)")
    def fetch_payment(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if refused := self._refused(request):
            return refused
        with self.lock:
            payment = self.payments.get(match["id"])
        if payment is None:
            return error("The id provided does not exist")
        return FakeResponse.json(payment)

    @route("POST", r"/v1/payments/(?P<id>[^/]+)/refund")
    def refund(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if refused := self._refused(request):
            return refused
        body = request.json() if request.body else {}
        with self.lock:
            payment = self.payments.get(match["id"])
            if payment is None:
                return error("The id provided does not exist")
            if payment["status"] != "captured":
                return error("The payment has not been captured")
            amount = body.get("amount", payment["amount"] - payment["amount_refunded"])
            if not isinstance(amount, int) or amount < 100:
                return error("The amount must be atleast INR 1.00")
            if amount > payment["amount"] - payment["amount_refunded"]:
                return error("The refund amount provided is greater than amount captured")
            payment["amount_refunded"] += amount
            payment["refund_status"] = (
                "full" if payment["amount_refunded"] == payment["amount"] else "partial"
            )
            refund = {
                "id": entity_id("rfnd"),
                "entity": "refund",
                "amount": amount,
                "currency": payment["currency"],
                "payment_id": payment["id"],
                "notes": body.get("notes") or {},
                "receipt": None,
                "status": "processed",
                "speed_requested": "normal",
                "speed_processed": "normal",
                "created_at": int(time.time()),
            }
            self.refunds[refund["id"]] = refund
        return FakeResponse.json(refund)

    # -- Hosted Checkout ------------------------------------------------------------------

    @route("POST", r"/v1/checkout/embedded")
    def checkout(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        form = request.form()
        if form.get("key_id") != self.credentials["key_id"]:
            return self.page("Razorpay", "<p>Invalid key id.</p>")
        with self.lock:
            order = self.orders.get(form.get("order_id", ""))
            if order is None or str(order.amount) != form.get("amount"):
                return self.page("Razorpay", "<p>Invalid order or amount.</p>")
            order.callback_url = form.get("callback_url", "")
            order.cancel_url = form.get("cancel_url", "")
        action = html.escape(f"{request.base_url}/v1/checkout/embedded/{order.id}")
        shown = razorpay.from_minor(order.amount)
        return self.page(
            "Razorpay",
            f"<p>{html.escape(form.get('name', ''))}: pay {html.escape(order.currency)} "
            f"{html.escape(str(shown))}.</p><form method='post' action='{action}'>"
            "<button name='action' value='success'>Pay</button>"
            "<button name='action' value='failure'>Fail</button>"
            "<button name='action' value='cancel'>Cancel</button></form>",
        )

    @route("POST", r"/v1/checkout/embedded/(?P<id>[^/]+)")
    def checkout_action(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        action = request.form().get("action", "")
        with self.lock:
            if match["id"] not in self.orders:
                return self.page("Razorpay", "<p>Invalid order.</p>")
        back = self.complete(match["id"], action)
        return send_back(back)

    def complete(
        self, order_id: str, outcome: str = "success", *, amount: Decimal | None = None
    ) -> BrowserReturn:
        """What the payer did (``success`` captures a payment, ``failure`` fails one,
        ``cancel`` closes the checkout): how their browser comes back to us (method, URL,
        form). ``amount`` (rupees) overrides the captured amount (a test of our amount
        check)."""
        with self.lock:
            order = self.orders[order_id]
            if outcome == "cancel":
                return BrowserReturn("GET", order.cancel_url)
            paid = outcome == "success"
            authorized = [
                self.payments[p]
                for p in order.payments
                if self.payments[p]["status"] == "authorized"
            ]
            if paid and authorized:
                payment = authorized[0]  # auto-capture of the authorized payment
                payment.update(status="captured", captured=True)
            else:
                payment = self._payment(order, "captured" if paid else "failed")
            if amount is not None:
                payment["amount"] = razorpay.to_minor(amount)
        self.send_webhook("payment.captured" if paid else "payment.failed", payment)
        if paid:
            signature = razorpay.payment_signature(
                order.id, payment["id"], self.credentials["key_secret"]
            )
            return BrowserReturn(
                "POST",
                order.callback_url,
                {
                    "razorpay_payment_id": payment["id"],
                    "razorpay_order_id": order.id,
                    "razorpay_signature": signature,
                },
            )
        metadata = json.dumps({"payment_id": payment["id"], "order_id": order.id})
        return BrowserReturn(
            "POST",
            order.callback_url,
            {
                "error[code]": "BAD_REQUEST_ERROR",
                "error[description]": "Payment failed",
                "error[source]": "customer",
                "error[step]": "payment_authorization",
                "error[reason]": "payment_failed",
                "error[metadata]": metadata,
            },
        )

    def authorize(self, order_id: str) -> tuple[bytes, dict[str, str]]:
        """The payer's money is held but not captured yet: a ``payment.authorized`` payment;
        returns its webhook (raw body, headers)."""
        with self.lock:
            payment = self._payment(self.orders[order_id], "authorized")
        self.send_webhook("payment.authorized", payment)
        return self.webhooks[-1]

    def _payment(self, order: Order, status: str) -> dict[str, Any]:
        ok = status != "failed"
        payment: dict[str, Any] = {
            "id": entity_id("pay"),
            "entity": "payment",
            "amount": order.amount,
            "currency": order.currency,
            "status": status,
            "order_id": order.id,
            "invoice_id": None,
            "international": False,
            "method": "upi",
            "amount_refunded": 0,
            "refund_status": None,
            "captured": status == "captured",
            "description": None,
            "email": "payer@example.com",
            "contact": "+919000090000",
            "notes": order.notes,
            "error_code": None if ok else "BAD_REQUEST_ERROR",
            "error_description": None if ok else "Payment failed",
            "error_reason": None if ok else "payment_failed",
            "created_at": int(time.time()),
        }
        self.payments[payment["id"]] = payment
        order.payments.append(payment["id"])
        return payment

    # -- webhooks ------------------------------------------------------------------------

    def webhook(self, event: str, payment: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """A webhook as Razorpay sends it: the raw body and its headers."""
        body = json.dumps(
            {
                "entity": "event",
                "account_id": "acc_BFQ7uQEaa7j2z7",
                "event": event,
                "contains": ["payment"],
                "payload": {"payment": {"entity": payment}},
                "created_at": int(time.time()),
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Razorpay-Signature": razorpay.webhook_signature(
                body, self.credentials.get("webhook_secret", "")
            ),
            "X-Razorpay-Event-Id": entity_id("evt")[4:],
        }
        return body, headers

    def send_webhook(self, event: str, payment: dict[str, Any]) -> None:
        body, headers = self.webhook(event, payment)
        with self.lock:
            self.webhooks.append((body, headers))
        if self.webhook_url:
            threading.Thread(target=self._deliver, args=(body, headers), daemon=True).start()

    def _deliver(self, body: bytes, headers: dict[str, str]) -> None:
        """POST the raw bytes (the signature covers them exactly, so no re-serialising)."""
        status: int | None = None
        try:
            status = httpx.post(
                self.webhook_url, content=body, headers=headers, timeout=10
            ).status_code
        except httpx.HTTPError:
            status = None
        with self.lock:
            self.notifications.append((self.webhook_url, status))
