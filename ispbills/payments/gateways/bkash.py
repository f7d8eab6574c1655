"""bKash: Tokenized Checkout (create → the payer on bkashURL → execute; query and refund v2),
its token cached in the database as bKash requires, and the legacy "send money" TrxID check.

Token rules (docs/gateways.md, bKash): a granted token lasts an hour; we renew it from the
55th minute with the refresh token (at most two refreshes an hour, bKash blocks the merchant
beyond that), and otherwise grant a new one. The token is shared by every process through the
account's ``state``, changed under its row lock: one process renews while the others wait.

Query discipline: execute once per payment; query only when execute gave no answer (30 s) or
said the payment was already completed (2062/2068/2117/2119): bKash's UAT fails merchants who
query after a successful execute.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from ispbills.core import clock
from ispbills.payments.gateways import register
from ispbills.payments.gateways.base import (
    AttemptInfo,
    Callback,
    CallbackRequest,
    CallbackStatus,
    Confirmation,
    CredentialField,
    GatewayError,
    GatewayTimeout,
    PaymentGateway,
    PaymentRequest,
    RefundResult,
    Signature,
    StartResult,
    Verdict,
)
from ispbills.payments.gateways.http import json_of

TOKEN_LIFETIME = dt.timedelta(hours=1)
RENEW_BEFORE = dt.timedelta(minutes=5)  # renew at the 55th minute
REFRESHES_PER_HOUR = 2
# "Money may have moved": re-query, never fail the invoice on these.
ALREADY_DONE = {"2062", "2068", "2117", "2119"}
# The payment is not in a state to execute (the payer has not approved yet): ask its status.
NOT_YET = {"2056"}
# Transient failures of execute: the outcome is not known, query.
TRANSIENT = {"2003", "2020", "2024", "503"}
LEGACY_TRXCHECK = "https://www.bkashcluster.com:9081/dreamwave/merchant/trxcheck/sendmsg"


def money(value: Any) -> Decimal | None:
    """An amount bKash answered, to two decimals; None when it is not one."""
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


class BkashTokenGateway(PaymentGateway):
    """What bKash's products share (Tokenized Checkout and the older Checkout iframe): the
    token grant/refresh on ``{base}{token_path}/grant|refresh`` and the token kept in the
    account's shared state. Not registered itself."""

    def _confirmation(self, data: Mapping[str, Any], reference: str) -> Confirmation:
        status = str(data.get("transactionStatus", ""))
        common: dict[str, Any] = {
            "provider_ref": str(data.get("paymentID", "")),
            "merchant_ref": str(reference or ""),
            "message": f"bKash: {status}",
            "data": {"transactionStatus": status},
        }
        if status == "Completed":
            return Confirmation(
                Verdict.PAID,
                provider_txn_id=str(data.get("trxID", "")),
                amount=money(data.get("amount")),
                currency=str(data.get("currency", "")),
                **common,
            )
        if status in ("Initiated", "Authorized", ""):
            return Confirmation(Verdict.PENDING, **common)
        if status == "Cancelled":
            return Confirmation(Verdict.CANCELLED, **common)
        if status == "Expired":
            return Confirmation(Verdict.FAILED, **{**common, "data": {"expired": True}})
        return Confirmation(Verdict.FAILED, **common)

    token_path: ClassVar[str] = "/tokenized/checkout/token"

    # -- token ----------------------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        return {
            "username": self.cred("username"),
            "password": self.cred("password"),
            "Accept": "application/json",
        }

    def _grant(self) -> dict[str, Any]:
        response = self.http.request(
            "token grant",
            "POST",
            f"{self.base_url}{self.token_path}/grant",
            json_body={"app_key": self.cred("app_key"), "app_secret": self.cred("app_secret")},
            headers=self._auth_headers(),
        )
        return self._token_answer(response, "grant")

    def _refresh(self, refresh_token: str) -> dict[str, Any]:
        response = self.http.request(
            "token refresh",
            "POST",
            f"{self.base_url}{self.token_path}/refresh",
            json_body={
                "app_key": self.cred("app_key"),
                "app_secret": self.cred("app_secret"),
                "refresh_token": refresh_token,
            },
            headers=self._auth_headers(),
        )
        return self._token_answer(response, "refresh")

    def _token_answer(self, response: Any, how: str) -> dict[str, Any]:
        data = json_of(response)
        token = data.get("id_token")
        # Tokenized answers statusCode/statusMessage, Checkout errorCode/errorMessage.
        code = str(data.get("statusCode") or data.get("errorCode") or "0000")
        if response.status_code != 200 or code != "0000" or not token:
            raise GatewayError(
                f"bKash token {how}: "
                + str(
                    data.get("statusMessage")
                    or data.get("errorMessage")
                    or data.get("message")
                    or response.status_code
                ),
                code=code if code != "0000" else str(response.status_code),
            )
        self.http.add_secrets([token, data.get("refresh_token") or ""])
        lifetime = int(data.get("expires_in") or TOKEN_LIFETIME.total_seconds())
        return {
            "id_token": token,
            "refresh_token": data.get("refresh_token") or "",
            "expires_at": (clock.now() + dt.timedelta(seconds=lifetime)).isoformat(),
        }

    def _token(self, *, force: bool = False) -> str:
        """The shared token, renewed under the account lock when it is near its end."""
        now = clock.now()

        def fresh(state: dict[str, Any]) -> bool:
            expires = str(state.get("expires_at") or "")
            if not state.get("id_token") or not expires:
                return False
            return dt.datetime.fromisoformat(expires) - RENEW_BEFORE > now

        state = self.state.read()
        if fresh(state) and not force:
            self.http.add_secrets([state["id_token"]])
            return str(state["id_token"])
        seen = state.get("id_token")

        def renew(current: dict[str, Any]) -> dict[str, Any] | None:
            if fresh(current) and (not force or current.get("id_token") != seen):
                return None  # another process renewed it while we waited for the lock
            hour_ago = now - dt.timedelta(hours=1)
            refreshes = [
                at
                for at in current.get("refreshes", [])
                if dt.datetime.fromisoformat(at) > hour_ago
            ]
            answer: dict[str, Any] | None = None
            if current.get("refresh_token") and len(refreshes) < REFRESHES_PER_HOUR:
                try:
                    answer = self._refresh(current["refresh_token"])
                    refreshes.append(now.isoformat())
                except GatewayError:
                    answer = None  # an expired refresh token: grant anew
            if answer is None:
                answer = self._grant()
                answer["granted_at"] = now.isoformat()
            return {**answer, "refreshes": refreshes}

        state = self.state.update(renew)
        self.http.add_secrets([state["id_token"], state.get("refresh_token", "")])
        return str(state["id_token"])

    def _authorised_request(
        self, label: str, method: str, url: str, json_body: dict[str, Any] | None = None
    ) -> Any:
        """A call with the token and app key; a token bKash no longer accepts (401) is
        renewed once and the call repeated (safe for execute too: a 401 means the gateway
        refused it before looking at the payment)."""
        response = None
        for attempt in range(2):
            response = self.http.request(
                label,
                method,
                url,
                json_body=json_body,
                headers={
                    "Authorization": self._token(force=attempt > 0),
                    "X-App-Key": self.cred("app_key"),
                    "Accept": "application/json",
                },
            )
            if response.status_code != 401:
                break
        return response


