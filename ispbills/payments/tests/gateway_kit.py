"""Test helpers for gateway adapters: serve a fake, point an account at it, turn the fake's
browser redirect into the callback our views would get."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ispbills.payments.gateways.base import CallbackRequest
from ispbills.payments.gateways.fakes import fake_class
from ispbills.payments.gateways.fakes.base import FakeProvider
from ispbills.payments.gateways.fakes.server import FakeServer
from ispbills.payments.models import GatewayAccount
from ispbills.tenancy.models import Operator


@dataclass
class BrowserReturn:
    """What the payer's browser sends to the merchant after the provider's page: a GET to
    ``url`` (query included) or a POST of ``form`` to it."""

    method: str
    url: str
    form: dict[str, str] = field(default_factory=dict)

    def as_callback(self, kind: str = "return") -> CallbackRequest:
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


@contextmanager
def serve_fake(code: str, credentials: dict[str, str] | None = None) -> Iterator[Any]:
    """``with serve_fake("bkash") as (fake, server): ...`` on 127.0.0.1, a free port."""
    fake: FakeProvider = fake_class(code)(credentials)
    with FakeServer(fake) as server:
        yield fake, server


def gateway_account(
    operator: Operator,
    code: str,
    base_url: str,
    credentials: dict[str, str] | None = None,
    **fields: Any,
) -> GatewayAccount:
    """An enabled sandbox account of ``operator`` at ``code``, talking to ``base_url``, with
    the fake's demo credentials unless others are given."""
    account = GatewayAccount(
        tenant_id=operator.tenant_id,
        operator=operator,
        provider=code,
        base_url=base_url,
        sandbox=True,
        **fields,
    )
    account.set_credentials(
        credentials if credentials is not None else dict(fake_class(code).demo_credentials)
    )
    account.save()
    return account
