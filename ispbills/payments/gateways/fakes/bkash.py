"""A fake bKash: Tokenized Checkout (token grant/refresh, create, the payer's page, execute,
payment status, refund v2) and the legacy TrxID check, on bKash's paths and envelopes.

It checks what bKash checks: the username/password headers and app key/secret on grant and
refresh, the token (``Authorization``, raw or ``Bearer``) and ``X-App-Key`` on every call
(401 ``{"message": "Unauthorized"}`` otherwise, expired tokens included), duplicate invoice
numbers (2029), execute before the payer approved (2056), a second execute (2062), and the
refresh limit (more than two refreshes an hour blocks the merchant: 2079, as bKash warns).
Tokens expire after ``token_lifetime`` seconds of ``clock.now()``, so tests move time with
time-machine.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import secrets
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from ispbills.core import clock
from ispbills.payments.gateways.fakes import register_fake
from ispbills.payments.gateways.fakes.base import (
    BrowserReturn,
    FakeProvider,
    FakeRequest,
    FakeResponse,
    route,
)

V = "/v1.2.0-beta"
INSUFFICIENT_WALLET = "01823074817"  # bKash's sandbox wallet with no balance


def _time() -> str:
    # bKash's own format: not ISO 8601 (a colon before the milliseconds), Dhaka time.
    moment = clock.now().astimezone(dt.timezone(dt.timedelta(hours=6)))
    return moment.strftime("%Y-%m-%dT%H:%M:%S:") + f"{moment.microsecond // 1000:03d} GMT+0600"


class BkashTokens:
    """bKash's token rules, shared by the Tokenized and the Checkout (iframe) fakes: the
    username/password headers and app key/secret on grant and refresh, tokens expiring after
    ``token_lifetime`` seconds, at most two refreshes an hour. ``_refusal`` gives the
    product's error envelope."""

    credentials: dict[str, str]
    lock: Any

    def _init_tokens(self) -> None:
        self.token_lifetime = 3600
        self.tokens: dict[str, dt.datetime] = {}  # id_token -> expiry
        self.refresh_tokens: set[str] = set()
        self.refreshes: list[dt.datetime] = []

    @staticmethod
    def _refusal(code: str, message: str) -> FakeResponse:
        return FakeResponse.json({"statusCode": code, "statusMessage": message})

    # -- auth -----------------------------------------------------------------------------

    def _credentials_ok(self, request: FakeRequest, body: dict[str, Any]) -> bool:
        return (
            request.headers.get("username") == self.credentials.get("username")
            and request.headers.get("password") == self.credentials.get("password")
            and body.get("app_key") == self.credentials.get("app_key")
            and body.get("app_secret") == self.credentials.get("app_secret")
        )

    def _issue(self) -> dict[str, Any]:
        token = "eyJ" + secrets.token_urlsafe(24)
        refresh = secrets.token_urlsafe(16)
        self.tokens[token] = clock.now() + dt.timedelta(seconds=self.token_lifetime)
        self.refresh_tokens.add(refresh)
        return {
            "statusCode": "0000",
            "statusMessage": "Successful",
            "id_token": token,
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "refresh_token": refresh,
        }

    def _authorised(self, request: FakeRequest) -> bool:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        expiry = self.tokens.get(token)
        return (
            expiry is not None
            and expiry > clock.now()
            and request.headers.get("x-app-key") == self.credentials.get("app_key")
        )

    @staticmethod
    def _unauthorised() -> FakeResponse:
        return FakeResponse.json({"message": "Unauthorized"}, 401)

    def _grant_answer(self, request: FakeRequest) -> FakeResponse:
        body = request.json() or {}
        with self.lock:
            if not self._credentials_ok(request, body):
                return self._refusal("2001", "Invalid App Key")
            return FakeResponse.json(self._issue())

    def _refresh_answer(self, request: FakeRequest) -> FakeResponse:
        body = request.json() or {}
        with self.lock:
            if not self._credentials_ok(request, body):
                return self._refusal("2001", "Invalid App Key")
            hour_ago = clock.now() - dt.timedelta(hours=1)
            self.refreshes = [at for at in self.refreshes if at > hour_ago]
            if len(self.refreshes) >= 2:
                return self._refusal("2079", "Too many refresh requests: blocked")
            if body.get("refresh_token") not in self.refresh_tokens:
                return self._refusal("2079", "Invalid refresh token")
            self.refresh_tokens.discard(body["refresh_token"])
            self.refreshes.append(clock.now())
            return FakeResponse.json(self._issue())