@register
class BkashGateway(BkashTokenGateway):
    """bKash Tokenized Checkout ("Checkout URL", mode 0011) and the legacy TrxID check."""

    code = "bkash"
    name = "bKash"
    credential_fields = (
        CredentialField("username", "Username", secret=False),
        CredentialField("password", "Password"),
        CredentialField("app_key", "App key"),
        CredentialField("app_secret", "App secret"),
        CredentialField(
            "merchant_wallet",
            "Merchant wallet number (for send-money TrxID checks)",
            secret=False,
            required=False,
        ),
        CredentialField("trxcheck_user", "TrxID check user (legacy)", secret=False, required=False),
        CredentialField("trxcheck_password", "TrxID check password (legacy)", required=False),
        CredentialField(
            "trxcheck_url",
            "TrxID check address (legacy)",
            secret=False,
            required=False,
            default=LEGACY_TRXCHECK,
        ),
    )
    sandbox_url = "https://tokenized.sandbox.bka.sh/v1.2.0-beta"
    live_url = "https://tokenized.pay.bka.sh/v1.2.0-beta"
    redact_keys = frozenset({"username", "user", "pass", "trxcheck_password"})
    supports_refund = True
    unconfirmed = (
        "The callback's `signature` parameter: bKash publishes no way to verify it, so it is "
        "ignored and every callback is confirmed by execute/query.",
        "`general/searchTransaction` on the tokenized product (one sandbox-tested source says "
        "only Checkout has search): not used.",
        "Refund window (60 days per a sandbox-tested source, 15 days per bKash's plugin) and "
        "whether `sku`/`reason` are required (sent always).",
        "How long a created paymentID can be executed (documented 24 h; the live page session "
        "is shorter): an attempt pending for 24 h is expired.",
        "Transaction statuses other than Initiated/Completed/Authorized in payment/status "
        "(Cancelled, Failed, Expired are mapped to failed).",
        "Whether the legacy trxcheck (bkashcluster.com:9081) still answers, and its JSON shape "
        "(`transaction.trxStatus`, `amount`, `receiver`).",
    )

    def _call(self, label: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """An authorised call (see ``_authorised_request``), its errors raised."""
        response = self._authorised_request(label, "POST", f"{self.base_url}{path}", body)
        data = json_of(response)
        if response.status_code >= 500:
            raise GatewayTimeout(f"bKash {label}: HTTP {response.status_code}")
        if response.status_code != 200:
            raise GatewayError(
                f"bKash {label}: {data.get('message') or response.status_code}",
                code=str(response.status_code),
            )
        return data

    # -- the flow -------------------------------------------------------------------------

    def start(self, request: PaymentRequest) -> StartResult:
        data = self._call(
            "create",
            "/tokenized/checkout/create",
            {
                "mode": "0011",
                "payerReference": request.customer_phone or request.merchant_ref,
                "callbackURL": request.callback_url,
                "amount": f"{request.amount:.2f}",
                "currency": request.currency,
                "intent": "sale",
                "merchantInvoiceNumber": request.merchant_ref,
            },
        )
        if data.get("statusCode") != "0000" or not data.get("bkashURL"):
            raise GatewayError(
                f"bKash: {data.get('statusMessage') or 'create refused'}",
                code=str(data.get("statusCode", "")),
            )
        return StartResult(
            provider_ref=str(data["paymentID"]),
            redirect_url=str(data["bkashURL"]),
            data={"product": "tokenized"},
        )

    @classmethod
    def identify(cls, request: CallbackRequest) -> tuple[str, str]:
        return "", request.param("paymentID")

    def parse_callback(self, request: CallbackRequest) -> Callback:
        status = {
            "success": CallbackStatus.SUCCESS,
            "failure": CallbackStatus.FAILURE,
            "cancel": CallbackStatus.CANCEL,
        }.get(request.param("status").lower(), CallbackStatus.UNKNOWN)
        return Callback(
            status=status,
            signature=Signature.ABSENT,  # bKash's `signature` parameter cannot be verified
            provider_ref=request.param("paymentID"),
        )

    def verify(self, attempt: AttemptInfo, callback: Callback) -> Confirmation:
        if callback.status == CallbackStatus.CANCEL:
            # Nothing moves before execute, and we do not execute a cancelled payment.
            return Confirmation(Verdict.CANCELLED, message="cancelled by the payer")
        if callback.status != CallbackStatus.SUCCESS:
            return Confirmation(Verdict.FAILED, message=f"bKash callback: {callback.status}")
        try:
            data = self._call(
                "execute", "/tokenized/checkout/execute", {"paymentID": attempt.provider_ref}
            )
        except GatewayTimeout:
            return self.query(attempt)  # no answer in 30 s: bKash says query
        code = str(data.get("statusCode", ""))
        if code == "0000":
            return self._confirmation(data, data.get("merchantInvoiceNumber", ""))
        if code in ALREADY_DONE or code in TRANSIENT or code in NOT_YET:
            return self.query(attempt)
        return Confirmation(
            Verdict.FAILED,
            message=f"bKash {code}: {data.get('statusMessage', '')}",
            data={"code": code},
        )

    def query(self, attempt: AttemptInfo) -> Confirmation:
        data = self._call(
            "query", "/tokenized/checkout/payment/status", {"paymentID": attempt.provider_ref}
        )
        code = str(data.get("statusCode", ""))
        if code and code != "0000":
            if code in TRANSIENT:
                raise GatewayTimeout(f"bKash query {code}: {data.get('statusMessage', '')}")
            raise GatewayError(f"bKash query {code}: {data.get('statusMessage', '')}", code=code)
        # The status answer names our reference merchantInvoice, not merchantInvoiceNumber.
        return self._confirmation(data, data.get("merchantInvoice", ""))

    def refund(self, attempt: AttemptInfo, amount: Decimal, reason: str) -> RefundResult:
        # Refund v2 hangs off the host root, not off /v1.2.0-beta.
        root = self.base_url.rsplit("/v1.2.0-beta", 1)[0]
        for retry in range(2):
            response = self.http.request(
                "refund",
                "POST",
                f"{root}/v2/tokenized-checkout/refund/payment/transaction",
                json_body={
                    "paymentId": attempt.provider_ref,
                    "trxId": attempt.provider_txn_id,
                    "refundAmount": f"{amount:.2f}",
                    "sku": "ispbills",
                    "reason": (reason or "refund")[:255],
                },
                headers={
                    "Authorization": self._token(force=retry > 0),
                    "X-App-Key": self.cred("app_key"),
                },
            )
            if response.status_code == 401 and retry == 0:
                continue
            data = json_of(response)
            if response.status_code != 200:
                raise GatewayError(
                    f"bKash refund: {data.get('errorMessageEn') or data.get('message')}",
                    code=str(data.get("internalCode") or response.status_code),
                )
            return RefundResult(
                refund_id=str(data.get("refundTrxId", "")),
                amount=money(data.get("refundAmount")) or amount,
                completed=data.get("refundTransactionStatus") == "Completed",
                message=str(data.get("refundTransactionStatus", "")),
            )
        raise GatewayError("bKash refund: the token was refused.")  # pragma: no cover

    def check(self) -> str:
        self._token()
        return "bKash accepted the credentials (token granted)."

    # -- legacy "send money" TrxID check ------------------------------------------------------

    def check_send_money(self, trx_id: str) -> Confirmation:
        """The pre-PGW check of a TrxID a payer typed after sending money to the merchant
        wallet: paid (with the amount bKash reports) when it reached our wallet."""
        if not (self.cred("trxcheck_user") and self.cred("trxcheck_password")):
            raise GatewayError("bKash TrxID checks are not set up for this account.")
        response = self.http.request(
            "trxcheck",
            "GET",
            self.cred("trxcheck_url"),
            params={
                "user": self.cred("trxcheck_user"),
                "pass": self.cred("trxcheck_password"),
                "msisdn": self.cred("merchant_wallet"),
                "trxid": trx_id,
            },
        )
        data = json_of(response)
        found = data.get("transaction")
        transaction: dict[str, Any] = found if isinstance(found, dict) else {}
        status = str(transaction.get("trxStatus", ""))
        if status == "0000":
            receiver = str(transaction.get("receiver", ""))
            wallet = self.cred("merchant_wallet")
            if wallet and receiver and receiver[-10:] != wallet[-10:]:
                return Confirmation(
                    Verdict.FAILED, message="bKash: the money went to another wallet"
                )
            return Confirmation(
                Verdict.PAID,
                provider_txn_id=str(transaction.get("trxId") or trx_id),
                amount=money(transaction.get("amount")),
                currency=str(transaction.get("currency") or "BDT"),
                message=f"bKash send money from {transaction.get('sender', '')}",
                data={"sender": str(transaction.get("sender", ""))},
            )
        if status in ("0010", "0011"):
            return Confirmation(Verdict.PENDING, message="bKash: the transfer is pending")
        if status in ("1003", "9999") or not status:
            raise GatewayError(f"bKash TrxID check {status or response.status_code}", code=status)
        return Confirmation(Verdict.FAILED, message=f"bKash TrxID check {status}")
