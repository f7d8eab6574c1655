"""A small catalog and a few customers on top of the cast."""

from dataclasses import dataclass
from typing import Any

import pytest

from ispbills.catalog import services as catalog
from ispbills.catalog.models import BillingProfile, Package
from ispbills.customers import services
from ispbills.customers.models import Zone


@dataclass
class Shop:
    home10: Package
    home20: Package
    north_home10: Package
    south_home10: Package
    hotspot: Package
    monthly: BillingProfile
    mirpur: Zone
    mirpur10: Zone
    north_zone: Zone


@pytest.fixture
def shop(cast: Any) -> Shop:
    home10 = catalog.save_package(
        actor=None,
        operator=cast.acme_root,
        name="Home 10",
        download_kbps=10000,
        upload_kbps=10000,
        price="500",
    )
    return Shop(
        home10=home10,
        home20=catalog.save_package(
            actor=None,
            operator=cast.acme_root,
            name="Home 20",
            download_kbps=20000,
            upload_kbps=20000,
            price="800",
        ),
        north_home10=catalog.save_package(
            actor=None, operator=cast.north, parent=home10, name="North Home 10", price="450"
        ),
        south_home10=catalog.save_package(
            actor=None, operator=cast.south, parent=home10, name="South Home 10", price="470"
        ),
        hotspot=catalog.save_package(
            actor=None,
            operator=cast.acme_root,
            name="Hotspot day",
            service_model="hotspot",
            download_kbps=5000,
            upload_kbps=5000,
            price="20",
            validity_days=1,
        ),
        monthly=catalog.save_billing_profile(
            actor=None, operator=cast.acme_root, name="Monthly 10th", due_day=10, grace_days=3
        ),
        mirpur=(
            mirpur := services.save_zone(
                actor=None, operator=cast.acme_root, name="Mirpur", kind="thana"
            )
        ),
        mirpur10=services.save_zone(
            actor=None, operator=cast.acme_root, name="Mirpur-10", parent=mirpur
        ),
        north_zone=services.save_zone(actor=None, operator=cast.north, name="North block"),
    )


@pytest.fixture
def new_customer(cast: Any, shop: Shop) -> Any:
    """``new_customer(operator=..., **fields)`` registers a valid customer by the system."""
    counter = iter(range(100, 10_000))

    def make(operator: Any = None, **fields: Any) -> Any:
        number = next(counter)
        values = {
            "username": f"user{number}",
            "name": f"Customer {number}",
            "mobile": f"0171100{number:04d}",
            "service_password": "secret-pw",
            "package": shop.home10,
            **fields,
        }
        return services.register_customer(actor=None, operator=operator or cast.north, **values)

    return make
