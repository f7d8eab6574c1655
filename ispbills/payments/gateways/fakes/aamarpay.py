"""A fake aamarPay: the JSON payment API, the payment page, the form callbacks, trxcheck.

It checks the store id and signature key, the required fields, ``type: "json"``, a unique
``tran_id`` per store; it POSTs aamarPay's callback fields to success_url and fail_url (as
the payer's browser would, through an auto-submitting form), sends cancel_url a plain
navigation, and answers trxcheck with aamarPay's record of the transaction.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from ispbills.payments.gateways.fakes import register_fake
from ispbills.payments.gateways.fakes._forms import send_back
from ispbills.payments.gateways.fakes.base import (
    BrowserReturn,
    FakeProvider,
    FakeRequest,
    FakeResponse,
    route,
)

REQUIRED = (
    "store_id",
    "signature_key",
    "tran_id",
    "amount",
    "currency",
    "desc",
    "cus_name",
    "cus_email",
    "cus_phone",
    "success_url",
    "fail_url",
    "cancel_url",
)


@dataclass
class Transaction:
    track: str
    fields: dict[str, str]
    amount: Decimal
    created: dt.datetime
    pay_status: str = "Pending"
    pg_txnid: str = ""
    bank_txn: str = ""
    paid_amount: Decimal | None = None

    @property
    def tran_id(self) -> str:
        return self.fields["tran_id"]


class AamarpayLikeFake(FakeProvider):
    """What aamarPay and EasyPayWay share: the page, the callbacks and trxcheck."""

    track_prefix: ClassVar[str] = "AAM"
    demo_credentials: ClassVar[dict[str, str]] = {
        "store_id": "aamarpaytest",
        "signature_key": "dbb74894e82415a2f7ff0ec3a97e4183",
    }

    def __init__(self, credentials: dict[str, str] | None = None) -> None:
        super().__init__(credentials)
        self.transactions: dict[str, Transaction] = {}  # by tran_id

    def _store_ok(self, values: dict[str, Any]) -> bool:
        return (
            values.get("store_id") == self.credentials["store_id"]
            and values.get("signature_key") == self.credentials["signature_key"]
        )

    def create(self, fields: dict[str, str]) -> Transaction | dict[str, str]:
        """A new transaction, or aamarPay's error fields."""
        if not self._store_ok(fields):
            return {"store_id": "Invalid Store ID or Signature Key"}
        missing = [name for name in REQUIRED if not fields.get(name)]
        if missing:
            return {missing[0]: f"{missing[0]} is required"}
        try:
            amount = Decimal(fields["amount"])
        except InvalidOperation:
            return {"amount": "Invalid amount"}
        if amount <= 0:
            return {"amount": "Invalid amount"}
        if fields["currency"] not in ("BDT", "USD"):
            return {"currency": "Invalid currency"}
        with self.lock:
            if fields["tran_id"] in self.transactions:
                return {"tran_id": "Duplicate tran_id"}
            track = self.track_prefix + secrets.token_hex(8).upper()
            transaction = Transaction(track, dict(fields), amount, dt.datetime.now(dt.UTC))
            self.transactions[fields["tran_id"]] = transaction
            return transaction

    def by_track(self, track: str) -> Transaction | None:
        with self.lock:
            return next((t for t in self.transactions.values() if t.track == track), None)

    # -- the payer's page -------------------------------------------------------------

    @route("GET", r"/paynow\.php")
    def pay_page(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        transaction = self.by_track(request.query.get("track", ""))
        if transaction is None:
            return self.page(self.name, "<p>Invalid payment request.</p>")
        action = html.escape(f"{request.base_url}/paynow.php?track={transaction.track}")
        return self.page(
            self.name,
            f"<p>Pay {html.escape(transaction.fields['currency'])} "
            f"{html.escape(str(transaction.amount))}.</p>"
            f"<form method='post' action='{action}'>"
            "<button name='action' value='success'>Pay with bKash</button>"
            "<button name='action' value='failure'>Fail</button>"
            "<button name='action' value='cancel'>Cancel</button></form>",
        )

    @route("POST", r"/paynow\.php")
    def pay_action(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        transaction = self.by_track(request.query.get("track", ""))
        if transaction is None:
            return self.page(self.name, "<p>Invalid payment request.</p>")
        back = self.complete(transaction.tran_id, request.form().get("action", ""))
        return send_back(back)

    def complete(
        self, tran_id: str, outcome: str = "success", *, amount: Decimal | None = None
    ) -> BrowserReturn:
        """What the payer did (pay, fail, cancel) on the page of ``tran_id`` (or its track):
        how their browser comes back to us (method, URL, form). ``amount`` makes the store
        record another amount (a test of our amount check)."""
        with self.lock:
            transaction = self.transactions.get(tran_id) or self.by_track(tran_id)
            if transaction is None:
                raise KeyError(tran_id)
            if transaction.pay_status == "Pending":
                if outcome == "success":
                    transaction.pay_status = "Successful"
                    transaction.pg_txnid = self.track_prefix + secrets.token_hex(6).upper()
                    transaction.bank_txn = "BK" + secrets.token_hex(5).upper()
                    transaction.paid_amount = amount
                elif outcome == "cancel":
                    transaction.pay_status = "Cancelled"
                else:
                    transaction.pay_status = "Failed"
            if transaction.pay_status == "Cancelled":
                return BrowserReturn("GET", transaction.fields["cancel_url"])
            url = transaction.fields[
                "success_url" if transaction.pay_status == "Successful" else "fail_url"
            ]
            return BrowserReturn("POST", url, self.callback_fields(transaction))

    def paid_amount(self, transaction: Transaction) -> Decimal:
        return (
            transaction.paid_amount if transaction.paid_amount is not None else transaction.amount
        )

    def callback_fields(self, transaction: Transaction) -> dict[str, str]:
        fields = transaction.fields
        amount = f"{self.paid_amount(transaction):.2f}"
        ok = transaction.pay_status == "Successful"
        return {
            "pg_service_charge_bdt": "0.00",
            "pg_service_charge_usd": "Not-Available",
            "pg_card_bank_name": "",
            "pg_card_bank_country": "",
            "card_number": "01770618575" if ok else "",
            "card_holder": "",
            "cus_phone": fields["cus_phone"],
            "desc": fields["desc"],
            "success_url": fields["success_url"],
            "fail_url": fields["fail_url"],
            "cus_name": fields["cus_name"],
            "cus_email": fields["cus_email"],
            "currency_merchant": fields["currency"],
            "convertion_rate": "",
            "ip_address": "127.0.0.1",
            "other_currency": amount,
            "pay_status": transaction.pay_status,
            "pg_txnid": transaction.pg_txnid,
            "epw_txnid": transaction.pg_txnid,
            "mer_txnid": transaction.tran_id,
            "store_id": self.credentials["store_id"],
            "merchant_id": self.credentials["store_id"],
            "currency": fields["currency"],
            "store_amount": amount,
            "pay_time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "amount": amount,
            "bank_txn": transaction.bank_txn,
            "card_type": "bKash-bKash" if ok else "",
            "reason": "" if ok else "Payment failed",
            "pg_card_risklevel": "0",
            "pg_error_code_details": "" if ok else "Declined",
            "opt_a": fields.get("opt_a", ""),
            "opt_b": fields.get("opt_b", ""),
            "opt_c": fields.get("opt_c", ""),
            "opt_d": fields.get("opt_d", ""),
            "status_code": "2" if ok else "7",
        }

    # -- verification ----------------------------------------------------------------

    @route("GET", r"/api/v1/trxcheck/request\.php")
    def trxcheck(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if not self._store_ok(request.query):
            return FakeResponse.json({"msg": "Unauthorized: invalid store id or signature key"})
        with self.lock:
            transaction = self.transactions.get(request.query.get("request_id", ""))
            if transaction is None:
                return FakeResponse.json({"msg": "Invalid Request ID"})
            amount = f"{self.paid_amount(transaction):.2f}"
            ok = transaction.pay_status == "Successful"
            return FakeResponse.json(
                {
                    "pg_txnid": transaction.pg_txnid,
                    "mer_txnid": transaction.tran_id,
                    "risk_title": "Safe",
                    "risk_level": "0",
                    "cus_name": transaction.fields["cus_name"],
                    "cus_email": transaction.fields["cus_email"],
                    "cus_phone": transaction.fields["cus_phone"],
                    "desc": transaction.fields["desc"],
                    "date": transaction.created.strftime("%Y-%m-%d %H:%M:%S"),
                    "amount": amount,
                    "amount_bdt": amount,
                    "amount_currency": amount,
                    "rec_amount": amount if ok else "0",
                    "store_amount": amount if ok else "0",
                    "processing_ratio": "0.00",
                    "processing_charge": "0.00",
                    "ip": "127.0.0.1",
                    "payment_type": "bKash-bKash" if ok else "",
                    "payment_processor": "bKash" if ok else "",
                    "bank_trxid": transaction.bank_txn,
                    "card_type": "bKash-bKash" if ok else "",
                    "card_no": "",
                    "currency_merchant": transaction.fields["currency"],
                    "pay_status": transaction.pay_status,
                    "status_code": "2" if ok else "7",
                    "status_title": transaction.pay_status,
                }
            )


@register_fake
class FakeAamarpay(AamarpayLikeFake):
    """aamarPay's JSON API."""

    code = "aamarpay"
    name = "aamarPay"

    @route("POST", r"/jsonpost\.php")
    def jsonpost(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        body = request.json()
        if not isinstance(body, dict) or body.get("type") != "json":
            return FakeResponse.json({"result": "false", "type": "type json is required"})
        created = self.create({k: str(v) for k, v in body.items() if v is not None})
        if not isinstance(created, Transaction):
            return FakeResponse.json({"result": "false", **created})
        return FakeResponse.json(
            {
                "result": "true",
                "payment_url": f"{request.base_url}/paynow.php?track={created.track}",
            }
        )
