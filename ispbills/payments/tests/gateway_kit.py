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
    root_url: str,
    credentials: dict[str, str] | None = None,
    **fields: Any,
) -> GatewayAccount:
    """An enabled sandbox account of ``operator`` at ``code``, talking to the fake served at
    ``root_url`` (``server.url``), with the fake's demo credentials unless others are given."""
    fake = fake_class(code)
    account = GatewayAccount(
        tenant_id=operator.tenant_id,
        operator=operator,
        provider=code,
        base_url=fake.account_url(root_url),
        sandbox=True,
        **fields,
    )
    account.set_credentials(
        credentials if credentials is not None else fake.account_credentials(root_url)
    )
    account.save()
    return account
