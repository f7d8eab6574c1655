"""Test helpers for gateway adapters: serve a fake, point an account at it, turn the fake's
browser redirect into the callback our views would get."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ispbills.payments.gateways.fakes import fake_class
from ispbills.payments.gateways.fakes.base import BrowserReturn, FakeProvider
from ispbills.payments.gateways.fakes.server import FakeServer
from ispbills.payments.models import GatewayAccount
from ispbills.tenancy.models import Operator

__all__ = ["BrowserReturn", "gateway_account", "serve_fake"]


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
