"""Serve a fake provider on 127.0.0.1 (a free port) in a background thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ispbills.payments.gateways.fakes.base import FakeProvider, FakeRequest, FakeResponse


class FakeServer:
    """``with FakeServer(fake) as server: account.base_url = server.url``.

    With ``fakes={"bkash": …, "sslcommerz": …}`` one server hosts several fakes, each under
    ``/<code>`` (the demo's hub: ``ispbills fake_gateways``)."""

    def __init__(
        self,
        fake: FakeProvider | None = None,
        *,
        fakes: dict[str, FakeProvider] | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.fake = fake
        self.fakes = fakes or {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
                return

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, base, fake = parts.path, outer.url, outer.fake
                if outer.fakes:
                    code, _, rest = path.lstrip("/").partition("/")
                    fake = outer.fakes.get(code)
                    path, base = "/" + rest, f"{outer.url}/{code}"
                request = FakeRequest(
                    method=self.command,
                    path=path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    base_url=base,
                )
                try:
                    if fake is None:
                        response = FakeResponse.text("no such fake gateway", 404)
                    else:
                        response = fake.handle(request)
                except Exception as exc:  # a fake's bug must show, not hang the client
                    response = FakeResponse.text(f"fake error: {exc!r}", 500)
                try:
                    self.send_response(response.status)
                    self.send_header("Content-Type", response.content_type)
                    self.send_header("Content-Length", str(len(response.body)))
                    for name, value in response.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(response.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a stalled answer): as on the real network

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        self._thread: threading.Thread | None = None

    def start(self) -> FakeServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
