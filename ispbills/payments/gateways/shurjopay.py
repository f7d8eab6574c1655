"""shurjoPay v2: token, secret-pay, the return, verification.

``POST get_token`` gives a bearer token valid ``expires_in`` **seconds** (the official plugin
reads them as milliseconds and logs in on every call); ``POST secret-pay`` creates the
checkout and answers ``sp_order_id``; the browser comes back to ``return_url?order_id=<sp
order id>`` (a hint); ``POST verification`` answers a one-element JSON **array** for a known
order (an object with ``sp_code`` 1011 for an unknown one). Paid means ``sp_code == "1000"``
with our ``customer_order_id``, amount and currency. There is no payload signing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

SANDBOX_BASE = "https://sandbox.shurjopayment.com/api"
LIVE_BASE = "https://engine.shurjopayment.com/api"
PREFIX_MAX = 5
CURRENCIES = frozenset({"BDT", "USD"})
SUCCESS = "1000"
INVALID_ORDER = "1011"
# Codes after which the order will not be paid (failed, cancelled, declined, ...).
FINAL_FAILED = frozenset({"1001", "1002", "1005", "1006", "1007", "1008", "1009", "1010", "1067"})
CANCELLED = "1002"
# Renew the token this long before shurjoPay says it expires.
TOKEN_MARGIN = dt.timedelta(seconds=60)


class ShurjopayProtocolError(ValueError):
    """A shurjoPay message could not be built or understood."""


def format_amount(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01')):f}"


def parse_amount(value: Any) -> Decimal | None:
    """shurjoPay answers amounts as strings with four decimals ("10.0000")."""
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ShurjopayProtocolError(f"{value!r} is not an amount") from None


def token_body(username: str, password: str) -> dict[str, str]:
    return {"username": username, "password": password}


@dataclass(frozen=True)
class Token:
    token: str
    store_id: str
    expires_at: dt.datetime

    def fresh(self, now: dt.datetime) -> bool:
        return now + TOKEN_MARGIN < self.expires_at


def parse_token(body: dict[str, Any], now: dt.datetime) -> Token:
    """The token and when it runs out: ``expires_in`` is seconds."""
    token = body.get("token")
    if str(body.get("sp_code")) != "200" or not token:
        raise ShurjopayProtocolError(str(body.get("message") or "login was refused"))
    try:
        seconds = int(body.get("expires_in") or 0)
    except (TypeError, ValueError):
        seconds = 0
    return Token(
        token=str(token),
        store_id=str(body.get("store_id") or ""),
        expires_at=now + dt.timedelta(seconds=max(seconds, 0)),
    )


def secret_pay_body(
    token: Token,
    *,
    prefix: str,
    order_id: str,
    amount: Decimal,
    currency: str,
    return_url: str,
    cancel_url: str,
    client_ip: str,
    customer: dict[str, str],
) -> dict[str, Any]:
    """The secret-pay request; customer keys are name, phone, email, address, city."""
    if not prefix or len(prefix) > PREFIX_MAX:
        raise ShurjopayProtocolError(f"the store prefix must be 1 to {PREFIX_MAX} characters")
    if currency not in CURRENCIES:
        raise ShurjopayProtocolError(f"currency {currency} is not taken")
    return {
        "token": token.token,
        "store_id": token.store_id,
        "prefix": prefix,
        "currency": currency,
        "return_url": return_url,
        "cancel_url": cancel_url,
        "amount": format_amount(amount),
        "order_id": order_id,
        "discount_amount": "0",
        "disc_percent": "0",
        "client_ip": client_ip,
        "customer_name": customer.get("name") or "Customer",
        "customer_phone": customer.get("phone") or "",
        "customer_email": customer.get("email") or "",
        "customer_address": customer.get("address") or "N/A",
        "customer_city": customer.get("city") or "N/A",
        "customer_state": customer.get("city") or "N/A",
        "customer_postcode": customer.get("postcode") or "",
        "customer_country": customer.get("country") or "Bangladesh",
        "value1": order_id,
        "value2": "",
        "value3": "",
        "value4": "",
    }


@dataclass(frozen=True)
class Checkout:
    checkout_url: str
    sp_order_id: str


def parse_secret_pay(body: dict[str, Any]) -> Checkout:
    url, sp_order_id = body.get("checkout_url"), body.get("sp_order_id")
    if not url or not sp_order_id:
        message = body.get("message") or body.get("sp_message") or "secret-pay was refused"
        raise ShurjopayProtocolError(str(message))
    return Checkout(str(url), str(sp_order_id))


def verification_body(sp_order_id: str) -> dict[str, str]:
    return {"order_id": sp_order_id}


@dataclass(frozen=True)
class Verification:
    """shurjoPay's own record of an order (element 0 of the verification array)."""

    sp_code: str
    message: str
    sp_order_id: str
    customer_order_id: str
    amount: Decimal | None
    currency: str
    bank_trx_id: str
    raw: dict[str, Any]

    @property
    def paid(self) -> bool:
        return self.sp_code == SUCCESS

    @property
    def failed(self) -> bool:
        return self.sp_code in FINAL_FAILED or self.sp_code == INVALID_ORDER

    @property
    def cancelled(self) -> bool:
        return self.sp_code == CANCELLED


def parse_verification(body: Any) -> Verification:
    """Element 0 of the array; the object an unknown order gets is read the same way."""
    if isinstance(body, list):
        if not body or not isinstance(body[0], dict):
            raise ShurjopayProtocolError("verification answered an empty list")
        item: dict[str, Any] = body[0]
    elif isinstance(body, dict):
        item = body
    else:
        raise ShurjopayProtocolError("verification answered neither a list nor an object")
    code = str(item.get("sp_code") or "")
    if not code:
        raise ShurjopayProtocolError("verification answered without sp_code")
    return Verification(
        sp_code=code,
        message=str(item.get("sp_message") or item.get("sp_massage") or item.get("message") or ""),
        sp_order_id=str(item.get("order_id") or ""),
        customer_order_id=str(item.get("customer_order_id") or ""),
        amount=parse_amount(item.get("amount")),
        currency=str(item.get("currency") or ""),
        bank_trx_id=str(item.get("bank_trx_id") or ""),
        raw=item,
    )
