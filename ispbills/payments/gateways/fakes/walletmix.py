"""A fake WalletMix: check-server, the payment request, the bank page, check-payment.

It checks the merchant id, access app key and the ``authorization`` form field (Basic
credentials), answers ``statusCode`` ``"1000"`` with a token, sends the payer's browser back
with a form POST of ``merchant_txn_data``, and answers check-payment with WalletMix's record.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from ispbills.payments.gateways import walletmix
from ispbills.payments.gateways.fakes import register_fake
from ispbills.payments.gateways.fakes._forms import send_back
from ispbills.payments.gateways.fakes.base import (
    BrowserReturn,
    FakeProvider,
    FakeRequest,
    FakeResponse,
    route,
)

PENDING, FAILED, CANCELLED = "1003", "1001", "1002"


@dataclass
class Payment:
    token: str
    form: dict[str, str]
    amount: Decimal
    txn_status: str = PENDING
    ref_id: str = ""
    paid_amount: Decimal | None = None


@register_fake
class FakeWalletmix(FakeProvider):
    """WalletMix's merchant API as its sample library uses it."""

    code = "walletmix"
    name = "WalletMix"
    demo_credentials: ClassVar[dict[str, str]] = {
        "wmx_id": "WMX5d4a1b2c3e4f5",
        "app_name": "acme.example",
        "access_app_key": "b5c4d3e2f1a0b9c8d7e6f5a4",
        "username": "acme_wmx",
        "password": "wmx-demo-password",
        "server_ip": "127.0.0.1",
    }

    def __init__(self, credentials: dict[str, str] | None = None) -> None:
        super().__init__(credentials)
        self.payments: dict[str, Payment] = {}
        self.answer_wmx_id = ""  # a test knob: answer check-payment as another merchant

    def _authorised(self, form: dict[str, str]) -> bool:
        expected = walletmix.authorization(
            self.credentials["username"], self.credentials["password"]
        )
        return (
            form.get("wmx_id") == self.credentials["wmx_id"]
            and form.get("access_app_key") == self.credentials["access_app_key"]
            and form.get("authorization") == expected
        )

    @route("GET", r"/check-server")
    def check_server(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        return FakeResponse.json(
            {
                "selectedServer": "server1",
                "url": f"{request.base_url}/init-payment-process",
                "bank_payment_url": f"{request.base_url}/bank-payment-process",
            }
        )

    @route("POST", r"/init-payment-process")
    def init_payment(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        form = request.form()
        if not self._authorised(form):
            return FakeResponse.json({"statusCode": "1001", "statusMsg": "Unauthorized request"})
        missing = [
            k
            for k in ("merchant_order_id", "callback_url", "amount", "currency", "options")
            if not form.get(k)
        ]
        if missing:
            return FakeResponse.json({"statusCode": "1002", "statusMsg": f"{missing[0]} missing"})
        try:
            amount = Decimal(form["amount"])
        except InvalidOperation:
            return FakeResponse.json({"statusCode": "1002", "statusMsg": "Invalid amount"})
        if amount <= 0 or form["currency"] != "BDT":
            return FakeResponse.json({"statusCode": "1002", "statusMsg": "Invalid amount"})
        token = secrets.token_hex(16)
        with self.lock:
            self.payments[token] = Payment(token, form, amount)
        return FakeResponse.json({"statusCode": "1000", "statusMsg": "Success", "token": token})

    @route("GET", r"/bank-payment-process/(?P<token>[^/]+)")
    def bank_page(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        with self.lock:
            payment = self.payments.get(match["token"])
        if payment is None:
            return self.page("WalletMix", "<p>Invalid token.</p>")
        action = html.escape(f"{request.base_url}/bank-payment-process/{payment.token}")
        return self.page(
            "WalletMix",
            f"<p>Pay BDT {html.escape(str(payment.amount))}.</p>"
            f"<form method='post' action='{action}'>"
            "<button name='action' value='success'>Pay</button>"
            "<button name='action' value='failure'>Fail</button>"
            "<button name='action' value='cancel'>Cancel</button></form>",
        )

    @route("POST", r"/bank-payment-process/(?P<token>[^/]+)")
    def bank_action(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if match["token"] not in self.payments:
            return self.page("WalletMix", "<p>Invalid token.</p>")
        back = self.complete(match["token"], request.form().get("action", ""))
        return send_back(back)

    def complete(
        self, token: str, outcome: str = "success", *, amount: Decimal | None = None
    ) -> BrowserReturn:
        """What the payer did (pay, fail, cancel): how their browser comes back to us
        (method, URL, form). ``amount`` makes WalletMix record another amount."""
        with self.lock:
            payment = self.payments[token]
            if payment.txn_status == PENDING:
                if outcome == "success":
                    payment.txn_status = walletmix.OK
                    payment.ref_id = "WMX" + secrets.token_hex(6).upper()
                    payment.paid_amount = amount
                else:
                    payment.txn_status = CANCELLED if outcome == "cancel" else FAILED
            data = {
                "token": token,
                "txn_status": payment.txn_status,
                "merchant_order_id": payment.form["merchant_order_id"],
                "merchant_ref_id": payment.form.get("merchant_ref_id", ""),
            }
            return BrowserReturn(
                "POST", payment.form["callback_url"], {"merchant_txn_data": json.dumps(data)}
            )

    @route("POST", r"/check-payment")
    def check_payment(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        form = request.form()
        if not self._authorised(form):
            return FakeResponse.json({"statusCode": "1001", "statusMsg": "Unauthorized request"})
        with self.lock:
            payment = self.payments.get(form.get("token", ""))
            if payment is None:
                return FakeResponse.json({"statusCode": "1004", "statusMsg": "Invalid token"})
            return FakeResponse.json(self.record(payment))

    def record(self, payment: Payment) -> dict[str, Any]:
        paid = payment.paid_amount if payment.paid_amount is not None else payment.amount
        ok = payment.txn_status == walletmix.OK
        return {
            "wmx_id": self.answer_wmx_id or self.credentials["wmx_id"],
            "txn_status": payment.txn_status,
            "merchant_order_id": payment.form["merchant_order_id"],
            "merchant_ref_id": payment.form.get("merchant_ref_id", ""),
            "merchant_amount_bdt": f"{paid:.2f}",
            "bank_amount_bdt": f"{paid:.2f}" if ok else "0.00",
            "ref_id": payment.ref_id,
            "payment_method": "bkash" if ok else "",
            "payment_card": "",
            "card_details": "",
            "service_ratio": "1.50",
            "txn_details": "Successful" if ok else "Not completed",
        }
