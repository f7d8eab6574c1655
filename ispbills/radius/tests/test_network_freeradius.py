"""Pools and the walled garden against a real FreeRADIUS, with real packets."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ispbills.catalog import services as catalog
from ispbills.customers import services as customers
from ispbills.network import services as network

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def acme_network(cast: Any) -> Any:
    home = catalog.save_package(
        actor=None,
        operator=cast.acme_root,
        name="Home 20",
        download_kbps=20000,
        upload_kbps=5000,
        price="800",
    )
    dynamic = network.save_pool(
        actor=None, operator=cast.acme_root, name="dyn-a", cidr="100.64.0.0/20"
    )
    garden = network.save_pool(
        actor=None,
        operator=cast.acme_root,
        name="garden",
        cidr="10.255.0.0/24",
        purpose="suspended",
    )
    network.save_profile(
        actor=None, operator=cast.acme_root, name="home", ipv4_pool=dynamic, packages=[home]
    )
    counter = iter(range(100, 10_000))

    def register(**fields: Any) -> Any:
        number = next(counter)
        values = {
            "name": f"Customer {number}",
            "mobile": f"0171100{number:04d}",
            "service_password": "s3cret-pw",
            "package": home,
            **fields,
        }
        return customers.register_customer(actor=None, operator=cast.north, **values)

    def walled_garden() -> None:
        network.save_settings(
            actor=None,
            tenant=cast.acme,
            suspended_action="walled_garden",
            suspended_pool=garden,
            address_list="unpaid",
            walled_garden_rate="256k/256k",
        )

    register.walled_garden = walled_garden  # type: ignore[attr-defined]
    return register


def test_an_active_customer_is_accepted_with_its_profile_pool(freeradius, acme_network):
    acme_network(username="nw-rahim")

    reply = freeradius.auth("nw-rahim", "s3cret-pw")

    assert reply is not None
    assert reply.code == "Access-Accept"
    assert reply.get("Framed-Pool") == "dyn-a"
    assert reply.get("Mikrotik-Rate-Limit") == "5000k/20000k"


def test_a_suspended_customer_is_rejected_when_the_isp_refuses_suspended_logins(
    freeradius, acme_network
):
    customer = acme_network(username="nw-late")

    customers.suspend_customer(actor=None, customer=customer)
    reply = freeradius.auth("nw-late", "s3cret-pw")

    assert reply is not None
    assert reply.code == "Access-Reject"


def test_a_suspended_customer_enters_the_walled_garden_even_past_expiry(freeradius, acme_network):
    acme_network.walled_garden()
    expired = datetime.now(UTC) - timedelta(days=2)
    customer = acme_network(username="nw-garden", expires_at=expired)
    refused_while_active = freeradius.auth("nw-garden", "s3cret-pw")

    customers.suspend_customer(actor=None, customer=customer, reason="Bill unpaid")
    reply = freeradius.auth("nw-garden", "s3cret-pw")
    wrong = freeradius.auth("nw-garden", "not-it")

    assert refused_while_active is not None
    assert refused_while_active.code == "Access-Reject"  # expired and active: Expiration
    assert reply is not None
    assert reply.code == "Access-Accept"
    assert reply.get("Framed-Pool") == "garden"
    assert reply.get("Mikrotik-Address-List") == "unpaid"
    assert reply.get("Mikrotik-Rate-Limit") == "256k/256k"
    assert reply.get("Framed-IP-Address") is None
    assert wrong is not None
    assert wrong.code == "Access-Reject"


def test_a_disabled_customer_is_rejected_even_with_the_walled_garden(freeradius, acme_network):
    acme_network.walled_garden()
    customer = acme_network(username="nw-off")

    customers.disable_customer(actor=None, customer=customer)
    reply = freeradius.auth("nw-off", "s3cret-pw")

    assert reply is not None
    assert reply.code == "Access-Reject"
