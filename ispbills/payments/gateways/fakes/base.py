"""The base of every fake provider: routing, a request log, stalls (to make the adapter time
out), the payer's page, and IPN delivery.

A fake is a plain object answering ``handle(FakeRequest) -> FakeResponse``, so one fake runs
two ways with the same code:

- ``FakeServer(fake)`` serves it on ``127.0.0.1`` on a free port (tests; the adapter talks to
  it over the wire: ``account.base_url = server.url``);
- the demo mounts it in the web process under ``/fake-gateways/<code>/`` (``fakes/views.py``),
  so an operator can click through a payment offline.

Fakes keep their state in memory behind ``self.lock``. They must check what the real
provider checks (credentials, tokens, signatures, amounts, duplicate references) and answer
with the provider's real status codes and envelopes.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from ispbills.payments.gateways.base import CallbackRequest

Handler = Callable[["FakeProvider", "FakeRequest", re.Match[str]], "FakeResponse"]


@dataclass
class FakeRequest:
    """An HTTP request reaching a fake; ``path`` is relative to the fake's root."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    base_url: str  # the fake's root as the payer's browser and the adapter reach it

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def param(self, name: str, default: str = "") -> str:
        return self.form().get(name) or self.query.get(name) or default


@dataclass
class FakeResponse:
    """What a fake answers."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200) -> FakeResponse:
        return cls(status, json.dumps(data).encode(), "application/json")

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain") -> FakeResponse:
        return cls(status, text.encode(), content_type)

    @classmethod
    def html(cls, text: str, status: int = 200) -> FakeResponse:
        return cls(status, text.encode(), "text/html; charset=utf-8")

    @classmethod
    def redirect(cls, url: str, status: int = 302) -> FakeResponse:
        return cls(status, b"", "text/plain", {"Location": url})


@dataclass
class BrowserReturn:
    """What the payer's browser sends to the merchant after the provider's page: a GET to
    ``url`` (query included) or a POST of ``form`` to it. Fakes return it from
    ``complete()``, so tests drive a payment without a browser."""

    method: str
    url: str
    form: dict[str, str] = field(default_factory=dict)

    def as_callback(self, kind: str = "return") -> CallbackRequest:
        """The callback our view would hand to ``handle_callback``."""
        parts = urlsplit(self.url)
        body = urlencode(self.form).encode() if self.form else b""
        return CallbackRequest(
            kind="ipn" if kind == "ipn" else "return",
            method=self.method,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            form=dict(self.form),
            headers={"content-type": "application/x-www-form-urlencoded"} if self.form else {},
            body=body,
            remote_addr="127.0.0.1",
        )


H = TypeVar("H", bound=Callable[..., Any])


def route(method: str, pattern: str) -> Callable[[H], H]:
    """Declare a handler for ``method`` and a full-match regex on the path."""

    def mark(function: H) -> H:
        routes = getattr(function, "_fake_routes", [])
        routes.append((method.upper(), re.compile(pattern)))
        function._fake_routes = routes  # type: ignore[attr-defined]
        return function

    return mark


@dataclass
class _Stall:
    pattern: re.Pattern[str]
    seconds: float
    times: int
    before: bool


class FakeProvider:
    """A fake provider. Subclasses set ``code`` and ``demo_credentials`` and declare
    handlers with ``@route``; state goes on the instance, changed under ``self.lock``."""

    code: ClassVar[str]
    name: ClassVar[str] = ""
    # The credentials the demo account uses and a fake accepts when given none.
    demo_credentials: ClassVar[dict[str, str]] = {}
    # Where the provider's API sits under the fake's root (bKash: "/v1.2.0-beta"), so an
    # account's address is the fake's root plus this, as on the real host.
    base_path: ClassVar[str] = ""
    _routes: ClassVar[list[tuple[str, re.Pattern[str], Handler]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._routes = []
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                for method, pattern in getattr(value, "_fake_routes", []):
                    cls._routes.append((method, pattern, value))

    def __init__(self, credentials: dict[str, str] | None = None) -> None:
        self.credentials = dict(credentials if credentials is not None else self.demo_credentials)
        self.lock = threading.RLock()
        self.requests: list[FakeRequest] = []
        self.notifications: list[tuple[str, int | None]] = []  # (url, status) of IPNs sent
        self._stalls: list[_Stall] = []

    @classmethod
    def account_url(cls, root: str) -> str:
        """The address an account uses to reach this fake served at ``root``."""
        return root.rstrip("/") + cls.base_path

    @classmethod
    def account_credentials(cls, root: str) -> dict[str, str]:
        """The credentials (and address-like settings) an account pointed at this fake uses."""
        return dict(cls.demo_credentials)

    # Knobs for tests ---------------------------------------------------------------------

    def stall(self, pattern: str, seconds: float, *, times: int = 1, before: bool = False) -> None:
        """Delay the next ``times`` answers on paths matching ``pattern``. ``before=False``
        (the default) acts first and answers late: the provider did the work, the caller timed
        out; ``before=True`` waits before acting."""
        with self.lock:
            self._stalls.append(_Stall(re.compile(pattern), seconds, times, before))

    def calls(self, pattern: str, method: str = "") -> list[FakeRequest]:
        """The requests received on paths matching ``pattern``."""
        regex = re.compile(pattern)
        return [
            r
            for r in self.requests
            if regex.fullmatch(r.path) and (not method or r.method == method.upper())
        ]

    # Serving -----------------------------------------------------------------------------

    def handle(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            self.requests.append(request)
            stall = self._take_stall(request.path)
        if stall is not None and stall.before:
            time.sleep(stall.seconds)
        response = self._dispatch(request)
        if stall is not None and not stall.before:
            time.sleep(stall.seconds)
        return response

    def _take_stall(self, path: str) -> _Stall | None:
        for item in self._stalls:
            if item.times > 0 and item.pattern.fullmatch(path):
                item.times -= 1
                return item
        return None

    def _dispatch(self, request: FakeRequest) -> FakeResponse:
        allowed = False
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed = True
                continue
            return handler(self, request, match)
        return self.not_found(request, method_not_allowed=allowed)

    def not_found(self, request: FakeRequest, *, method_not_allowed: bool = False) -> FakeResponse:
        """The provider's answer to an unknown route (override for its real envelope)."""
        if method_not_allowed:
            return FakeResponse.json({"message": "Method Not Allowed"}, 405)
        return FakeResponse.json({"message": "Not Found"}, 404)

    # Helpers -----------------------------------------------------------------------------

    def notify(
        self,
        url: str,
        *,
        form: dict[str, str] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        wait: bool = False,
    ) -> None:
        """Send a server-to-server notification (IPN) to the merchant, in the background
        unless ``wait``; its status is kept in ``notifications``."""

        def send() -> None:
            status: int | None = None
            try:
                response = httpx.post(url, data=form, json=json_body, headers=headers, timeout=10.0)
                status = response.status_code
            except httpx.HTTPError:
                status = None
            with self.lock:
                self.notifications.append((url, status))

        if wait:
            send()
        else:
            threading.Thread(target=send, daemon=True).start()

    @staticmethod
    def page(title: str, body: str) -> FakeResponse:
        """A small mobile-friendly HTML page (the payer's screen on the provider's side);
        ``body`` is HTML the fake built with ``html.escape`` on every value."""
        return FakeResponse.html(
            "<!doctype html><html><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}"
            "button,input{font-size:1.1rem;padding:.5rem;margin:.25rem 0;width:100%}"
            ".note{color:#666;font-size:.9rem}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}"
            "<p class='note'>Test gateway: no real money moves.</p></body></html>"
        )
