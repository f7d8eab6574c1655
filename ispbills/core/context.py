"""Per-request context (client address, user agent) that services read for audit rows."""

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestInfo:
    ip: str | None = None
    user_agent: str = ""


current_request: contextvars.ContextVar[RequestInfo] = contextvars.ContextVar(
    "current_request", default=RequestInfo()
)


def client_ip(meta: dict[str, str]) -> str | None:
    """REMOTE_ADDR; behind a proxy, set ISPBILLS_TRUSTED_PROXY so X-Forwarded-For is used."""
    from django.conf import settings

    if getattr(settings, "TRUSTED_PROXY", False):
        forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return meta.get("REMOTE_ADDR") or None
