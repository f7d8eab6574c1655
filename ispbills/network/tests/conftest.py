"""Pools, profiles and customers of Acme for the network tests."""

from typing import Any

import pytest
from django.db import connection

from ispbills.network import services


@pytest.fixture
def pool(cast: Any) -> Any:
    """``pool(name, cidr, purpose="dynamic", operator=acme root, **fields)``"""

    def make(name: str, cidr: str, purpose: str = "dynamic", **fields: Any) -> Any:
        operator = fields.pop("operator", cast.acme_root)
        return services.save_pool(
            actor=None, operator=operator, name=name, cidr=cidr, purpose=purpose, **fields
        )

    return make


@pytest.fixture
def online() -> Any:
    """``online(username, address)``: an open accounting session holding an address."""
    counter = iter(range(1, 10_000))

    def start(username: str, address: str, *, v6_prefix: str | None = None) -> None:
        number = next(counter)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO radacct (acctsessionid, acctuniqueid, username, nasipaddress, "
                "acctstarttime, framedipaddress, delegatedipv6prefix) "
                "VALUES (%s, %s, %s, '10.0.0.1', now(), %s, %s)",
                [f"s{number}", f"u{number}", username, address, v6_prefix],
            )

    return start
