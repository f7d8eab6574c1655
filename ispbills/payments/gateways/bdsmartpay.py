"""BdSmartPay: the encrypted redirect, the encrypted callback and query_payment.

The only published integration builds a query string (``gateway=bdsmartpay&service_name=…
&amount=&order_id=&merchant_id=&mobile=&email=&user_ref=&redirect_url=<callback>?``),
encrypts it with AES-128-CBC under the merchant secret (PHP ``openssl_encrypt`` with a
string key: base64 output, PKCS#7 padding, the key cut or NUL-padded to 16 bytes), base64s
that again, and sends the browser to ``/gateway/pro/<value>``. It draws a random IV and never
sends it, so whoever decrypts gets the first 16-byte block garbled and everything after it
intact; the plaintext starts with ``gateway=bdsmartp`` (exactly one block), which is what
makes that work. We build every encrypted value the same way (a disposable first block) and
decrypt by dropping the first block. BdSmartPay sends the payer back to ``redirect_url`` with
its encrypted answer appended (encrypted under a second secret): a hint only. Our
``redirect_url`` is our return address with ``?ref=<our reference>&`` (URL-encoded in the
request), so the answer arrives as a later query key and the attempt is found without
decrypting. The check is ``GET /gateway/query_payment/<encrypted service_name, order_id,
merchant_id>``, answering JSON in ``[...]`` with ``transaction_status``: paid when it is
``Successful`` for our order id and amount.

The whole scheme is unconfirmed (to check with the provider's onboarding pack): the IV
handling, the second callback secret, the fields of the query plaintext and of its answer
(we require ``amount`` and the order id in it and do not mark a payment paid without them).
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
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

LIVE_HOST = "https://bdsmartpay.com"
PAY_PATH = "/gateway/pro/"
QUERY_PATH = "/gateway/query_payment/"
BLOCK = 16
MARKER = "gateway=bdsmartpay"
SUCCESSFUL = "Successful"
FAILED_STATUSES = frozenset({"Failed", "Cancelled", "Canceled", "Rejected"})
CURRENCY = "BDT"
REF_LENGTH = 20  # our merchant references: "IB" + yymmdd + 12 hex


def with_query(url: str, **params: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode(params)}"


class BdsmartpayProtocolError(ValueError):
    """A BdSmartPay message could not be built, decrypted or understood."""


def parse_amount(value: Any) -> Decimal | None:
    return base_parse_amount(value, BdsmartpayProtocolError)


def php_key(secret: str) -> bytes:
    """The AES-128 key PHP derives from a string secret: cut or NUL-padded to 16 bytes."""
    return secret.encode()[:BLOCK].ljust(BLOCK, b"\0")


def encrypt(plaintext: str, secret: str, iv: bytes | None = None) -> str:
    """base64(base64(AES-128-CBC(plaintext))) with an IV that is not sent."""
    padder = sym_padding.PKCS7(128).padder()
    data = padder.update(plaintext.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(php_key(secret)), modes.CBC(iv or secrets.token_bytes(BLOCK)))
    sealed = encryptor.encryptor()
    inner = base64.b64encode(sealed.update(data) + sealed.finalize())
    return base64.b64encode(inner).decode()


def decrypt(value: str, secret: str) -> str:
    """The plaintext after its first block (the one the unsent IV garbles)."""
    try:
        raw = base64.b64decode(base64.b64decode(value + "=" * (-len(value) % 4)))
    except ValueError:
        raise BdsmartpayProtocolError("the value is not base64") from None
    if len(raw) < 2 * BLOCK or len(raw) % BLOCK:
        raise BdsmartpayProtocolError("the value is not an AES-128-CBC ciphertext")
    decryptor = Cipher(algorithms.AES(php_key(secret)), modes.CBC(bytes(BLOCK))).decryptor()
    data = decryptor.update(raw) + decryptor.finalize()
    unpadder = sym_padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(data) + unpadder.finalize()
        return plain[BLOCK:].decode()
    except ValueError:
        raise BdsmartpayProtocolError("the value was not encrypted with this secret") from None


def fields_after_marker(text: str) -> dict[str, str]:
    """Key/value pairs of a decrypted query string (the marker's tail, "ay", is dropped)."""
    return {k: v for k, v in parse_qsl(text, keep_blank_values=True) if k != MARKER[BLOCK:]}


def payment_plaintext(
    *,
    service_name: str,
    amount: Decimal,
    order_id: str,
    merchant_id: str,
    mobile: str,
    email: str,
    user_ref: str,
    redirect_url: str,
) -> str:
    """The query string that is encrypted for the payment page (order as published)."""
    fields = {
        "service_name": service_name,
        "amount": format_amount(amount),
        "order_id": order_id,
        "merchant_id": merchant_id,
        "mobile": mobile,
        "email": email,
        "user_ref": user_ref,
    }
    # redirect_url goes last; BdSmartPay appends its encrypted answer to it as it is.
    return f"{MARKER}&{urlencode({**fields, 'redirect_url': redirect_url})}"


def payment_url(host: str, plaintext: str, secret: str) -> str:
    return f"{host.rstrip('/')}{PAY_PATH}{quote(encrypt(plaintext, secret), safe='')}"


def query_plaintext(*, service_name: str, order_id: str, merchant_id: str) -> str:
    fields = {"service_name": service_name, "order_id": order_id, "merchant_id": merchant_id}
    return f"{MARKER}&{urlencode(fields)}"


def query_url(host: str, plaintext: str, secret: str) -> str:
    return f"{host.rstrip('/')}{QUERY_PATH}{quote(encrypt(plaintext, secret), safe='')}"


def callback_fields(query_string: str, callback_secret: str) -> dict[str, str]:
    """The callback's decrypted fields (its first query key is the blob); empty if unreadable."""
    first = query_string.split("&", 1)[0].rstrip("=")
    if not first:
        return {}
    try:
        return fields_after_marker(decrypt(unquote(first), callback_secret))
    except BdsmartpayProtocolError:
        return {}


@dataclass(frozen=True)
class Verification:
    """BdSmartPay's own record of an order, from query_payment."""

    status: str
    order_id: str
    amount: Decimal | None
    transaction_id: str
    raw: dict[str, Any]
    currency: str = CURRENCY

    @property
    def paid(self) -> bool:
        return self.status == SUCCESSFUL

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


def parse_query(text: str) -> Verification:
    """query_payment's answer: JSON (usually wrapped in ``[...]``)."""
    try:
        body: Any = json.loads(text)
    except ValueError:
        raise BdsmartpayProtocolError("query_payment did not answer JSON") from None
    if isinstance(body, list):
        body = body[0] if len(body) == 1 else None
    if not isinstance(body, dict) or not body.get("transaction_status"):
        raise BdsmartpayProtocolError("query_payment answered no transaction_status")
    return Verification(
        status=str(body["transaction_status"]),
        order_id=str(body.get("merchant_order_id") or body.get("order_id") or ""),
        amount=parse_amount(body.get("amount")),
        transaction_id=str(body.get("transaction_id") or body.get("trx_id") or ""),
        raw=body,
    )


# -- the adapter ----------------------------------------------------------------------------


@register
class BdsmartpayGateway(PaymentGateway):
    """BdSmartPay: the encrypted redirect, the encrypted callback, query_payment."""

    code = "bdsmartpay"
    name = "BdSmartPay"
    sandbox_url = LIVE_HOST  # no separate sandbox is published
    live_url = LIVE_HOST
    currencies = ("BDT",)
    credential_fields = (
        CredentialField("merchant_id", "Merchant username", secret=False),
        CredentialField(
            "service_name", "Service name", secret=False, help_text="Your company name."
        ),
        CredentialField("secret", "Encryption secret"),
        CredentialField(
            "callback_secret",
            "Callback secret",
            required=False,
            help_text="The secret BdSmartPay encrypts its callback with, if not the same.",
        ),
    )
    unconfirmed = (
        "The whole scheme: one published integration only. AES-128-CBC under the merchant "
        "secret with a random IV that is never sent (the first block, `gateway=bdsmartp`, "
        "is disposable); the callback encrypted under a second secret.",
        "The query plaintext (`gateway=bdsmartpay&service_name=&order_id=&merchant_id=`) and "
        "the fields of its answer: `amount` and the order id are required before a payment "
        "counts as paid.",
        "Our return address rides URL-encoded in the request (`redirect_url=`…`%3Fref%3D…%26`) "
        "so our reference comes back in it; the published integration sends it raw.",
        "Refunds and IPN: none published.",
    )

    def start(self, request: PaymentRequest) -> StartResult:
        plain = payment_plaintext(
            service_name=self.cred("service_name"),
            amount=request.amount,
            order_id=request.merchant_ref,
            merchant_id=self.cred("merchant_id"),
            mobile=request.customer_phone,
            email=request.customer_email,
            user_ref=request.merchant_ref,
            redirect_url=with_query(request.callback_url, ref=request.merchant_ref) + "&",
        )
        # No call: the payer's browser carries the encrypted request to BdSmartPay.
        return StartResult(
            redirect_url=payment_url(self.base_url, plain, self.cred("secret")),
            data={"order_id": request.merchant_ref},
        )

    @classmethod
    def identify(cls, request: CallbackRequest) -> tuple[str, str]:
        # Our reference rides in our own return URL (the answer is encrypted under a secret
        # this lookup does not have); references are 20 characters, so a blob glued onto
        # the value by a gateway that drops the "&" is cut off.
        return request.query.get("ref", "")[:REF_LENGTH], ""

    def parse_callback(self, request: CallbackRequest) -> Callback:
        secret = self.cred("callback_secret") or self.cred("secret")
        fields: dict[str, str] = {}
        for key, value in request.query.items():
            # The blob arrives as raw base64 appended to our URL: a query parser turns its
            # "+" into spaces and splits its "=" padding off as a value; put both back.
            candidate = (key + (f"={value}" if value else "")).replace(" ", "+")
            fields = callback_fields(candidate, secret)
            if fields:
                break
        status = fields.get("transaction_status", "")
        if status == SUCCESSFUL:
            claimed = CallbackStatus.SUCCESS
        elif status in {"Cancelled", "Canceled"}:
            claimed = CallbackStatus.CANCEL
        elif status:
            claimed = CallbackStatus.FAILURE
        else:
            claimed = CallbackStatus.UNKNOWN
        return Callback(
            status=claimed,
            signature=Signature.ABSENT,
            merchant_ref=fields.get("merchant_order_id")
            or request.query.get("ref", "")[:REF_LENGTH],
            data={"transaction_status": status} if status else {},
        )

    def query(self, attempt: AttemptInfo) -> Confirmation:
        plain = query_plaintext(
            service_name=self.cred("service_name"),
            order_id=attempt.merchant_ref,
            merchant_id=self.cred("merchant_id"),
        )
        response = self.http.request(
            "query_payment", "GET", query_url(self.base_url, plain, self.cred("secret"))
        )
        if response.status_code >= 400:
            raise GatewayError(f"BdSmartPay: HTTP {response.status_code}.")
        try:
            result = parse_query(response.text)
        except BdsmartpayProtocolError as exc:
            return Confirmation(Verdict.UNKNOWN, message=str(exc)[:200])
        if result.paid and (result.amount is None or not result.order_id):
            # Without the amount and our order id in the answer nothing can be compared.
            return Confirmation(
                Verdict.UNKNOWN, message="BdSmartPay confirmed without the amount or order id."
            )
        if result.paid:
            verdict = Verdict.PAID
        elif result.status in {"Cancelled", "Canceled"}:
            verdict = Verdict.CANCELLED
        elif result.failed:
            verdict = Verdict.FAILED
        else:
            verdict = Verdict.PENDING
        return Confirmation(
            verdict=verdict,
            provider_txn_id=(result.transaction_id or f"BSP-{result.order_id}")
            if verdict is Verdict.PAID
            else "",
            amount=result.amount,
            currency=result.currency,
            merchant_ref=result.order_id,
            message=result.status,
        )

    def check(self) -> str:
        self.query(AttemptInfo(merchant_ref="CHECK", amount=Decimal("0.00"), currency="BDT"))
        return str(_("BdSmartPay answers."))
