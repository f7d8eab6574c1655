"""A fake shurjoPay v2 engine: get_token, secret-pay, the checkout page, verification.

It checks what shurjoPay checks: the merchant login, the bearer token (and its expiry, in
seconds), that the body's ``token`` and ``store_id`` match it, the required fields and the
store prefix; and answers verification with a one-element JSON array (an object with
``sp_code`` 1011 for an unknown order), amounts as strings with four decimals.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import urlencode

from ispbills.payments.gateways import shurjopay
from ispbills.payments.gateways.fakes import register_fake
from ispbills.payments.gateways.fakes.base import (
    BrowserReturn,
    FakeProvider,
    FakeRequest,
    FakeResponse,
    route,
)

CODES = {
    "1000": "Success",
    "1001": "Failed",
    "1002": "Cancel",
    "1068": "Initiated",
}
REQUIRED = (
    "prefix",
    "currency",
    "return_url",
    "cancel_url",
    "amount",
    "order_id",
    "client_ip",
    "customer_name",
    "customer_phone",
    "customer_address",
    "customer_city",
)


@dataclass
class Order:
    sp_order_id: str
    customer_order_id: str
    amount: Decimal
    currency: str
    return_url: str
    cancel_url: str
    body: dict[str, Any]
    created: dt.datetime
    sp_code: str = "1068"
    bank_trx_id: str = ""
    method: str = ""
    paid_amount: Decimal | None = None


@register_fake
class FakeShurjopay(FakeProvider):
    """shurjoPay's v2 API under ``/api/``."""

    code = "shurjopay"
    name = "shurjoPay"
    demo_credentials: ClassVar[dict[str, str]] = {
        "username": "sp_sandbox",
        "password": "pyyk97hu&6u6",
        "prefix": "NOK",
    }
    store_id = "1"
    token_lifetime = 3600  # seconds, as shurjoPay says in expires_in

    def __init__(self, credentials: dict[str, str] | None = None) -> None:
        super().__init__(credentials)
        self.tokens: dict[str, dt.datetime] = {}
        self.orders: dict[str, Order] = {}
        self.logins = 0

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def expire_tokens(self) -> None:
        """Make every issued token stale (as an hour passing would)."""
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, self.now() - dt.timedelta(seconds=1))

    def _bearer(self, request: FakeRequest) -> str | None:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        with self.lock:
            expires = self.tokens.get(token)
        return token if expires is not None and expires > self.now() else None

    @staticmethod
    def _body(request: FakeRequest) -> dict[str, Any]:
        body = request.json()
        return body if isinstance(body, dict) else request.form()

    @route("POST", r"/api/get_token")
    def get_token(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        body = self._body(request)
        if (
            body.get("username") != self.credentials["username"]
            or body.get("password") != self.credentials["password"]
        ):
            return FakeResponse.json({"sp_code": "1064", "message": "Unauthorized"}, 401)
        token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(32)
        now = self.now()
        with self.lock:
            self.tokens[token] = now + dt.timedelta(seconds=self.token_lifetime)
            self.logins += 1
        return FakeResponse.json(
            {
                "token": token,
                "store_id": int(self.store_id),
                "execute_url": f"{request.base_url}/api/secret-pay",
                "token_type": "Bearer",
                "sp_code": "200",
                "message": "Ok",
                "token_create_time": now.strftime("%Y-%m-%d %I:%M:%S%p").lower(),
                "expires_in": self.token_lifetime,
            }
        )

    @route("POST", r"/api/secret-pay")
    def secret_pay(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        token = self._bearer(request)
        if token is None:
            return FakeResponse.json({"message": "Unauthenticated."}, 401)
        body = self._body(request)
        if body.get("token") != token or str(body.get("store_id")) != self.store_id:
            return FakeResponse.json({"sp_code": "1064", "message": "Invalid token or store"})
        missing = [name for name in REQUIRED if not body.get(name)]
        if missing:
            return FakeResponse.json(
                {"message": f"The {missing[0].replace('_', ' ')} field is required."}, 422
            )
        if body["prefix"] != self.credentials["prefix"]:
            return FakeResponse.json({"message": "The prefix is not the store's."}, 422)
        try:
            amount = Decimal(str(body["amount"]))
        except InvalidOperation:
            return FakeResponse.json({"message": "The amount must be a number."}, 422)
        if amount <= 0:
            return FakeResponse.json({"message": "The amount must be greater than 0."}, 422)
        if body["currency"] not in shurjopay.CURRENCIES:
            return FakeResponse.json({"sp_code": "1010", "message": "Currency mismatch"}, 422)
        sp_order_id = f"{body['prefix']}{secrets.token_hex(7)}"
        with self.lock:
            self.orders[sp_order_id] = Order(
                sp_order_id,
                str(body["order_id"]),
                amount,
                str(body["currency"]),
                str(body["return_url"]),
                str(body["cancel_url"]),
                body,
                self.now(),
            )
        return FakeResponse.json(
            {
                "checkout_url": f"{request.base_url}/spaycheckout/?token={sp_order_id}",
                "amount": f"{amount:.2f}",
                "currency": body["currency"],
                "sp_order_id": sp_order_id,
                "customer_order_id": body["order_id"],
                "customer_name": body["customer_name"],
                "customer_address": body["customer_address"],
                "customer_city": body["customer_city"],
                "customer_phone": body["customer_phone"],
                "customer_email": body.get("customer_email"),
                "client_ip": body["client_ip"],
                "intent": "sale",
                "transactionStatus": "Initiated",
            }
        )

    def record(self, order: Order) -> dict[str, Any]:
        paid = order.paid_amount if order.paid_amount is not None else order.amount
        four = Decimal("0.0001")
        message = CODES.get(order.sp_code, "Failed")
        return {
            "id": int(order.created.timestamp()) % 100000,
            "order_id": order.sp_order_id,
            "currency": order.currency,
            "amount": f"{paid.quantize(four)}",
            "payable_amount": f"{paid.quantize(four)}",
            "discount_amount": None,
            "disc_percent": 0,
            "received_amount": f"{paid.quantize(four)}" if order.sp_code == "1000" else "0.0000",
            "usd_amt": 0,
            "usd_rate": 0,
            "is_verify": 0,
            "card_holder_name": None,
            "card_number": None,
            "phone_no": order.body.get("customer_phone"),
            "bank_trx_id": order.bank_trx_id,
            "invoice_no": order.sp_order_id,
            "bank_status": message,
            "customer_order_id": order.customer_order_id,
            "sp_code": order.sp_code,
            "sp_message": message,
            "sp_massage": message,
            "name": order.body.get("customer_name"),
            "email": order.body.get("customer_email"),
            "address": order.body.get("customer_address"),
            "city": order.body.get("customer_city"),
            "value1": order.body.get("value1"),
            "value2": order.body.get("value2"),
            "value3": order.body.get("value3"),
            "value4": order.body.get("value4"),
            "transaction_status": None,
            "method": order.method,
            "date_time": order.created.strftime("%Y-%m-%d %H:%M:%S"),
        }

    @route("POST", r"/api/(?:verification|payment-status)")
    def verification(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if self._bearer(request) is None:
            return FakeResponse.json({"message": "Unauthenticated."}, 401)
        with self.lock:
            order = self.orders.get(str(self._body(request).get("order_id") or ""))
            if order is None:
                return FakeResponse.json({"sp_code": 1011, "message": "Invalid Order ID"})
            return FakeResponse.json([self.record(order)])

    # -- the payer's page -------------------------------------------------------------

    @route("GET", r"/spaycheckout/")
    def checkout_page(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        with self.lock:
            order = self.orders.get(request.query.get("token", ""))
        if order is None:
            return self.page("shurjoPay", "<p>Invalid payment link.</p>")
        action = html.escape(f"{request.base_url}/spaycheckout/{order.sp_order_id}")
        return self.page(
            "shurjoPay",
            f"<p>Pay {html.escape(order.currency)} {html.escape(str(order.amount))}.</p>"
            f"<form method='post' action='{action}'>"
            "<button name='action' value='success'>Pay with bKash</button>"
            "<button name='action' value='failure'>Fail</button>"
            "<button name='action' value='cancel'>Cancel</button></form>",
        )

    @route("POST", r"/spaycheckout/(?P<id>[^/]+)")
    def checkout_action(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if match["id"] not in self.orders:
            return self.page("shurjoPay", "<p>Invalid payment link.</p>")
        back = self.complete(match["id"], request.form().get("action", ""))
        return FakeResponse.redirect(back.url)

    def complete(
        self, sp_order_id: str, outcome: str = "success", *, amount: Decimal | None = None
    ) -> BrowserReturn:
        """What the payer did (pay, fail, cancel): how their browser comes back to us
        (method, URL, form). ``amount`` makes shurjoPay record another amount."""
        with self.lock:
            order = self.orders[sp_order_id]
            if order.sp_code == "1068":
                if outcome == "success":
                    order.sp_code, order.method = "1000", "bKash"
                    order.bank_trx_id = "BK" + secrets.token_hex(5).upper()
                    order.paid_amount = amount
                else:
                    order.sp_code = "1002" if outcome == "cancel" else "1001"
            url = order.cancel_url if order.sp_code == "1002" else order.return_url
        separator = "&" if "?" in url else "?"
        return BrowserReturn("GET", f"{url}{separator}{urlencode({'order_id': sp_order_id})}")
