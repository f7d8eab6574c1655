"""Provisioned customers against a real FreeRADIUS, with real packets."""

from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from ispbills.customers import services
from ispbills.radius.models import RadCheck

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_registered_customer_is_accepted_with_its_rate_and_a_timeout_at_expiry(
    freeradius, register
):
    expires_at = datetime.now(UTC) + timedelta(hours=2)
    register(username="fr-rahim", expires_at=expires_at)

    reply = freeradius.auth("fr-rahim", "s3cret-pw")
    wrong = freeradius.auth("fr-rahim", "not-it")

    assert reply is not None
    assert reply.code == "Access-Accept"
    assert reply.get("Mikrotik-Rate-Limit") == "5000k/20000k"
    assert reply.get("Acct-Interim-Interval") == "300"
    assert 7000 <= int(reply.get("Session-Timeout") or 0) <= 7200
    assert wrong is not None
    assert wrong.code == "Access-Reject"


def test_a_suspended_customer_is_rejected(freeradius, register):
    customer = register(username="fr-late")
    accepted = freeradius.auth("fr-late", "s3cret-pw")

    services.suspend_customer(actor=None, customer=customer, reason="Bill unpaid")
    reply = freeradius.auth("fr-late", "s3cret-pw")

    assert accepted is not None
    assert accepted.code == "Access-Accept"
    assert reply is not None
    assert reply.code == "Access-Reject"


def test_a_mac_bound_customer_is_rejected_from_another_device(freeradius, register):
    register(username="fr-mac", mac_address="84:16:F9:01:68:51")

    def login(mac: str) -> Any:
        return freeradius.request(
            "auth",
            [
                ("User-Name", '"fr-mac"'),
                ("User-Password", '"s3cret-pw"'),
                ("Calling-Station-Id", f'"{mac}"'),
            ],
        )

    own = login("84:16:F9:01:68:51")
    other = login("84:16:F9:01:68:52")

    assert own is not None
    assert own.code == "Access-Accept"
    assert other is not None
    assert other.code == "Access-Reject"


def test_the_drift_checker_finds_a_deleted_row_and_fix_lets_the_customer_back_in(
    freeradius, register
):
    register(username="fr-drift")
    RadCheck.objects.filter(username="fr-drift", attribute="Cleartext-Password").delete()
    locked_out = freeradius.auth("fr-drift", "s3cret-pw")
    report = StringIO()

    call_command("radius", "check", "--fix", stdout=report)
    reply = freeradius.auth("fr-drift", "s3cret-pw")

    assert locked_out is not None
    assert locked_out.code == "Access-Reject"
    assert "fr-drift: missing\n  + radcheck Cleartext-Password := •••\n" in report.getvalue()
    assert reply is not None
    assert reply.code == "Access-Accept"


def test_static_addresses_reach_the_router_in_the_accept(freeradius, register):
    register(username="fr-static6", static_ipv4="103.4.5.9", static_ipv6="2001:db8::9")

    reply = freeradius.auth("fr-static6", "s3cret-pw")

    assert reply is not None
    assert reply.code == "Access-Accept"
    assert reply.get("Framed-IP-Address") == "103.4.5.9"
    assert reply.get("Framed-IPv6-Address") == "2001:db8::9"
