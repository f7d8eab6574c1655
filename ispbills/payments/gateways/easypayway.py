"""EasyPayWay: aamarPay's earlier brand, with its form API and the same trxcheck.

The payment request is a form POST of aamarPay's fields to ``payment/request.php``; the
answer is the path of the payment page (a JSON-quoted string such as
``"\\/paynow.php?track=EPW..."``), which is appended to the host. The callbacks and the
trxcheck check (``api/v1/trxcheck/request.php``) are aamarPay's, so the parsing is shared.

Unconfirmed (to check with the provider's onboarding pack): whether these endpoints still
answer or now redirect to aamarPay; the sandbox host; the exact shape of the form API's
answer (a quoted path, read with or without quotes and escaped slashes).
"""

from __future__ import annotations

import json
from typing import Any

from ispbills.payments.gateways import register
from ispbills.payments.gateways.aamarpay import (
    AamarpayGateway,
    AamarpayProtocolError,
    Verification,
    callback_fields,
    parse_trxcheck,
    payment_fields,
    trxcheck_params,
)
from ispbills.payments.gateways.base import GatewayError, PaymentRequest, StartResult

SANDBOX_HOST = "https://sandbox.easypayway.com"
LIVE_HOST = "https://securepay.easypayway.com"
CREATE_PATH = "/payment/request.php"
TRXCHECK_PATH = "/api/v1/trxcheck/request.php"

__all__ = [
    "CREATE_PATH",
    "LIVE_HOST",
    "SANDBOX_HOST",
    "TRXCHECK_PATH",
    "EasypaywayProtocolError",
    "Verification",
    "callback_fields",
    "parse_create",
    "parse_trxcheck",
    "payment_fields",
    "trxcheck_params",
]


class EasypaywayProtocolError(AamarpayProtocolError):
    """An EasyPayWay message could not be built or understood."""


def parse_create(text: str, host: str) -> str:
    """The payment page URL from the form API's answer (a path, maybe JSON-quoted)."""
    raw = text.strip()
    value: Any = raw
    if raw.startswith('"'):
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw.strip('"')
    path = str(value).replace("\\/", "/").strip()
    if not path.startswith("/") or " " in path or "<" in path:
        raise EasypaywayProtocolError(f"the payment request was refused: {raw[:200]}")
    return f"{host.rstrip('/')}{path}"


@register
class EasypaywayGateway(AamarpayGateway):
    """EasyPayWay: aamarPay's form API on EasyPayWay's hosts; callbacks and trxcheck shared."""

    code = "easypayway"
    name = "EasyPayWay"
    sandbox_url = SANDBOX_HOST
    live_url = LIVE_HOST
    currencies = ("BDT",)
    product = "EasyPayWay"
    trxcheck_path = TRXCHECK_PATH
    unconfirmed = (
        "Whether EasyPayWay's endpoints still answer or now redirect to aamarPay (prefer "
        "aamarPay for new accounts).",
        "The sandbox host (sandbox.easypayway.com; epwsandbox.com was also seen).",
        "The form API's answer: a JSON-quoted path of the payment page, appended to the host.",
        *AamarpayGateway.unconfirmed,
    )

    def start(self, request: PaymentRequest) -> StartResult:
        response = self.http.request(
            "payment request", "POST", self.base_url + CREATE_PATH, form=self.fields(request)
        )
        try:
            page = parse_create(response.text, self.base_url)
        except AamarpayProtocolError as exc:
            raise GatewayError(f"EasyPayWay: {exc}") from None
        return self.started(page)
