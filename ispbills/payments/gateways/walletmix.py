"""WalletMix: check-server, the payment request, the callback and check-payment.

No official API document is public; this follows the one sample library every published
integration derives from. ``GET check-server`` names the server to use (``url``) and the
customer-facing ``bank_payment_url``; the payment request is a form POST to ``url`` whose
``statusCode`` ``"1000"`` answer carries a ``token``; the customer goes to
``bank_payment_url/<token>``; the callback is a form POST of ``merchant_txn_data`` (a JSON
string with the token), unsigned; ``POST check-payment`` (form: wmx_id, authorization,
access_app_key, token) is the check: paid when ``wmx_id`` is ours, ``txn_status`` is
``"1000"``, ``merchant_order_id`` is our reference and ``merchant_amount_bdt`` our amount.
``authorization`` is ``"Basic " + base64(username:password)`` sent as a *form field*.

Everything here is unconfirmed (to check with the provider's onboarding pack), notably the
``product_desc`` format, the ``options`` value and whether check-payment also wants the amount.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.utils.translation import gettext_lazy as _

from ispbills.payments.gateways import register
from ispbills.payments.gateways.base import (
    AttemptInfo,
    Callback,
    CallbackRequest,
    CallbackStatus,
    Confirmation,
    CredentialField,
    GatewayError,
    PaymentGateway,
    PaymentRequest,
    Signature,
    StartResult,
    Verdict,
    format_amount,
)
from ispbills.payments.gateways.base import (
    parse_amount as base_parse_amount,
)

SANDBOX_HOST = "https://sandbox.walletmix.com"
LIVE_HOST = "https://epay.walletmix.com"
CHECK_SERVER_PATH = "/check-server"
CHECK_PAYMENT_PATH = "/check-payment"
OK = "1000"
UNAUTHORISED = "1001"  # the sample library's "unauthorized request"
CURRENCY = "BDT"


class WalletmixProtocolError(ValueError):
    """A WalletMix message could not be built or understood."""


def parse_amount(value: Any) -> Decimal | None:
    return base_parse_amount(value, WalletmixProtocolError)


def authorization(username: str, password: str) -> str:
    """The service-access credentials as WalletMix wants them, in a form field."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def options(site_host: str, server_ip: str) -> str:
    return base64.b64encode(f"s={site_host},i={server_ip}".encode()).decode()


@dataclass(frozen=True)
class Server:
    init_url: str
    bank_payment_url: str


def parse_check_server(body: Any) -> Server:
    if not isinstance(body, dict) or not body.get("url") or not body.get("bank_payment_url"):
        raise WalletmixProtocolError("check-server answered without url and bank_payment_url")
    return Server(str(body["url"]), str(body["bank_payment_url"]))


def payment_fields(
    *,
    wmx_id: str,
    app_name: str,
    access_app_key: str,
    username: str,
    password: str,
    site_host: str,
    server_ip: str,
    callback_url: str,
    order_id: str,
    amount: Decimal,
    description: str,
    customer: dict[str, str],
) -> dict[str, str]:
    """The form POSTed to the server check-server named."""
    price = format_amount(amount)
    return {
        "wmx_id": wmx_id,
        "app_name": app_name,
        "access_app_key": access_app_key,
        "authorization": authorization(username, password),
        "options": options(site_host, server_ip),
        "callback_url": callback_url,
        "currency": CURRENCY,
        "merchant_order_id": order_id,
        "merchant_ref_id": order_id,
        "amount": price,
        "cart_info": f"{wmx_id},{site_host},{app_name}",
        "product_desc": f"{{1x{{{description}}}[{price}]}}+{{shipping rate:0}}-{{discount:0}}",
        "customer_name": customer.get("name") or "Customer",
        "customer_email": customer.get("email") or "",
        "customer_add": customer.get("address") or "",
        "customer_phone": customer.get("phone") or "",
        "extra_json": json.dumps({"order_id": order_id}),
    }


