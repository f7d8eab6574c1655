"""bKash Checkout (iframe/JS), the older bKash product: our own payment page loads bKash's
checkout script, whose ``createRequest`` / ``executeRequestOnAuthorization`` / ``onClose``
post to our browser actions (``/pay/gw/bkash_checkout/action/<name>/``), and those call
bKash server to server.

- ``start()`` opens nothing at bKash: it sends the payer to our page (the framework's
  ``page_url``). The payment is created when the payer presses the bKash button (the
  ``create`` action: ``payment/create`` → the paymentID goes back to the script).
- ``execute`` (the payer approved in bKash's iframe): ``payment/execute/{paymentID}``, once;
  no answer in 30 s, or an "already completed"/transient error, is followed by
  ``payment/query/{paymentID}``, never by a second execute.
- ``cancel`` (the payer closed the iframe): the attempt is cancelled only when
  ``payment/query`` says the payment is not completed.

The token (grant/refresh, shared through the account's state) is bKash's, as in Tokenized
Checkout (``bkash.BkashTokenGateway``), on ``/checkout/token/...``. Errors come back as
``errorCode``/``errorMessage``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ispbills.payments.gateways import register
from ispbills.payments.gateways.base import (
    AttemptInfo,
    BrowserAction,
    Callback,
    CallbackRequest,
    CallbackStatus,
    Confirmation,
    CredentialField,
    GatewayError,
    GatewayTimeout,
    PaymentRequest,
    RefundResult,
    Signature,
    StartResult,
    Verdict,
)
from ispbills.payments.gateways.bkash import (
    ALREADY_DONE,
    NOT_YET,
    TRANSIENT,
    BkashTokenGateway,
    money,
)
from ispbills.payments.gateways.http import json_of

SANDBOX_SCRIPT = (
    "https://scripts.sandbox.bka.sh/versions/1.2.0-beta/checkout/bKash-checkout-sandbox.js"
)
LIVE_SCRIPT = "https://scripts.pay.bka.sh/versions/1.2.0-beta/checkout/bKash-checkout.js"
JQUERY = "https://code.jquery.com/jquery-3.7.1.min.js"


@register
class BkashCheckoutGateway(BkashTokenGateway):
    """bKash Checkout (iframe/JS): bKash's script on our page, create/execute/query here."""

    code = "bkash_checkout"
    name = "bKash Checkout (iframe)"
    credential_fields = (
        CredentialField("username", "Username", secret=False),
        CredentialField("password", "Password"),
        CredentialField("app_key", "App key"),
        CredentialField("app_secret", "App secret"),
        CredentialField(
            "script_url",
            "Checkout script address (blank: bKash's sandbox or live script)",
            secret=False,
            required=False,
        ),
        CredentialField(
            "jquery_url",
            "jQuery address (bKash's script needs jQuery)",
            secret=False,
            required=False,
            default=JQUERY,
        ),
    )
    sandbox_url = "https://checkout.sandbox.bka.sh/v1.2.0-beta"
    live_url = "https://checkout.pay.bka.sh/v1.2.0-beta"
    token_path = "/checkout/token"
    redact_keys = frozenset({"username", "user", "pass"})
    supports_refund = True
    browser_page = "payments/gateways/bkash_checkout.html"
    browser_actions = ("create", "execute", "cancel")
    unconfirmed = (
        "The API version: v1.2.0-beta is used; v1.0.0-beta also appears in older merchant code.",
        "Whether the checkout script still needs jQuery and which version (configurable).",
        "Whether a paymentID whose iframe was closed can be reopened: each attempt creates one "
        "payment; a closed one is cancelled and the payer starts again.",
        "The errorCode values of execute for a refused wallet (2023 insufficient balance is "
        "taken as declined; others as failed) and whether query reports Cancelled/Failed.",
        "Refund through `payment/refund` (one refund per transaction, `sku`/`reason` sent "
        "always) and its window.",
        "How long a created paymentID can be executed (an attempt pending 24 h is expired).",
    )

    # -- calls ----------------------------------------------------------------------------

    def _api(
        self, label: str, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """An authorised call on ``{base}/checkout/<path>``; bKash's errorCode answers are
        returned (the caller maps them), HTTP failures raised."""
        response = self._authorised_request(label, method, f"{self.base_url}/checkout/{path}", body)
        data = json_of(response)
        if response.status_code >= 500:
            raise GatewayTimeout(f"bKash {label}: HTTP {response.status_code}")
        if response.status_code != 200 and not data.get("errorCode"):
            raise GatewayError(
                f"bKash {label}: {data.get('message') or response.status_code}",
                code=str(response.status_code),
            )
        return data

    @staticmethod
    def _error(data: Mapping[str, Any]) -> tuple[str, str]:
        return str(data.get("errorCode") or ""), str(data.get("errorMessage") or "")

    # -- the flow -------------------------------------------------------------------------

    def start(self, request: PaymentRequest) -> StartResult:
        if not request.page_url:
            raise GatewayError("bKash Checkout: no payment page address.")
        return StartResult(redirect_url=request.page_url, data={"product": "checkout"})

    def page_context(self, attempt: AttemptInfo) -> dict[str, Any]:
        script = self.cred("script_url") or (SANDBOX_SCRIPT if self.sandbox else LIVE_SCRIPT)
        return {"script_url": script, "jquery_url": self.cred("jquery_url")}

    def browser_action(
        self, name: str, attempt: AttemptInfo, payload: Mapping[str, Any]
    ) -> BrowserAction:
        if name == "create":
            return self._create(attempt)
        payment_id = str(payload.get("paymentID") or "")
        status = CallbackStatus.SUCCESS if name == "execute" else CallbackStatus.CANCEL
        if name == "execute" and not payment_id:
            raise GatewayError("bKash Checkout: execute names no payment.")
        return BrowserAction(
            callback=Callback(
                status=status,
                signature=Signature.ABSENT,  # the script's word is a hint: bKash confirms
                provider_ref=payment_id,
            )
        )

    def _create(self, attempt: AttemptInfo) -> BrowserAction:
        if attempt.provider_ref:
            # The page asked again (a second click): the payment bKash opened stands.
            return BrowserAction(
                reply={"paymentID": attempt.provider_ref}, provider_ref=attempt.provider_ref
            )
        data = self._api(
            "create",
            "POST",
            "payment/create",
            {
                "amount": f"{attempt.amount:.2f}",
                "currency": attempt.currency,
                "intent": "sale",
                "merchantInvoiceNumber": attempt.merchant_ref,
            },
        )
        code, message = self._error(data)
        if code or not data.get("paymentID"):
            raise GatewayError(f"bKash {code}: {message or 'create refused'}", code=code)
        payment_id = str(data["paymentID"])
        return BrowserAction(
            reply={
                "paymentID": payment_id,
                "amount": str(data.get("amount") or f"{attempt.amount:.2f}"),
                "currency": str(data.get("currency") or attempt.currency),
                "intent": "sale",
                "merchantInvoiceNumber": attempt.merchant_ref,
                "orgName": str(data.get("orgName") or ""),
                "orgLogo": str(data.get("orgLogo") or ""),
            },
            provider_ref=payment_id,
        )

    @classmethod
    def identify(cls, request: CallbackRequest) -> tuple[str, str]:
        # bKash Checkout sends no browser return; a return naming a paymentID is a status check.
        return "", request.param("paymentID")

    def parse_callback(self, request: CallbackRequest) -> Callback:
        return Callback(
            status=CallbackStatus.UNKNOWN,
            signature=Signature.ABSENT,
            provider_ref=request.param("paymentID"),
        )

    def verify(self, attempt: AttemptInfo, callback: Callback) -> Confirmation:
        if not attempt.provider_ref:
            if callback.status == CallbackStatus.CANCEL:
                return Confirmation(Verdict.CANCELLED, message="closed before bKash opened")
            return Confirmation(Verdict.PENDING, message="bKash has not opened the payment")
        if callback.status == CallbackStatus.CANCEL:
            # The iframe was closed: cancelled only if bKash says it did not complete.
            confirmation = self.query(attempt)
            if confirmation.verdict == Verdict.PENDING:
                return Confirmation(
                    Verdict.CANCELLED,
                    provider_ref=confirmation.provider_ref,
                    merchant_ref=confirmation.merchant_ref,
                    message="closed by the payer",
                    data=confirmation.data,
                )
            return confirmation
        if callback.status != CallbackStatus.SUCCESS:
            return self.query(attempt)
        try:
            data = self._api("execute", "POST", f"payment/execute/{attempt.provider_ref}")
        except GatewayTimeout:
            return self.query(attempt)  # no answer in 30 s: bKash says query
        code, message = self._error(data)
        if not code:
            return self._confirmation(data, data.get("merchantInvoiceNumber") or "")
        if code in ALREADY_DONE or code in TRANSIENT or code in NOT_YET:
            return self.query(attempt)
        return Confirmation(
            Verdict.FAILED,
            message=f"bKash {code}: {message}",
            data={"code": code},
        )

    def query(self, attempt: AttemptInfo) -> Confirmation:
        if not attempt.provider_ref:
            return Confirmation(Verdict.PENDING, message="bKash has not opened the payment")
        data = self._api("query", "GET", f"payment/query/{attempt.provider_ref}")
        code, message = self._error(data)
        if code:
            if code in TRANSIENT:
                raise GatewayTimeout(f"bKash query {code}: {message}")
            raise GatewayError(f"bKash query {code}: {message}", code=code)
        return self._confirmation(data, data.get("merchantInvoiceNumber") or "")

    def refund(self, attempt: AttemptInfo, amount: Decimal, reason: str) -> RefundResult:
        data = self._api(
            "refund",
            "POST",
            "payment/refund",
            {
                "paymentID": attempt.provider_ref,
                "trxID": attempt.provider_txn_id,
                "amount": f"{amount:.2f}",
                "sku": "ispbills",
                "reason": (reason or "refund")[:255],
            },
        )
        code, message = self._error(data)
        if code:
            raise GatewayError(f"bKash refund {code}: {message}", code=code)
        return RefundResult(
            refund_id=str(data.get("refundTrxID", "")),
            amount=money(data.get("amount")) or amount,
            completed=data.get("transactionStatus") == "Completed",
            message=f"bKash refund: {data.get('transactionStatus', '')}",
        )

    def check(self) -> str:
        self._token()
        return "bKash accepted the credentials (token granted)."
