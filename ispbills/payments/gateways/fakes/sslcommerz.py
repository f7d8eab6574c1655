"""A fake SSLCommerz: the v4 session API, the hosted payment page, the browser's POST back
and the IPN (both signed with ``verify_sign`` as SSLCommerz signs them), the validation API
(VALID once, VALIDATED after), the transaction query by tran_id or session, and refunds.

It checks the store id and password on every call (``APIConnect: INVALID_REQUEST`` otherwise),
the amount range (10-500000), unique ``tran_id`` per store, and the required URLs.
"""

from __future__ import annotations

import html
import re
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from ispbills.core import clock
from ispbills.payments.gateways.fakes import register_fake
from ispbills.payments.gateways.fakes.base import (
    BrowserReturn,
    FakeProvider,
    FakeRequest,
    FakeResponse,
    route,
)
from ispbills.payments.gateways.sslcommerz import verify_sign

SIGNED = ",".join(
    [
        "amount",
        "bank_tran_id",
        "base_fair",
        "card_brand",
        "card_issuer",
        "card_no",
        "card_type",
        "currency",
        "currency_amount",
        "currency_rate",
        "currency_type",
        "risk_level",
        "risk_title",
        "status",
        "store_amount",
        "store_id",
        "tran_date",
        "tran_id",
        "val_id",
        "value_a",
        "value_b",
        "value_c",
        "value_d",
    ]
)
OUTCOMES = {"success": "VALID", "failure": "FAILED", "cancel": "CANCELLED"}


