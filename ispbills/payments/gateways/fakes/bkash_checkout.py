"""A fake bKash Checkout (iframe/JS): the merchant API under ``/v1.2.0-beta/checkout/``
(token grant/refresh, ``payment/create``, ``payment/execute/{paymentID}``,
``payment/query/{paymentID}``, ``payment/refund``) with bKash's ``errorCode``/``errorMessage``
answers, and a stand-in for bKash's checkout script (``/scripts/bKash-checkout.js``) whose
``bKash.init`` draws a small "iframe" on the merchant page: the bKash button calls
``createRequest``, Confirm approves the payment here and calls
``executeRequestOnAuthorization``, Close calls ``onClose``.

It checks what bKash checks: the token rules of ``BkashTokens``, the token and ``X-App-Key``
on every call (401 ``{"message": "Unauthorized"}``), the amount format (2065), duplicate
invoice numbers (2029), execute before the payer approved (2056), a second execute (2062),
an approving wallet without balance (2023), one refund per transaction (2074).
"""

from __future__ import annotations

import re
import secrets
from decimal import Decimal
from typing import Any

from ispbills.payments.gateways.fakes import register_fake
from ispbills.payments.gateways.fakes.base import (
    BrowserReturn,
    FakeProvider,
    FakeRequest,
    FakeResponse,
    route,
)
from ispbills.payments.gateways.fakes.bkash import INSUFFICIENT_WALLET, BkashTokens, V, _time

C = V + "/checkout"
DEFAULT_WALLET = "01770618575"

# The stand-in checkout script: what bKash's script does for the merchant page, no more.
SCRIPT = r"""(function () {
  var base = document.currentScript.src.replace(/\/scripts\/bKash-checkout\.js.*$/, "");
  var options = null, paymentID = "", box = null;
  function hide() { if (box) { box.remove(); box = null; } }
  function field(label, name, value) {
    var wrap = document.createElement("label");
    wrap.textContent = label + " ";
    var input = document.createElement("input");
    input.name = name; input.value = value; input.inputMode = "numeric";
    wrap.appendChild(input);
    box.appendChild(wrap);
    return input;
  }
  function show(data) {
    hide();
    box = document.createElement("div");
    box.id = "bkash-fake-iframe";
    box.style.cssText = "position:fixed;inset:10% 5% auto 5%;background:#fff;" +
      "border:2px solid #e2136e;padding:1rem;z-index:9999";
    var title = document.createElement("p");
    title.textContent = "bKash (test): " + (data.amount || "") + " " + (data.currency || "BDT");
    box.appendChild(title);
    var wallet = field("bKash account number", "wallet", "01770618575");
    field("OTP", "otp", "123456");
    field("PIN", "pin", "12121");
    var confirm = document.createElement("button");
    confirm.type = "button"; confirm.id = "bkash-confirm"; confirm.textContent = "Confirm";
    confirm.onclick = function () {
      var body = new URLSearchParams({wallet: wallet.value});
      var approve = base + "/iframe/" + paymentID + "/approve";
      fetch(approve, {method: "POST", mode: "no-cors", body: body}).then(function () {
        options.executeRequestOnAuthorization();
      });
    };
    var close = document.createElement("button");
    close.type = "button"; close.id = "bkash-close"; close.textContent = "Close";
    close.onclick = function () { hide(); options.onClose(); };
    box.appendChild(confirm); box.appendChild(close);
    document.body.appendChild(box);
  }
  window.bKash = {
    init: function (given) {
      options = given;
      var button = document.getElementById("bKash_button");
      if (button) {
        button.addEventListener("click", function () {
          options.createRequest(options.paymentRequest);
        });
      }
    },
    create: function () {
      return {
        onSuccess: function (data) { paymentID = data.paymentID; show(data); },
        onError: function () { hide(); }
      };
    },
    execute: function () { return {onError: function () { hide(); }}; },
    reconfigure: function () {}
  };
})();
"""
JQUERY_STUB = "window.jQuery = window.$ = window.jQuery || function () {};\n"


