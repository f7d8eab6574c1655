"""BdSmartPay: the encrypted redirect, the encrypted callback and query_payment.

The only published integration builds a query string (``gateway=bdsmartpay&service_name=…
&amount=&order_id=&merchant_id=&mobile=&email=&user_ref=&redirect_url=<callback>?``),
encrypts it with AES-128-CBC under the merchant secret (PHP ``openssl_encrypt`` with a
string key: base64 output, PKCS#7 padding, the key cut or NUL-padded to 16 bytes), base64s
that again, and sends the browser to ``/gateway/pro/<value>``. It draws a random IV and never
sends it, so whoever decrypts gets the first 16-byte block garbled and everything after it
intact; the plaintext starts with ``gateway=bdsmartp`` (exactly one block), which is what
makes that work. We build every encrypted value the same way (a disposable first block) and
decrypt by dropping the first block. The callback comes back to ``redirect_url`` with the
encrypted answer as its first query key, encrypted under a second secret; it is a hint. The
check is ``GET /gateway/query_payment/<encrypted service_name, order_id, merchant_id>``,
answering JSON in ``[...]`` with ``transaction_status``: paid when it is ``Successful`` for
our order id and amount.

The whole scheme is unconfirmed (to check with the provider's onboarding pack): the IV
handling, the second callback secret, the fields of the query plaintext and of its answer
(we require ``amount`` and the order id in it and do not mark a payment paid without them).
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

LIVE_HOST = "https://bdsmartpay.com"
PAY_PATH = "/gateway/pro/"
QUERY_PATH = "/gateway/query_payment/"
BLOCK = 16
MARKER = "gateway=bdsmartpay"
SUCCESSFUL = "Successful"
FAILED_STATUSES = frozenset({"Failed", "Cancelled", "Canceled", "Rejected"})
CURRENCY = "BDT"


class BdsmartpayProtocolError(ValueError):
    """A BdSmartPay message could not be built, decrypted or understood."""


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


def format_amount(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01')):f}"


def parse_amount(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value).replace(",", "")).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise BdsmartpayProtocolError(f"{value!r} is not an amount") from None


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
    # redirect_url goes last, unescaped and ending in "?", so the answer is its first key.
    return f"{MARKER}&{urlencode(fields)}&redirect_url={redirect_url}?"


def payment_url(host: str, plaintext: str, secret: str) -> str:
    return f"{host.rstrip('/')}{PAY_PATH}{quote(encrypt(plaintext, secret), safe='')}"


def query_plaintext(*, service_name: str, order_id: str, merchant_id: str) -> str:
    fields = {"service_name": service_name, "order_id": order_id, "merchant_id": merchant_id}
    return f"{MARKER}&{urlencode(fields)}"


def query_url(host: str, plaintext: str, secret: str) -> str:
    return f"{host.rstrip('/')}{QUERY_PATH}{quote(encrypt(plaintext, secret), safe='')}"


def callback_fields(query_string: str, callback_secret: str) -> dict[str, str]:
    """The callback's decrypted fields (its first query key is the blob); empty if unreadable."""
    first = query_string.split("&", 1)[0].split("=", 1)[0]
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
