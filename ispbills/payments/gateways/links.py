"""Signed, expiring payment links (per customer or per bill) and signed attempt-result
addresses, with ``django.core.signing``: nothing is stored, nothing can be guessed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse

LINK_SALT = "ispbills.payments.link"
RESULT_SALT = "ispbills.payments.result"
DEFAULT_VALIDITY = dt.timedelta(days=7)
MAX_VALIDITY = dt.timedelta(days=60)
RESULT_VALIDITY = dt.timedelta(days=30)


@dataclass(frozen=True)
class LinkTarget:
    """What a payment link pays: a customer, optionally one bill."""

    customer_id: int
    bill_id: int | None
    expires_at: dt.datetime


def make_link_token(customer_id: int, bill_id: int | None, validity: dt.timedelta) -> str:
    validity = min(validity, MAX_VALIDITY)
    expires = int((dt.datetime.now(dt.UTC) + validity).timestamp())
    return signing.dumps({"c": customer_id, "b": bill_id, "e": expires}, salt=LINK_SALT)


def read_link_token(token: str) -> LinkTarget | None:
    """The link's target, or None when it is forged, altered or expired."""
    try:
        data: Any = signing.loads(token, salt=LINK_SALT, max_age=MAX_VALIDITY)
    except signing.BadSignature:
        return None
    expires = dt.datetime.fromtimestamp(int(data.get("e", 0)), dt.UTC)
    if expires < dt.datetime.now(dt.UTC):
        return None
    return LinkTarget(int(data["c"]), data.get("b"), expires)


def link_url(token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("payments:pay_link", args=[token])


def sign_attempt(merchant_ref: str) -> str:
    return signing.dumps(merchant_ref, salt=RESULT_SALT, compress=False)


def read_attempt(token: str) -> str | None:
    try:
        value: Any = signing.loads(token, salt=RESULT_SALT, max_age=RESULT_VALIDITY)
    except signing.BadSignature:
        return None
    return str(value)


# Our own payment page for an attempt (providers whose JavaScript runs on the merchant's
# page) and the actions its script posts: the signed reference is the only key.
PAGE_SALT = "ispbills.payments.page"
PAGE_VALIDITY = dt.timedelta(hours=24)


def sign_page(merchant_ref: str) -> str:
    return signing.dumps(merchant_ref, salt=PAGE_SALT, compress=False)


def read_page(token: str) -> str | None:
    try:
        value: Any = signing.loads(token, salt=PAGE_SALT, max_age=PAGE_VALIDITY)
    except signing.BadSignature:
        return None
    return str(value)


def page_url(code: str, merchant_ref: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(
        "payments:gateway_page", args=[code, sign_page(merchant_ref)]
    )