@register_fake
class FakeBkashCheckout(BkashTokens, FakeProvider):
    """bKash's Checkout (iframe) sandbox, merchant API and checkout script."""

    code = "bkash_checkout"
    name = "bKash Checkout (test)"
    # bKash's published Checkout sandbox demo credentials.
    demo_credentials = {
        "username": "sandboxTestUser",
        "password": "hWD@8vtzw0",
        "app_key": "5tunt4masn6pv2hnvte1sb5n3j",
        "app_secret": "1vggbqd4hqk9g96o9rrrp2jftvek578v7d2bnerim12a87dbrrka",
    }
    base_path = V

    @classmethod
    def account_credentials(cls, root: str) -> dict[str, str]:
        root = root.rstrip("/")
        return {
            **cls.demo_credentials,
            "script_url": f"{root}/scripts/bKash-checkout.js",
            "jquery_url": f"{root}/scripts/jquery.js",
        }

    def __init__(self, credentials: dict[str, str] | None = None) -> None:
        super().__init__(credentials)
        self._init_tokens()
        self.payments: dict[str, dict[str, Any]] = {}
        self.invoices: set[str] = set()

    @staticmethod
    def _refusal(code: str, message: str) -> FakeResponse:
        return FakeResponse.json({"errorCode": code, "errorMessage": message})

    # -- token ----------------------------------------------------------------------------

    @route("POST", C + r"/token/grant")
    def grant(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        return self._grant_answer(request)

    @route("POST", C + r"/token/refresh")
    def refresh(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        return self._refresh_answer(request)

    # -- payments -------------------------------------------------------------------------

    def _answer(self, payment: dict[str, Any]) -> dict[str, Any]:
        answer = {
            "paymentID": payment["paymentID"],
            "createTime": payment["createTime"],
            "updateTime": payment.get("updateTime", payment["createTime"]),
            "transactionStatus": payment["status"],
            "amount": payment["amount"],
            "currency": payment["currency"],
            "intent": payment["intent"],
            "merchantInvoiceNumber": payment["merchantInvoiceNumber"],
        }
        if payment.get("trxID"):
            answer["trxID"] = payment["trxID"]
        return answer

    @route("POST", C + r"/payment/create")
    def create(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if not self._authorised(request):
            return self._unauthorised()
        body = request.json() or {}
        amount = str(body.get("amount", ""))
        invoice = str(body.get("merchantInvoiceNumber", ""))
        if not re.fullmatch(r"\d+(\.\d{1,2})?", amount) or Decimal(amount) <= 0:
            return self._refusal("2065", "Invalid Amount")
        if body.get("intent") not in ("sale", "authorization"):
            return self._refusal("2066", "Invalid Intent")
        if body.get("currency") != "BDT":
            return self._refusal("2064", "Invalid Currency")
        with self.lock:
            if not invoice or invoice in self.invoices or re.search(r"[<>&]", invoice):
                return self._refusal("2029", "Duplicate for all transactions")
            self.invoices.add(invoice)
            payment_id = secrets.token_hex(10).upper()
            payment = {
                "paymentID": payment_id,
                "amount": f"{Decimal(amount):.2f}",
                "currency": "BDT",
                "intent": body["intent"],
                "merchantInvoiceNumber": invoice,
                "status": "Initiated",
                "approved": False,
                "wallet": "",
                "createTime": _time(),
                "refunded": False,
            }
            self.payments[payment_id] = payment
            return FakeResponse.json(
                {**self._answer(payment), "orgLogo": "", "orgName": "ispbills demo ISP"}
            )

    @route("POST", C + r"/payment/execute/(?P<payment_id>\w+)")
    def execute(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if not self._authorised(request):
            return self._unauthorised()
        with self.lock:
            payment = self.payments.get(match["payment_id"])
            if payment is None:
                return self._refusal("2002", "Invalid Payment ID")
            if payment["status"] == "Completed":
                return self._refusal("2062", "The payment has already been completed")
            if not payment["approved"] or payment["status"] != "Initiated":
                return self._refusal("2056", "Invalid Payment State")
            if payment["wallet"] == INSUFFICIENT_WALLET:
                payment["status"] = "Failed"
                payment["updateTime"] = _time()
                return self._refusal("2023", "Insufficient Balance")
            payment["status"] = "Completed"
            payment["trxID"] = secrets.token_hex(5).upper()
            payment["updateTime"] = _time()
            if payment.get("amount_override"):
                payment["amount"] = payment["amount_override"]
            return FakeResponse.json({**self._answer(payment), "customerMsisdn": payment["wallet"]})

    @route("GET", C + r"/payment/query/(?P<payment_id>\w+)")
    def query(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if not self._authorised(request):
            return self._unauthorised()
        with self.lock:
            payment = self.payments.get(match["payment_id"])
            if payment is None:
                return self._refusal("2002", "Invalid Payment ID")
            return FakeResponse.json(self._answer(payment))

    @route("POST", C + r"/payment/refund")
    def refund(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if not self._authorised(request):
            return self._unauthorised()
        body = request.json() or {}
        with self.lock:
            payment = self.payments.get(str(body.get("paymentID", "")))
            if payment is None or payment.get("trxID") != body.get("trxID"):
                return self._refusal("2002", "Invalid Payment ID")
            if payment["status"] != "Completed":
                return self._refusal("2127", "Transaction not yet completed")
            if payment["refunded"]:
                return self._refusal("2074", "Cannot be reversed")
            try:
                amount = Decimal(str(body.get("amount", "")))
            except ArithmeticError:
                amount = Decimal(0)
            if amount <= 0 or amount > Decimal(payment["amount"]):
                return self._refusal("2072", "Invalid refund amount")
            payment["refunded"] = True
            return FakeResponse.json(
                {
                    "completedTime": _time(),
                    "transactionStatus": "Completed",
                    "originalTrxID": payment["trxID"],
                    "refundTrxID": secrets.token_hex(5).upper(),
                    "amount": f"{amount:.2f}",
                    "currency": "BDT",
                    "charge": "0.00",
                }
            )

    # -- the checkout script and its "iframe" ---------------------------------------------

    @route("GET", r"/scripts/bKash-checkout\.js")
    def script(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        return FakeResponse.text(SCRIPT, content_type="application/javascript")

    @route("GET", r"/scripts/jquery\.js")
    def jquery(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        return FakeResponse.text(JQUERY_STUB, content_type="application/javascript")

    @route("POST", r"/iframe/(?P<payment_id>\w+)/approve")
    def approve(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        """The payer confirmed wallet, OTP and PIN in the iframe."""
        wallet = request.form().get("wallet", DEFAULT_WALLET)
        with self.lock:
            payment = self.payments.get(match["payment_id"])
            if payment is None or payment["status"] != "Initiated":
                return FakeResponse.text("no such payment", 404)
            payment["approved"], payment["wallet"] = True, wallet
        return FakeResponse.text("approved")

    def complete(
        self,
        payment_id: str,
        outcome: str = "success",
        *,
        wallet: str = DEFAULT_WALLET,
        amount: Decimal | None = None,
    ) -> BrowserReturn:
        """The payer approves (``success``), approves with a wallet without balance
        (``failure``) or closes the iframe (``cancel``); returns the script callback that
        follows (``url`` names it) with what the merchant's page posts to its backend.
        ``amount``: bKash completes the payment with this amount (a tampered payment)."""
        with self.lock:
            payment = self.payments[payment_id]
            if amount is not None:
                payment["amount_override"] = f"{amount:.2f}"
            if outcome == "cancel":
                return BrowserReturn("POST", "onClose", {"paymentID": payment_id})
            payment["approved"] = True
            payment["wallet"] = INSUFFICIENT_WALLET if outcome == "failure" else wallet
        return BrowserReturn("POST", "executeRequestOnAuthorization", {"paymentID": payment_id})
