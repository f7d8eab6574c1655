"""A fake BdSmartPay: the encrypted payment request, the payer's page, the encrypted
callback and query_payment, with the AES-128-CBC scheme of the one published integration
(an IV that is never sent; the first block of every plaintext is disposable)."""

from __future__ import annotations

import html
import json
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import ClassVar
from urllib.parse import unquote, urlencode

from ispbills.payments.gateways import bdsmartpay
from ispbills.payments.gateways.fakes import register_fake
from ispbills.payments.gateways.fakes.base import (
    BrowserReturn,
    FakeProvider,
    FakeRequest,
    FakeResponse,
    route,
)


@dataclass
class Order:
    order_id: str
    amount: Decimal
    redirect_url: str
    fields: dict[str, str]
    status: str = "Pending"
    transaction_id: str = ""
    paid_amount: Decimal | None = None


@register_fake
class FakeBdsmartpay(FakeProvider):
    """BdSmartPay's gateway pages and query API."""

    code = "bdsmartpay"
    name = "BdSmartPay"
    demo_credentials: ClassVar[dict[str, str]] = {
        "merchant_id": "acmebroadband",
        "service_name": "Acme Broadband",
        "secret": "k7P2vQ9xL4mN8rT1",
        "callback_secret": "5f2b9c8d1e7a4b3c6d0e9f8a7b6c5d4e",
    }

    def __init__(self, credentials: dict[str, str] | None = None) -> None:
        super().__init__(credentials)
        self.orders: dict[str, Order] = {}
        self.omit_amount = False  # a test knob: answer query_payment without the amount

    def _open(self, blob: str) -> dict[str, str] | None:
        try:
            text = bdsmartpay.decrypt(unquote(blob), self.credentials["secret"])
        except bdsmartpay.BdsmartpayProtocolError:
            return None
        return bdsmartpay.fields_after_marker(text)

    @route("GET", r"/gateway/pro/(?P<blob>[^/]+)")
    def pay_page(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        fields = self._open(match["blob"])
        if fields is None or fields.get("merchant_id") != self.credentials["merchant_id"]:
            return self.page(
                "BdSmartPay",
                "<p>Invalid request.</p>",
            )
        try:
            amount = Decimal(fields.get("amount", ""))
        except InvalidOperation:
            return self.page("BdSmartPay", "<p>Invalid amount.</p>")
        order_id, redirect = fields.get("order_id", ""), fields.get("redirect_url", "")
        if not order_id or not redirect.startswith(("http://", "https://")) or amount <= 0:
            return self.page("BdSmartPay", "<p>Invalid request.</p>")
        with self.lock:
            order = self.orders.setdefault(order_id, Order(order_id, amount, redirect, fields))
        action = html.escape(f"{request.base_url}/gateway/pay/{order.order_id}")
        return self.page(
            "BdSmartPay",
            f"<p>{html.escape(fields.get('service_name', ''))}: pay BDT "
            f"{html.escape(str(order.amount))}.</p><form method='post' action='{action}'>"
            "<button name='action' value='success'>Pay</button>"
            "<button name='action' value='failure'>Fail</button>"
            "<button name='action' value='cancel'>Cancel</button></form>",
        )

    @route("POST", r"/gateway/pay/(?P<order>[^/]+)")
    def pay_action(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if match["order"] not in self.orders:
            return self.page("BdSmartPay", "<p>Invalid request.</p>")
        back = self.complete(match["order"], request.form().get("action", ""))
        return FakeResponse.redirect(back.url)

    def complete(
        self, order_id: str, outcome: str = "success", *, amount: Decimal | None = None
    ) -> BrowserReturn:
        """What the payer did (pay, fail, cancel): how their browser comes back to us
        (method, URL, form); the encrypted answer is the URL's first query key."""
        with self.lock:
            order = self.orders[order_id]
            if order.status == "Pending":
                if outcome == "success":
                    order.status = bdsmartpay.SUCCESSFUL
                    order.transaction_id = "BSP" + secrets.token_hex(6).upper()
                    order.paid_amount = amount
                else:
                    order.status = "Cancelled" if outcome == "cancel" else "Failed"
            answer = urlencode(
                {"merchant_order_id": order.order_id, "transaction_status": order.status}
            )
        blob = bdsmartpay.encrypt(
            f"{bdsmartpay.MARKER}&{answer}", self.credentials["callback_secret"]
        )
        # Appended raw, as the published integration does (its URL ends in "?").
        return BrowserReturn("GET", f"{order.redirect_url}{blob}")

    @route("GET", r"/gateway/query_payment/(?P<blob>[^/]+)")
    def query_payment(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        fields = self._open(match["blob"])
        if (
            fields is None
            or fields.get("merchant_id") != self.credentials["merchant_id"]
            or fields.get("service_name") != self.credentials["service_name"]
        ):
            return FakeResponse.text("[]", content_type="text/html")
        with self.lock:
            order = self.orders.get(fields.get("order_id", ""))
            if order is None:
                return FakeResponse.text("[]", content_type="text/html")
            paid = order.paid_amount if order.paid_amount is not None else order.amount
            record = {
                "merchant_order_id": order.order_id,
                "transaction_status": order.status,
                "amount": f"{paid:.2f}",
                "transaction_id": order.transaction_id,
            }
            if self.omit_amount:
                del record["amount"]
        # The published integration reads JSON wrapped in [...], served as text/html.
        return FakeResponse.text(json.dumps([record]), content_type="text/html")
