"""Pools, profiles and customers of Acme for the network tests."""

from typing import Any

import pytest
from django.db import connection

from ispbills.catalog import services as catalog
from ispbills.customers import services as customers
from ispbills.network import services


@pytest.fixture
def home(cast: Any) -> Any:
    return catalog.save_package(
        actor=None,
        operator=cast.acme_root,
        name="Home 20",
        download_kbps=20000,
        upload_kbps=5000,
        price="800",
    )


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
def register(cast: Any, home: Any) -> Any:
    counter = iter(range(100, 10_000))

    def make(**fields: Any) -> Any:
        number = next(counter)
        values = {
            "username": f"user{number}",
            "name": f"Customer {number}",
            "mobile": f"0171100{number:04d}",
            "service_password": "s3cret-pw",
            "package": home,
            **fields,
        }
        return customers.register_customer(actor=None, operator=cast.north, **values)

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