def parse_payment_request(body: Any) -> str:
    """The token of an accepted payment request."""
    if isinstance(body, dict) and str(body.get("statusCode")) == OK and body.get("token"):
        return str(body["token"])
    message = body.get("statusMsg") or body.get("message") if isinstance(body, dict) else body
    raise WalletmixProtocolError(str(message or "the payment request was refused")[:200])


def payment_page(bank_payment_url: str, token: str) -> str:
    return f"{bank_payment_url.rstrip('/')}/{token}"


def callback_token(form: dict[str, str]) -> str:
    """The token in the callback's ``merchant_txn_data`` (a hint, never proof)."""
    try:
        data = json.loads(form.get("merchant_txn_data") or "")
    except ValueError:
        return ""
    return str(data.get("token") or "") if isinstance(data, dict) else ""


def check_payment_fields(
    *, wmx_id: str, access_app_key: str, username: str, password: str, token: str
) -> dict[str, str]:
    return {
        "wmx_id": wmx_id,
        "authorization": authorization(username, password),
        "access_app_key": access_app_key,
        "token": token,
    }


@dataclass(frozen=True)
class Verification:
    """WalletMix's own record of a payment, from check-payment."""

    wmx_id: str
    txn_status: str
    order_id: str
    amount: Decimal | None
    ref_id: str
    raw: dict[str, Any]
    currency: str = CURRENCY

    @property
    def paid(self) -> bool:
        return self.txn_status == OK

    @property
    def failed(self) -> bool:
        # The published samples name no failure codes, only success: anything else stays
        # pending until the attempt expires, rather than closing a payment still in progress.
        return False


def parse_check_payment(body: Any) -> Verification:
    if not isinstance(body, dict) or "txn_status" not in body:
        message = body.get("statusMsg") if isinstance(body, dict) else body
        raise WalletmixProtocolError(str(message or "check-payment answered no txn_status"))
    return Verification(
        wmx_id=str(body.get("wmx_id") or ""),
        txn_status=str(body.get("txn_status") or ""),
        order_id=str(body.get("merchant_order_id") or ""),
        amount=parse_amount(body.get("merchant_amount_bdt")),
        ref_id=str(body.get("ref_id") or ""),
        raw=body,
    )


# -- the adapter ----------------------------------------------------------------------------


