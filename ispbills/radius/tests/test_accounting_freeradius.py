"""Accounting through a real FreeRADIUS, then the app's rollups, stale closing and reboots."""

import datetime as dt
from typing import Any

import pytest

from ispbills.catalog import services as catalog
from ispbills.customers import services
from ispbills.radius import accounting
from ispbills.radius.models import Presence, RadAcct, UsageDaily

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def customer(cast: Any) -> Any:
    package = catalog.save_package(
        actor=None,
        operator=cast.acme_root,
        name="Home 20",
        download_kbps=20000,
        upload_kbps=5000,
        price="800",
    )
    return services.register_customer(
        actor=None,
        operator=cast.north,
        username="fr-acct",
        name="Karim",
        mobile="01711999002",
        service_password="pw-123456",
        package=package,
    )


def acct(freeradius: Any, status: str, session_id: str, nas: str = "10.0.0.7", **counters: int):
    attributes = [
        ("Acct-Status-Type", status),
        ("User-Name", '"fr-acct"'),
        ("Acct-Session-Id", f'"{session_id}"'),
        ("NAS-IP-Address", nas),
        ("Framed-IP-Address", "100.64.1.20"),
    ]
    attributes += [(name.replace("_", "-"), str(value)) for name, value in counters.items()]
    reply = freeradius.request("acct", attributes)
    assert reply is not None
    assert reply.code == "Accounting-Response"


def test_start_interims_and_stop_become_daily_usage_and_presence(freeradius, customer):
    acct(freeradius, "Start", "a1")
    acct(freeradius, "Interim-Update", "a1", Acct_Input_Octets=1000, Acct_Output_Octets=5000)
    accounting.rollup_usage()
    acct(
        freeradius,
        "Interim-Update",
        "a1",
        Acct_Input_Octets=3000,
        Acct_Input_Gigawords=1,
        Acct_Output_Octets=9000,
    )
    acct(
        freeradius,
        "Stop",
        "a1",
        Acct_Input_Octets=4000,
        Acct_Input_Gigawords=1,
        Acct_Output_Octets=9500,
        Acct_Session_Time=900,
    )
    accounting.rollup_usage()

    total = UsageDaily.objects.get(customer_id=customer.pk)
    # Input is what the subscriber uploaded: 2^32 + 4000 up, 9500 down, counted once.
    assert (total.upload, total.download) == (2**32 + 4000, 9500)
    assert Presence.objects.get(customer_id=customer.pk).last_address == "100.64.1.20"
    assert RadAcct.objects.get(username="fr-acct").stop_time is not None


def test_accounting_on_closes_the_sessions_of_a_rebooted_nas(freeradius, customer):
    acct(freeradius, "Start", "b1", nas="10.0.0.8")
    acct(freeradius, "Start", "b2", nas="10.0.0.9")

    reply = freeradius.request(
        "acct", [("Acct-Status-Type", "Accounting-On"), ("NAS-IP-Address", "10.0.0.8")]
    )

    assert reply is not None
    open_sessions = set(
        RadAcct.objects.filter(stop_time__isnull=True).values_list("session_id", flat=True)
    )
    assert open_sessions == {"b2"}
    assert RadAcct.objects.get(session_id="b1").terminate_cause == "NAS-Reboot"


def test_a_stale_session_no_longer_blocks_a_new_login(freeradius, customer):
    acct(freeradius, "Start", "c1")
    blocked = freeradius.auth("fr-acct", "pw-123456")
    RadAcct.objects.filter(session_id="c1").update(
        update_time=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    )

    accounting.close_stale_sessions()
    allowed = freeradius.auth("fr-acct", "pw-123456")

    assert blocked is not None
    assert blocked.code == "Access-Reject"  # Simultaneous-Use 1: the zombie holds the seat
    assert allowed is not None
    assert allowed.code == "Access-Accept"


def test_an_interim_update_whose_start_was_lost_opens_the_session(freeradius, customer):
    acct(freeradius, "Interim-Update", "d1", Acct_Input_Octets=70, Acct_Output_Octets=700)
    acct(freeradius, "Interim-Update", "d1", Acct_Input_Octets=90, Acct_Output_Octets=900)

    row = RadAcct.objects.get(username="fr-acct")
    assert (row.session_id, row.stop_time) == ("d1", None)
    assert (row.input_octets, row.output_octets) == (90, 900)