@register_fake
class FakeSslcommerz(FakeProvider):
    """SSLCommerz's sandbox as the merchant's server and the payer's browser see it."""

    code = "sslcommerz"
    name = "SSLCommerz (test)"
    demo_credentials = {"store_id": "ispbi0000test", "store_passwd": "ispbi0000test@ssl"}

    def __init__(self, credentials: dict[str, str] | None = None) -> None:
        super().__init__(credentials)
        self.sessions: dict[str, dict[str, Any]] = {}  # sessionkey -> session
        self.by_tran: dict[str, str] = {}  # tran_id -> sessionkey
        self.validations: dict[str, str] = {}  # val_id -> sessionkey
        # Post the IPN to ipn_url (in the background) when the payer finishes: the demo does;
        # tests deliver it themselves (``ipn(sessionkey)``), in order.
        self.send_ipn = False
        self.amount_override: str | None = None  # tests: the bank settles another amount
        self.risk_level = "0"

    def _store_ok(self, fields: dict[str, str]) -> bool:
        return fields.get("store_id") == self.credentials.get("store_id") and fields.get(
            "store_passwd"
        ) == self.credentials.get("store_passwd")

    @route("POST", r"/gwprocess/v4/api\.php")
    def session(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        form = request.form()
        if not self._store_ok(form):
            return FakeResponse.json(
                {"status": "FAILED", "failedreason": "Store Credential Error Or Store is De-active"}
            )
        try:
            amount = Decimal(form.get("total_amount", ""))
        except InvalidOperation:
            amount = Decimal(0)
        if not Decimal("10") <= amount <= Decimal("500000"):
            return FakeResponse.json(
                {"status": "FAILED", "failedreason": "Invalid data imputed to call the API"}
            )
        tran_id = form.get("tran_id", "")
        missing = [
            name
            for name in ("tran_id", "success_url", "fail_url", "cancel_url", "cus_phone")
            if not form.get(name)
        ]
        if missing or len(tran_id) > 30:
            return FakeResponse.json(
                {"status": "FAILED", "failedreason": f"Invalid {', '.join(missing) or 'tran_id'}"}
            )
        with self.lock:
            if tran_id in self.by_tran:
                return FakeResponse.json({"status": "FAILED", "failedreason": "Duplicate tran_id"})
            key = secrets.token_hex(16).upper()
            self.sessions[key] = {
                "sessionkey": key,
                "tran_id": tran_id,
                "amount": f"{amount:.2f}",
                "currency": form.get("currency", "BDT"),
                "success_url": form["success_url"],
                "fail_url": form["fail_url"],
                "cancel_url": form["cancel_url"],
                "ipn_url": form.get("ipn_url", ""),
                "value_a": form.get("value_a", ""),
                "status": "UNATTEMPTED",
                "val_id": "",
                "bank_tran_id": "",
                "validated": False,
                "refunds": [],
            }
            self.by_tran[tran_id] = key
        page = f"{request.base_url}/gwprocess/v4/gw.php?Q=pay&SESSIONKEY={key}"
        return FakeResponse.json(
            {
                "status": "SUCCESS",
                "failedreason": "",
                "sessionkey": key,
                "gw": {"visa": "city_visa,ebl_visa", "mobilebanking": "bkash,nagad"},
                "redirectGatewayURL": f"{request.base_url}/gwprocess/v4/bankgw/indexhtml.php",
                "GatewayPageURL": page,
                "storeBanner": "",
                "storeLogo": "",
                "desc": [],
                "is_direct_pay_enable": "0",
            }
        )

    # -- the payer ------------------------------------------------------------------------

    @route("GET", r"/gwprocess/v4/gw\.php")
    def payer_page(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        key = request.query.get("SESSIONKEY", "")
        session = self.sessions.get(key)
        if session is None:
            return self.page("SSLCommerz", "<p>Session expired.</p>")
        action = html.escape(f"{request.base_url}/gwprocess/v4/gw.php?Q=pay&SESSIONKEY={key}")
        return self.page(
            "SSLCommerz",
            f"<p>Transaction {html.escape(session['tran_id'])}</p>"
            f"<p><strong>BDT {html.escape(session['amount'])}</strong></p>"
            f"<form method='post' action='{action}'>"
            "<button name='outcome' value='success' id='ssl-pay'>Pay</button>"
            "<button name='outcome' value='failure' id='ssl-fail'>Fail</button>"
            "<button name='outcome' value='cancel' id='ssl-cancel'>Cancel</button></form>",
        )

    @route("POST", r"/gwprocess/v4/gw\.php")
    def payer_choice(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        back = self.complete(request.query.get("SESSIONKEY", ""), request.form().get("outcome", ""))
        # SSLCommerz posts the browser back: an auto-submitting form.
        inputs = "".join(
            f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
            for k, v in back.form.items()
        )
        return FakeResponse.html(
            f"<!doctype html><form id='back' method='post' action='{html.escape(back.url)}'>"
            f"{inputs}<button>Continue</button></form>"
            "<script>document.getElementById('back').submit()</script>"
        )

    def complete(self, sessionkey: str, outcome: str = "success") -> BrowserReturn:
        """The payer pays (``success``), fails or cancels; SSLCommerz sends the IPN (unless
        ``send_ipn`` is off) and returns the POST the browser makes to the merchant."""
        status = OUTCOMES.get(outcome, "FAILED")
        with self.lock:
            session = self.sessions[sessionkey]
            if status == "VALID" and not session["val_id"]:
                session["val_id"] = clock.now().strftime("%y%m%d%H%M") + secrets.token_hex(6)
                session["bank_tran_id"] = (
                    clock.now().strftime("%y%m%d%H%M") + secrets.token_hex(5).upper()
                )
                if self.amount_override is not None:
                    session["amount"] = self.amount_override
                self.validations[session["val_id"]] = sessionkey
            if session["status"] != "VALID":
                session["status"] = status
            fields = self.posted_fields(sessionkey)
            url = {"VALID": session["success_url"], "CANCELLED": session["cancel_url"]}.get(
                status, session["fail_url"]
            )
            ipn = session["ipn_url"]
        if ipn and self.send_ipn:
            self.notify(ipn, form=fields)
        return BrowserReturn("POST", url, fields)

    def ipn(self, sessionkey: str) -> BrowserReturn:
        """The IPN SSLCommerz posts for a session, as a request (deliver with
        ``.as_callback("ipn")``)."""
        with self.lock:
            return BrowserReturn(
                "POST", self.sessions[sessionkey]["ipn_url"], self.posted_fields(sessionkey)
            )

    def posted_fields(self, sessionkey: str) -> dict[str, str]:
        """The signed fields SSLCommerz posts (IPN and browser return alike)."""
        session = self.sessions[sessionkey]
        fields = {
            "status": session["status"],
            "tran_id": session["tran_id"],
            "val_id": session["val_id"],
            "amount": session["amount"],
            "store_amount": f"{Decimal(session['amount']) * Decimal('0.975'):.2f}",
            "currency": "BDT",
            "bank_tran_id": session["bank_tran_id"],
            "card_type": "BKASH-BKash",
            "card_no": "",
            "card_issuer": "BKash Mobile Banking",
            "card_brand": "MOBILEBANKING",
            "card_issuer_country": "Bangladesh",
            "card_issuer_country_code": "BD",
            "currency_type": session["currency"],
            "currency_amount": session["amount"],
            "currency_rate": "1.0000",
            "base_fair": "0.00",
            "tran_date": clock.now().strftime("%Y-%m-%d %H:%M:%S"),
            "value_a": session["value_a"],
            "value_b": "",
            "value_c": "",
            "value_d": "",
            "risk_level": self.risk_level,
            "risk_title": "Safe" if self.risk_level == "0" else "High",
            "store_id": self.credentials.get("store_id", ""),
            "verify_key": SIGNED,
        }
        fields["verify_sign"] = verify_sign(fields, self.credentials.get("store_passwd", ""))
        fields["verify_sign_sha2"] = ""
        return fields

    # -- the validator APIs ---------------------------------------------------------------

    def _element(self, session: dict[str, Any]) -> dict[str, Any]:
        return {
            "val_id": session["val_id"],
            "status": session["status"],
            "validated_on": "",
            "currency_type": session["currency"],
            "currency_amount": session["amount"],
            "currency_rate": "1.0000",
            "base_fair": "0.00",
            "value_a": session["value_a"],
            "value_b": "",
            "value_c": "",
            "value_d": "",
            "tran_date": "",
            "tran_id": session["tran_id"],
            "amount": session["amount"],
            "store_amount": session["amount"],
            "bank_tran_id": session["bank_tran_id"],
            "card_type": "BKASH-BKash",
            "risk_title": "Safe" if self.risk_level == "0" else "High",
            "risk_level": self.risk_level,
            "APIConnect": "DONE",
            "error": "",
        }

    @route("GET", r"/validator/api/validationserverAPI\.php")
    def validate(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        query = request.query
        if not self._store_ok(query):
            return FakeResponse.json({"APIConnect": "INVALID_REQUEST"})
        with self.lock:
            key = self.validations.get(query.get("val_id", ""))
            if key is None:
                return FakeResponse.json({"status": "INVALID_TRANSACTION", "APIConnect": "DONE"})
            session = self.sessions[key]
            answer = self._element(session)
            answer["status"] = "VALIDATED" if session["validated"] else "VALID"
            session["validated"] = True
        answer["gw_version"] = "4"
        return FakeResponse.json(answer)

    @route("GET", r"/validator/api/merchantTransIDvalidationAPI\.php")
    def transactions(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        query = request.query
        if not self._store_ok(query):
            return FakeResponse.json({"APIConnect": "INVALID_REQUEST"})
        if query.get("refund_amount") and query.get("bank_tran_id"):
            return self._refund(query)
        with self.lock:
            key = query.get("sessionkey") or self.by_tran.get(query.get("tran_id", ""), "")
            session = self.sessions.get(key)
            if session is None or session["status"] == "UNATTEMPTED":
                return FakeResponse.json(
                    {"APIConnect": "DONE", "no_of_trans_found": 0, "element": []}
                )
            return FakeResponse.json(
                {"APIConnect": "DONE", "no_of_trans_found": 1, "element": [self._element(session)]}
            )

    def _refund(self, query: dict[str, str]) -> FakeResponse:
        with self.lock:
            session = next(
                (
                    s
                    for s in self.sessions.values()
                    if s["bank_tran_id"] and s["bank_tran_id"] == query["bank_tran_id"]
                ),
                None,
            )
            if session is None or not query.get("refund_trans_id"):
                return FakeResponse.json(
                    {
                        "APIConnect": "DONE",
                        "status": "failed",
                        "errorReason": "Invalid bank_tran_id",
                    }
                )
            ref = "RR" + secrets.token_hex(6)
            session["refunds"].append(query["refund_amount"])
            return FakeResponse.json(
                {
                    "APIConnect": "DONE",
                    "bank_tran_id": session["bank_tran_id"],
                    "trans_id": session["tran_id"],
                    "refund_ref_id": ref,
                    "status": "success",
                    "errorReason": "",
                }
            )
