"""The one HTTP client of the gateway adapters: bounded timeouts, TLS always verified, and
every exchange recorded (for disputes) with secrets redacted.

Redaction works twice over: by *value* (every secret credential, and every token an adapter
learns through ``add_secrets()``, is replaced wherever it appears: URL, headers, bodies) and by
*name* (fields such as ``store_passwd`` or ``Authorization`` are blanked in JSON bodies, forms,
query strings and headers even when their value is not known in advance).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from ispbills.payments.gateways.base import GatewayTimeout, GatewayUnavailable

REDACTED = "[redacted]"
# Names whose values are secrets in every provider we know (lower case).
DEFAULT_REDACT_KEYS = frozenset(
    {
        "authorization",
        "password",
        "passwd",
        "store_passwd",
        "app_secret",
        "secret",
        "secret_key",
        "key_secret",
        "signature_key",
        "id_token",
        "refresh_token",
        "token",
        "access_token",
        "x-app-key",
        "app_key",
        "pass",
        "private_key",
    }
)
MAX_BODY = 20_000  # characters of a body kept per exchange


@dataclass
class Exchange:
    """One request and its answer (or the error instead), already redacted."""

    label: str
    direction: str  # "out" (we called the provider) or "in" (a callback reached us)
    method: str
    url: str
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: str = ""
    status_code: int | None = None
    response_body: str = ""
    duration_ms: int = 0
    error: str = ""


class Redactor:
    """Replaces secret values and the values of secret-named fields."""

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self.keys = frozenset(k.lower() for k in (*DEFAULT_REDACT_KEYS, *keys))
        self.values: set[str] = set()

    def add(self, values: Iterable[str]) -> None:
        # Short values would blank out innocent text; credentials are never that short.
        self.values.update(v for v in values if v and len(v) >= 4)

    def text(self, value: str) -> str:
        for secret in sorted(self.values, key=len, reverse=True):
            value = value.replace(secret, REDACTED)
        return value

    def _walk(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (
                    REDACTED
                    if str(k).lower() in self.keys and v not in (None, "")
                    else self._walk(v)
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        if not parts.query:
            return self.text(url)
        pairs = [
            (k, REDACTED if k.lower() in self.keys and v else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        return self.text(urlunsplit(parts._replace(query=urlencode(pairs))))

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {
            k.lower(): (REDACTED if k.lower() in self.keys else self.text(v))
            for k, v in headers.items()
        }

    def body(self, body: str | bytes, content_type: str = "") -> str:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        if not text:
            return ""
        stripped = text.lstrip()
        if stripped[:1] in "{[":
            try:
                return json.dumps(self._walk(json.loads(text)), ensure_ascii=False)[:MAX_BODY]
            except ValueError:
                pass
        if "x-www-form-urlencoded" in content_type or (
            "=" in text and " " not in text and "<" not in text and "\n" not in text
        ):
            pairs = parse_qsl(text, keep_blank_values=True)
            if pairs:
                return urlencode(
                    [
                        (k, REDACTED if k.lower() in self.keys and v else self.text(v))
                        for k, v in pairs
                    ]
                )[:MAX_BODY]
        return self.text(text)[:MAX_BODY]

    def data(self, value: Any) -> Any:
        """A parsed structure (JSON-like) with secret fields and values redacted."""
        return self._walk(value)


class GatewayHttp:
    """An httpx client for one adapter instance; ``exchanges`` collects what it did."""

    def __init__(
        self,
        *,
        redact_keys: Iterable[str] = (),
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.redactor = Redactor(redact_keys)
        self.timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self.transport = transport
        self.exchanges: list[Exchange] = []

    def add_secrets(self, values: Iterable[str]) -> None:
        """Values to redact from now on (credentials, tokens learnt at run time)."""
        self.redactor.add(values)

    def request(
        self,
        label: str,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        form: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request and record it. Raises ``GatewayUnavailable`` when it could not be
        delivered and ``GatewayTimeout`` when its answer did not come in time; any HTTP status
        is returned (providers answer errors with 200 and 4xx alike)."""
        request_timeout = (
            httpx.Timeout(timeout, connect=min(timeout, self.timeout.connect or timeout))
            if timeout is not None
            else self.timeout
        )
        started = time.monotonic()
        client = httpx.Client(timeout=request_timeout, transport=self.transport, verify=True)
        try:
            request = client.build_request(
                method, url, json=json_body, data=form, params=params, headers=headers
            )
            exchange = Exchange(
                label=label,
                direction="out",
                method=method.upper(),
                url=self.redactor.url(str(request.url)),
                request_headers=self.redactor.headers(request.headers),
                request_body=self.redactor.body(
                    request.content, request.headers.get("content-type", "")
                ),
            )
            self.exchanges.append(exchange)
            try:
                response = client.send(request)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                exchange.error = f"not delivered: {type(exc).__name__}"
                raise GatewayUnavailable(f"{label}: the provider could not be reached.") from exc
            except httpx.TimeoutException as exc:
                exchange.error = f"no answer in time: {type(exc).__name__}"
                raise GatewayTimeout(f"{label}: the provider did not answer in time.") from exc
            except httpx.HTTPError as exc:
                # Sent, then the connection broke: whether it acted is unknown.
                exchange.error = f"broken answer: {type(exc).__name__}"
                raise GatewayTimeout(f"{label}: the provider's answer was cut off.") from exc
            finally:
                exchange.duration_ms = int((time.monotonic() - started) * 1000)
            exchange.status_code = response.status_code
            exchange.response_body = self.redactor.body(
                response.content, response.headers.get("content-type", "")
            )
            return response
        finally:
            client.close()

    def note_inbound(
        self,
        label: str,
        *,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: str | bytes,
        content_type: str = "",
    ) -> Exchange:
        """Record a callback that reached us, redacted like the outbound ones."""
        exchange = Exchange(
            label=label,
            direction="in",
            method=method.upper(),
            url=self.redactor.url(url),
            request_headers=self.redactor.headers(headers),
            request_body=self.redactor.body(body, content_type),
        )
        self.exchanges.append(exchange)
        return exchange


def json_of(response: httpx.Response) -> dict[str, Any]:
    """A response's JSON object, or ``{}`` when it is not one (the adapter then decides)."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {"_": data}