@register_fake
class FakeBkash(BkashTokens, FakeProvider):
    """bKash's sandbox as seen from the merchant's server and the payer's browser."""

    code = "bkash"
    name = "bKash (test)"
    # bKash's published tokenized sandbox demo credentials, and a legacy check user.
    demo_credentials = {
        "username": "sandboxTokenizedUser02",
        "password": "sandboxTokenizedUser02@12345",
        "app_key": "4f6o0cjiki2rfm34kfdadl1eqq",
        "app_secret": "2is7hdktrekvrbljjh44ll3d9l1dtjo4pasmjvs5vl5qr3fug4b",
        "merchant_wallet": "01700000001",
        "trxcheck_user": "demo-merchant",
        "trxcheck_password": "demo-trxcheck-pass",
    }

    base_path = V

    @classmethod
    def account_credentials(cls, root: str) -> dict[str, str]:
        return {
            **cls.demo_credentials,
            "trxcheck_url": root.rstrip("/") + "/dreamwave/merchant/trxcheck/sendmsg",
        }

    def __init__(self, credentials: dict[str, str] | None = None) -> None:
        super().__init__(credentials)
        self._init_tokens()
        self.payments: dict[str, dict[str, Any]] = {}
        self.invoices: set[str] = set()
        self.send_money: dict[str, dict[str, str]] = {}  # legacy: trxID -> transfer
        # Tests: bKash confirms this amount instead of the one created (a tampered payment).
        self.amount_override: str | None = None

    # -- auth ----------------------------------------------------------------------------

    @route("POST", V + r"/tokenized/checkout/token/grant")
    def grant(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        return self._grant_answer(request)

    @route("POST", V + r"/tokenized/checkout/token/refresh")
    def refresh(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        return self._refresh_answer(request)

    # -- tokenized checkout ---------------------------------------------------------------

    @route("POST", V + r"/tokenized/checkout/create")
    def create(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if not self._authorised(request):
            return self._unauthorised()
        body = request.json() or {}
        invoice = str(body.get("merchantInvoiceNumber", ""))
        amount = str(body.get("amount", ""))
        if not re.fullmatch(r"\d+(\.\d{1,2})?", amount) or Decimal(amount) <= 0:
            return FakeResponse.json({"statusCode": "2065", "statusMessage": "Invalid Amount"})
        if not body.get("callbackURL"):
            return FakeResponse.json(
                {"statusCode": "2049", "statusMessage": "Invalid Callback URL"}
            )
        if body.get("mode") != "0011":
            return FakeResponse.json({"statusCode": "2055", "statusMessage": "Invalid Mode"})
        with self.lock:
            if not invoice or invoice in self.invoices or re.search(r"[<>&]", invoice):
                return FakeResponse.json(
                    {"statusCode": "2029", "statusMessage": "Duplicate for all transactions"}
                )
            self.invoices.add(invoice)
            payment_id = "TR0011" + secrets.token_hex(8).upper()
            payment = {
                "paymentID": payment_id,
                "amount": f"{Decimal(amount):.2f}",
                "currency": body.get("currency", "BDT"),
                "intent": body.get("intent", "sale"),
                "merchantInvoiceNumber": invoice,
                "callbackURL": body["callbackURL"],
                "payerReference": body.get("payerReference", ""),
                "status": "Initiated",
                "approved": False,
                "createTime": _time(),
            }
            self.payments[payment_id] = payment
        url = f"{request.base_url}/checkout/{payment_id}"
        callback = payment["callbackURL"]
        return FakeResponse.json(
            {
                "statusCode": "0000",
                "statusMessage": "Successful",
                "paymentID": payment_id,
                "bkashURL": url,
                "callbackURL": callback,
                "successCallbackURL": f"{callback}?paymentID={payment_id}&status=success",
                "failureCallbackURL": f"{callback}?paymentID={payment_id}&status=failure",
                "cancelledCallbackURL": f"{callback}?paymentID={payment_id}&status=cancel",
                "amount": payment["amount"],
                "intent": payment["intent"],
                "currency": payment["currency"],
                "paymentCreateTime": payment["createTime"],
                "transactionStatus": "Initiated",
                "merchantInvoiceNumber": invoice,
            }
        )

    @route("POST", V + r"/tokenized/checkout/execute")
    def execute(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if not self._authorised(request):
            return self._unauthorised()
        payment_id = str((request.json() or {}).get("paymentID", ""))
        with self.lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                return FakeResponse.json(
                    {"statusCode": "2002", "statusMessage": "Invalid Payment ID"}
                )
            if payment["status"] == "Completed":
                return FakeResponse.json(
                    {
                        "statusCode": "2062",
                        "statusMessage": "The payment has already been completed",
                    }
                )
            if not payment["approved"] or payment["status"] != "Initiated":
                return FakeResponse.json(
                    {"statusCode": "2056", "statusMessage": "Invalid Payment State"}
                )
            payment["status"] = "Completed"
            payment["trxID"] = "B" + secrets.token_hex(5).upper()[:9]
            payment["executeTime"] = _time()
            if self.amount_override is not None:
                payment["amount"] = self.amount_override
            return FakeResponse.json(
                {
                    "statusCode": "0000",
                    "statusMessage": "Successful",
                    "paymentID": payment_id,
                    "customerMsisdn": payment.get("wallet", "01770618575"),
                    "payerReference": payment["payerReference"],
                    "paymentExecuteTime": payment["executeTime"],
                    "trxID": payment["trxID"],
                    "transactionStatus": "Completed",
                    "amount": payment["amount"],
                    "currency": payment["currency"],
                    "intent": payment["intent"],
                    "merchantInvoiceNumber": payment["merchantInvoiceNumber"],
                }
            )

    @route("POST", V + r"/tokenized/checkout/payment/status")
    def status(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if not self._authorised(request):
            return self._unauthorised()
        payment_id = str((request.json() or {}).get("paymentID", ""))
        with self.lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                return FakeResponse.json(
                    {"statusCode": "2002", "statusMessage": "Invalid Payment ID"}
                )
            answer = {
                "statusCode": "0000",
                "statusMessage": "Successful",
                "paymentID": payment_id,
                "mode": "0011",
                "paymentCreateTime": payment["createTime"],
                "amount": payment["amount"],
                "currency": payment["currency"],
                "intent": payment["intent"],
                "merchantInvoice": payment["merchantInvoiceNumber"],
                "transactionStatus": payment["status"],
                "verificationStatus": "Complete" if payment["status"] == "Completed" else "",
                "payerReference": payment["payerReference"],
            }
            if payment["status"] == "Completed":
                answer["trxID"] = payment["trxID"]
                answer["paymentExecuteTime"] = payment["executeTime"]
                answer["maxRefundableAmount"] = payment["amount"]
            return FakeResponse.json(answer)

    @route("POST", r"/v2/tokenized-checkout/refund/payment/transaction")
    def refund(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if not self._authorised(request):
            return self._unauthorised()
        body = request.json() or {}
        error = {
            "internalCode": "",
            "externalCode": "",
            "errorMessageEn": "",
            "errorMessageBn": "",
        }
        if not body.get("sku") or not body.get("reason"):
            return FakeResponse.json({"message": "Invalid request body"}, 400)
        with self.lock:
            payment = self.payments.get(str(body.get("paymentId", "")))
            if payment is None or payment.get("trxID") != body.get("trxId"):
                return FakeResponse.json(
                    {**error, "internalCode": "2002", "errorMessageEn": "Invalid Payment ID"},
                    400,
                )
            if payment["status"] != "Completed":
                return FakeResponse.json(
                    {**error, "internalCode": "2127", "errorMessageEn": "Not completed"}, 400
                )
            refunded = sum(Decimal(r) for r in payment.setdefault("refunds", []))
            amount = Decimal(str(body.get("refundAmount", "0")))
            if amount <= 0 or refunded + amount > Decimal(payment["amount"]):
                return FakeResponse.json(
                    {**error, "internalCode": "2072", "errorMessageEn": "Invalid refund amount"},
                    400,
                )
            payment["refunds"].append(str(amount))
            return FakeResponse.json(
                {
                    "originalTrxId": payment["trxID"],
                    "refundTrxId": "R" + secrets.token_hex(5).upper()[:9],
                    "refundTransactionStatus": "Completed",
                    "originalTrxAmount": payment["amount"],
                    "refundAmount": f"{amount:.2f}",
                    "currency": "BDT",
                    "completedTime": _time(),
                }
            )

    # -- the payer's page -----------------------------------------------------------------

    @route("GET", r"/checkout/(?P<payment_id>\w+)")
    def payer_page(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        payment = self.payments.get(match["payment_id"])
        if payment is None:
            return self.page("bKash", "<p>Payment not found.</p>")
        amount = html.escape(payment["amount"])
        pid = html.escape(payment["paymentID"])
        return self.page(
            "bKash",
            f"<p>Merchant invoice {html.escape(payment['merchantInvoiceNumber'])}</p>"
            f"<p><strong>৳ {amount}</strong></p>"
            f"<form method='post' action='{html.escape(request.base_url)}/checkout/{pid}'>"
            "<label>bKash account number<input name='wallet' value='01770618575'"
            " inputmode='numeric'></label>"
            "<label>OTP<input name='otp' value='123456' inputmode='numeric'></label>"
            "<label>PIN<input name='pin' type='password' value='12121'"
            " inputmode='numeric'></label>"
            "<button name='action' value='confirm' type='submit' id='bkash-confirm'>"
            "Confirm</button>"
            "<button name='action' value='cancel' type='submit' id='bkash-cancel'>"
            "Close</button></form>",
        )

    @route("POST", r"/checkout/(?P<payment_id>\w+)")
    def payer_choice(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        form = request.form()
        outcome = "cancel" if form.get("action") == "cancel" else "success"
        if outcome == "success" and (
            form.get("wallet") == INSUFFICIENT_WALLET
            or form.get("pin") != "12121"
            or form.get("otp") != "123456"
        ):
            outcome = "failure"
        back = self.complete(match["payment_id"], outcome, wallet=form.get("wallet", ""))
        return FakeResponse.redirect(back.url)

    def complete(
        self, payment_id: str, outcome: str = "success", *, wallet: str = "01770618575"
    ) -> BrowserReturn:
        """The payer approves (``success``), fails (``failure``) or closes (``cancel``) the
        bKash page; returns the redirect their browser follows to the merchant."""
        with self.lock:
            payment = self.payments[payment_id]
            if outcome == "success":
                payment["approved"] = True
                payment["wallet"] = wallet
            elif payment["status"] == "Initiated" and not payment["approved"]:
                payment["status"] = "Cancelled" if outcome == "cancel" else "Failed"
            callback = payment["callbackURL"]
        query = urlencode(
            {
                "paymentID": payment_id,
                "status": outcome,
                "signature": secrets.token_hex(8),
                "apiVersion": "1.2.0-beta",
            }
        )
        separator = "&" if "?" in callback else "?"
        return BrowserReturn("GET", f"{callback}{separator}{query}")

    # -- legacy TrxID check ---------------------------------------------------------------

    def add_send_money(
        self,
        trx_id: str,
        amount: str,
        *,
        sender: str = "01770618575",
        receiver: str | None = None,
        status: str = "0000",
    ) -> None:
        """A payer sent money to a wallet (the merchant's unless ``receiver``)."""
        with self.lock:
            self.send_money[trx_id] = {
                "trxId": trx_id,
                "trxStatus": status,
                "amount": amount,
                "sender": sender,
                "receiver": receiver or self.credentials.get("merchant_wallet", ""),
                "currency": "BDT",
                "reference": "",
                "trxTimestamp": clock.now().isoformat(),
            }

    @route("GET", r"/dreamwave/merchant/trxcheck/sendmsg")
    def trxcheck(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        query = request.query
        if query.get("user") != self.credentials.get("trxcheck_user") or query.get(
            "pass"
        ) != self.credentials.get("trxcheck_password"):
            return FakeResponse.json({"transaction": {"trxStatus": "1003"}})
        if query.get("msisdn") != self.credentials.get("merchant_wallet"):
            return FakeResponse.json({"transaction": {"trxStatus": "1001"}})
        with self.lock:
            found = self.send_money.get(query.get("trxid", ""))
        if found is None:
            return FakeResponse.json({"transaction": {"trxStatus": "1004"}})
        return FakeResponse.json({"transaction": dict(found)})