@register
class WalletmixGateway(PaymentGateway):
    """WalletMix: check-server, the payment request, the bank page, check-payment."""

    code = "walletmix"
    name = "WalletMix"
    sandbox_url = SANDBOX_HOST
    live_url = LIVE_HOST
    currencies = ("BDT",)
    credential_fields = (
        CredentialField("wmx_id", "Merchant id (wmx_id)", secret=False),
        CredentialField("app_name", "App name", secret=False),
        CredentialField("access_app_key", "Access app key"),
        CredentialField("username", "Service access username", secret=False),
        CredentialField("password", "Service access password"),
        CredentialField(
            "server_ip",
            "Server IP address",
            secret=False,
            required=False,
            default="127.0.0.1",
            help_text="This server's public address, as registered with WalletMix.",
        ),
    )
    redact_keys = frozenset({"access_app_key", "authorization"})
    unconfirmed = (
        "The whole protocol: no official document is public; it follows the sample library "
        "every published integration derives from.",
        "`product_desc` and `options` formats, and whether check-payment also wants the amount.",
        "Status codes other than 1000 (success): any other leaves the attempt pending until "
        "it expires, since no failure code is published.",
        "Refunds and IPN: none published.",
    )

    def _form(self, label: str, url: str, form: dict[str, str]) -> Any:
        response = self.http.request(label, "POST", url, form=form)
        return _json(response)

    def start(self, request: PaymentRequest) -> StartResult:
        response = self.http.request("check-server", "GET", self.base_url + CHECK_SERVER_PATH)
        try:
            server = parse_check_server(_json(response))
        except WalletmixProtocolError as exc:
            raise GatewayError(f"WalletMix: {exc}") from None
        site_host = urlsplit(request.callback_url).hostname or "localhost"
        form = payment_fields(
            wmx_id=self.cred("wmx_id"),
            app_name=self.cred("app_name"),
            access_app_key=self.cred("access_app_key"),
            username=self.cred("username"),
            password=self.cred("password"),
            site_host=site_host,
            server_ip=self.cred("server_ip") or "127.0.0.1",
            callback_url=request.callback_url,
            order_id=request.merchant_ref,
            amount=request.amount,
            description=request.description or "Payment",
            customer={
                "name": request.customer_name,
                "phone": request.customer_phone,
                "email": request.customer_email,
                "address": request.customer_address,
            },
        )
        try:
            token = parse_payment_request(self._form("payment request", server.init_url, form))
        except WalletmixProtocolError as exc:
            raise GatewayError(f"WalletMix: {exc}") from None
        return StartResult(
            provider_ref=token,
            redirect_url=payment_page(server.bank_payment_url, token),
            data={"token": token},
        )

    @classmethod
    def identify(cls, request: CallbackRequest) -> tuple[str, str]:
        data = _txn_data(request)
        return str(data.get("merchant_order_id") or ""), str(data.get("token") or "")

    def parse_callback(self, request: CallbackRequest) -> Callback:
        token = callback_token(request.form)
        data = _txn_data(request)
        status = str(data.get("txn_status") or "")
        return Callback(
            status=(CallbackStatus.SUCCESS if status == OK else CallbackStatus.FAILURE)
            if status
            else CallbackStatus.UNKNOWN,
            signature=Signature.ABSENT,
            merchant_ref=str(data.get("merchant_order_id") or ""),
            provider_ref=token,
            data={"txn_status": status},
        )

    def query(self, attempt: AttemptInfo) -> Confirmation:
        token = attempt.provider_ref or str(attempt.data.get("token") or "")
        if not token:
            return Confirmation(Verdict.UNKNOWN, message="WalletMix gave no token.")
        form = check_payment_fields(
            wmx_id=self.cred("wmx_id"),
            access_app_key=self.cred("access_app_key"),
            username=self.cred("username"),
            password=self.cred("password"),
            token=token,
        )
        try:
            result = parse_check_payment(
                self._form("check-payment", self.base_url + CHECK_PAYMENT_PATH, form)
            )
        except WalletmixProtocolError as exc:
            raise GatewayError(f"WalletMix: {exc}") from None
        if result.wmx_id and result.wmx_id != self.cred("wmx_id"):
            return Confirmation(Verdict.UNKNOWN, message="The answer is for another merchant.")
        verdict = Verdict.PAID if result.paid else Verdict.PENDING
        return Confirmation(
            verdict=verdict,
            provider_txn_id=(result.ref_id or token) if verdict is Verdict.PAID else "",
            amount=result.amount,
            currency=result.currency,
            merchant_ref=result.order_id,
            provider_ref=token,
            message=result.txn_status,
            data={"payment_method": str(result.raw.get("payment_method") or "")},
        )

    def check(self) -> str:
        response = self.http.request("check", "GET", self.base_url + CHECK_SERVER_PATH)
        try:
            parse_check_server(_json(response))
        except WalletmixProtocolError as exc:
            raise GatewayError(f"WalletMix: {exc}") from None
        # A check-payment for no token: refused credentials answer an error of their own.
        form = check_payment_fields(
            wmx_id=self.cred("wmx_id"),
            access_app_key=self.cred("access_app_key"),
            username=self.cred("username"),
            password=self.cred("password"),
            token="0",
        )
        body = self._form("check", self.base_url + CHECK_PAYMENT_PATH, form)
        if isinstance(body, dict) and str(body.get("statusCode")) == UNAUTHORISED:
            raise GatewayError(f"WalletMix: {body.get('statusMsg') or 'credentials refused'}")
        return str(_("WalletMix accepted the credentials."))


def _txn_data(request: CallbackRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.form.get("merchant_txn_data") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise GatewayError(f"WalletMix: HTTP {response.status_code}, not JSON.") from None
