"""Per-request context (client address, user agent) that services read for audit rows."""

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestInfo:
    ip: str | None = None
    user_agent: str = ""


NO_REQUEST = RequestInfo()
current_request: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "current_request", default=None
)


def request_info() -> RequestInfo:
    """The current request's address and user agent (empty outside a request)."""
    return current_request.get() or NO_REQUEST


def client_ip(meta: dict[str, str]) -> str | None:
    """REMOTE_ADDR; behind a proxy, set ISPBILLS_TRUSTED_PROXY so X-Forwarded-For is used."""
    from django.conf import settings

    if getattr(settings, "TRUSTED_PROXY", False):
        forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return meta.get("REMOTE_ADDR") or None
