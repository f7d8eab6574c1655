"""Provisioning customers and packages into the FreeRADIUS tables: exact rows per case."""

import json
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from ispbills.catalog import services as catalog
from ispbills.customers import services
from ispbills.customers.models import Customer
from ispbills.radius import provisioning
from ispbills.radius.models import RadCheck, RadGroupReply, RadReply, RadUserGroup

pytestmark = pytest.mark.django_db

EXPIRY = datetime(2026, 12, 31, 18, 0, tzinfo=UTC)


def checks(username: str) -> list[tuple[str, str, str]]:
    return [
        (row.attribute, row.op, row.value)
        for row in RadCheck.objects.filter(username=username).order_by("id")
    ]


def replies(username: str) -> list[tuple[str, str, str]]:
    return [
        (row.attribute, row.op, row.value)
        for row in RadReply.objects.filter(username=username).order_by("id")
    ]


def groups(username: str) -> list[tuple[str, int]]:
    return [
        (row.groupname, row.priority)
        for row in RadUserGroup.objects.filter(username=username).order_by("id")
    ]


def group_replies(groupname: str) -> list[tuple[str, str, str]]:
    return [
        (row.attribute, row.op, row.value)
        for row in RadGroupReply.objects.filter(groupname=groupname).order_by("id")
    ]


@pytest.fixture
def home(cast: Any) -> Any:
    return catalog.save_package(
        actor=None,
        operator=cast.acme_root,
        name="Home 20",
        download_kbps=20000,
        upload_kbps=5000,
        burst_download_kbps=30000,
        burst_upload_kbps=8000,
        fup_download_kbps=2000,
        fup_upload_kbps=1000,
        price="800",
    )


@pytest.fixture
def static_package(cast: Any) -> Any:
    return catalog.save_package(
        actor=None,
        operator=cast.acme_root,
        name="Static 50",
        service_model="static",
        download_kbps=50000,
        upload_kbps=50000,
        price="3000",
    )


def test_an_active_pppoe_customer_gets_password_mac_binding_expiry_and_package_group(
    register, home
):
    customer = register(username="rahim", mac_address="aa-bb-cc-dd-ee-0f", expires_at=EXPIRY)

    assert checks("rahim") == [
        ("Cleartext-Password", ":=", "s3cret-pw"),
        ("Simultaneous-Use", ":=", "1"),
        ("Calling-Station-Id", "==", "AA:BB:CC:DD:EE:0F"),
        ("Expiration", ":=", str(int(EXPIRY.timestamp()))),
    ]
    assert replies("rahim") == []
    assert groups("rahim") == [(f"pkg-{home.pk}", 1)]
    assert customer.status == "active"


def test_the_package_groups_carry_upload_download_rates_burst_and_fup(home):
    provisioning.provision_packages([home.pk])

    assert group_replies(f"pkg-{home.pk}") == [
        ("Mikrotik-Rate-Limit", ":=", "5000k/20000k 8000k/30000k"),
        ("Acct-Interim-Interval", ":=", "300"),
    ]
    assert group_replies(f"fup-{home.pk}") == [
        ("Mikrotik-Rate-Limit", ":=", "1000k/2000k"),
        ("Acct-Interim-Interval", ":=", "300"),
    ]


def test_a_package_without_burst_or_fup_speeds_sends_its_own_rate(cast):
    plain = catalog.save_package(
        actor=None,
        operator=cast.acme_root,
        name="Basic",
        download_kbps=10000,
        upload_kbps=4000,
        price="500",
    )

    provisioning.provision_packages([plain.pk])

    assert group_replies(f"pkg-{plain.pk}")[0] == ("Mikrotik-Rate-Limit", ":=", "4000k/10000k")
    assert group_replies(f"fup-{plain.pk}")[0] == ("Mikrotik-Rate-Limit", ":=", "4000k/10000k")


def test_a_static_ip_customer_gets_framed_ip_address_and_no_password(
    cast, register, static_package
):
    register(
        username="office1",
        service_model="static",
        service_password="",
        static_ipv4="103.4.5.6",
        mac_address="AA:BB:CC:00:00:01",
        package=static_package,
    )

    assert checks("office1") == [("Simultaneous-Use", ":=", "1")]
    assert replies("office1") == [("Framed-IP-Address", ":=", "103.4.5.6")]
    assert groups("office1") == [(f"pkg-{static_package.pk}", 1)]


def test_a_static_ipv6_address_is_replied_as_framed_ipv6_address(cast, register, static_package):
    register(
        username="office6",
        service_model="static",
        service_password="",
        static_ipv4="103.4.5.7",
        static_ipv6="2001:db8::7",
        package=static_package,
    )

    assert replies("office6") == [
        ("Framed-IP-Address", ":=", "103.4.5.7"),
        ("Framed-IPv6-Address", ":=", "2001:db8::7"),
    ]


@pytest.mark.parametrize("status", ["suspended", "disabled"])
def test_a_suspended_or_disabled_customer_is_rejected(register, home, status):
    customer = register(username="karim")

    services.change_status(actor=None, customer=customer, to=status)

    assert checks("karim") == [
        ("Cleartext-Password", ":=", "s3cret-pw"),
        ("Simultaneous-Use", ":=", "1"),
        ("Auth-Type", ":=", "Reject"),
    ]
    assert groups("karim") == [(f"pkg-{home.pk}", 1)]


def set_status(customer: Customer, status: str) -> None:
    """Change the status in SQL only, as the bulk suspension does before provisioning."""
    Customer.objects.filter(pk=customer.pk).update(status=status)


def check_ids(username: str) -> list[int]:
    return list(
        RadCheck.objects.filter(username=username).order_by("id").values_list("id", flat=True)
    )


def test_a_status_change_writes_only_the_rows_the_status_decides(register, home, monkeypatch):
    customer = register(username="owing", mac_address="aa-bb-cc-dd-ee-10", expires_at=EXPIRY)
    untouched = check_ids("owing")
    set_status(customer, "suspended")

    def no_decrypting(stored: str) -> str:
        raise AssertionError("a status change needs no password")

    monkeypatch.setattr(provisioning, "decrypt", no_decrypting)

    assert provisioning.provision_status([customer.pk]) == 1
    assert checks("owing") == [
        ("Cleartext-Password", ":=", "s3cret-pw"),
        ("Simultaneous-Use", ":=", "1"),
        ("Calling-Station-Id", "==", "AA:BB:CC:DD:EE:10"),
        ("Expiration", ":=", str(int(EXPIRY.timestamp()))),
        ("Auth-Type", ":=", "Reject"),
    ]
    assert check_ids("owing")[:4] == untouched
    assert groups("owing") == [(f"pkg-{home.pk}", 1)]
    assert provisioning.provision_status([customer.pk]) == 0  # nothing differs any more


def test_a_status_change_moves_the_group_and_lifts_the_reject(register, home):
    customer = register(username="heavy2")
    services.change_status(actor=None, customer=customer, to="fup")

    set_status(customer, "suspended")
    suspended = (provisioning.provision_status([customer.pk]), checks("heavy2"), groups("heavy2"))
    set_status(customer, "active")
    activated = (provisioning.provision_status([customer.pk]), checks("heavy2"), groups("heavy2"))

    # The FUP group out, the package group and Auth-Type in; then Auth-Type out again.
    assert suspended == (
        3,
        [
            ("Cleartext-Password", ":=", "s3cret-pw"),
            ("Simultaneous-Use", ":=", "1"),
            ("Auth-Type", ":=", "Reject"),
        ],
        [(f"pkg-{home.pk}", 1)],
    )
    assert activated == (1, suspended[1][:2], [(f"pkg-{home.pk}", 1)])
    assert not provisioning.drift()


def test_a_status_change_into_a_group_without_rows_writes_the_group(register, home):
    customer = register(username="heavy3")
    services.change_status(actor=None, customer=customer, to="fup")
    RadGroupReply.objects.filter(groupname__endswith=f"-{home.pk}").delete()

    set_status(customer, "suspended")
    provisioning.provision_status([customer.pk])

    assert groups("heavy3") == [(f"pkg-{home.pk}", 1)]
    assert group_replies(f"pkg-{home.pk}")[1] == ("Acct-Interim-Interval", ":=", "300")


def test_a_status_change_repairs_the_rows_the_status_decides(register, home):
    customer = register(username="messy", expires_at=EXPIRY)
    RadCheck.objects.filter(username="messy", attribute="Expiration").update(value="1")
    for _ in range(2):
        RadCheck.objects.create(username="messy", attribute="Auth-Type", op=":=", value="Reject")
    RadReply.objects.create(
        username="messy", attribute="Framed-IP-Address", op=":=", value="1.2.3.4"
    )
    RadUserGroup.objects.create(username="messy", groupname=f"pkg-{home.pk}", priority=1)
    set_status(customer, "suspended")

    # Out: the stale Expiration, the second Auth-Type, the stray address and second group.
    assert provisioning.provision_status([customer.pk]) == 5
    assert checks("messy") == [
        ("Cleartext-Password", ":=", "s3cret-pw"),
        ("Simultaneous-Use", ":=", "1"),
        ("Auth-Type", ":=", "Reject"),
        ("Expiration", ":=", str(int(EXPIRY.timestamp()))),
    ]
    assert replies("messy") == []
    assert groups("messy") == [(f"pkg-{home.pk}", 1)]
    assert not provisioning.drift()


def test_a_status_change_of_a_namesake_leaves_the_claimants_rows_alone(cast, register):
    from ispbills.catalog.tests.makers import make_package

    claimant = register(username="same-name")
    namesake = services.register_customer(
        actor=None,
        operator=cast.globex_east,
        username="same-name",
        name="Globex's",
        mobile="01711999012",
        service_password="other-pw",
        package=make_package(cast.globex_east, "Globex Home"),
    )
    before = (checks("same-name"), groups("same-name"))
    set_status(namesake, "suspended")

    assert provisioning.provision_status([namesake.pk]) == 0
    assert (checks("same-name"), groups("same-name")) == before
    set_status(claimant, "suspended")
    assert provisioning.provision_status([claimant.pk, namesake.pk]) == 1
    assert ("Auth-Type", ":=", "Reject") in checks("same-name")


def test_a_fup_customer_moves_to_the_fup_group_and_back(register, home):
    customer = register(username="heavy")

    services.change_status(actor=None, customer=customer, to="fup")
    in_fup = groups("heavy")
    services.change_status(actor=None, customer=customer, to="active")

    assert in_fup == [(f"fup-{home.pk}", 1)]
    assert groups("heavy") == [(f"pkg-{home.pk}", 1)]
    assert ("Auth-Type", ":=", "Reject") not in checks("heavy")


def test_a_package_speed_change_rewrites_its_groups(cast, home):
    catalog.save_package(
        actor=None,
        operator=cast.acme_root,
        package=home,
        download_kbps=40000,
        burst_download_kbps=None,
        burst_upload_kbps=None,
    )
    # save_package defers provision_packages_task; the worker runs what this call does.
    provisioning.provision_packages([home.pk])

    assert group_replies(f"pkg-{home.pk}") == [
        ("Mikrotik-Rate-Limit", ":=", "5000k/40000k"),
        ("Acct-Interim-Interval", ":=", "300"),
    ]


def test_a_package_change_defers_the_group_job_for_it_and_its_variants(cast, home):
    variant = catalog.save_package(
        actor=None, operator=cast.north, parent=home, name="North Home 20", price="750"
    )
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")

    catalog.save_package(actor=None, operator=cast.acme_root, package=home, upload_kbps=6000)

    with connection.cursor() as cursor:
        cursor.execute("SELECT task_name, args FROM procrastinate_jobs")
        jobs = cursor.fetchall()
    assert [(name.rsplit(".", 1)[-1], json.loads(args)["package_ids"]) for name, args in jobs] == [
        ("provision_packages_task", [home.pk, variant.pk])
    ]


def test_a_deleted_customer_has_no_rows_and_restore_brings_them_back(register, home):
    customer = register(username="gone", mac_address="AA:BB:CC:00:00:02")
    before = (checks("gone"), groups("gone"))

    services.delete_customer(actor=None, customer=customer)
    deleted = (checks("gone"), replies("gone"), groups("gone"))
    services.restore_customer(actor=None, customer=customer)

    assert deleted == ([], [], [])
    assert (checks("gone"), groups("gone")) == before


def test_a_transfer_keeps_the_rows(cast, register):
    customer = register(username="mover", expires_at=EXPIRY)
    before = (checks("mover"), replies("mover"), groups("mover"))

    services.transfer_customer(actor=None, customer=customer, to_operator=cast.south)

    assert (checks("mover"), replies("mover"), groups("mover")) == before


def test_a_renamed_customer_leaves_no_rows_under_the_old_username(register):
    customer = register(username="oldname")

    services.update_customer(actor=None, customer=customer, username="newname")

    assert checks("oldname") == []
    assert groups("oldname") == []
    assert checks("newname")[0] == ("Cleartext-Password", ":=", "s3cret-pw")


def test_a_password_change_is_provisioned(register):
    customer = register(username="pwuser")

    services.update_customer(actor=None, customer=customer, service_password="n3w-pass")

    assert checks("pwuser")[0] == ("Cleartext-Password", ":=", "n3w-pass")


def test_provisioning_twice_writes_the_same_rows(register):
    register(username="twice", mac_address="AA:BB:CC:00:00:03", expires_at=EXPIRY)
    customer = Customer.objects.get(username="twice")
    first = (checks("twice"), groups("twice"))

    provisioning.provision_customers([customer.pk])
    provisioning.provision_customers([customer.pk])

    assert (checks("twice"), groups("twice")) == first
    assert RadCheck.objects.filter(username="twice").count() == 4


def test_a_rolled_back_change_leaves_no_radius_rows(cast, home):
    seen_inside: list[Any] = []

    def register_then_fail() -> None:
        with transaction.atomic():
            services.register_customer(
                actor=None,
                operator=cast.north,
                username="ghost",
                name="Ghost",
                mobile="01711009999",
                service_password="pw-ghost",
                package=home,
            )
            seen_inside.extend(checks("ghost"))
            raise RuntimeError("the caller fails after the customer was written")

    with pytest.raises(RuntimeError):
        register_then_fail()

    assert seen_inside != []
    assert checks("ghost") == []
    assert groups("ghost") == []


def test_bind_macs_and_expired_trials_are_provisioned(cast, register):
    trial = register(
        username="trial1", is_trial=True, trial_ends_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    register(username="macme")

    services.bind_macs(actor=None, tenant_id=cast.acme.pk, pairs=[("macme", "aabbcc000004")])
    expired = services.expire_trials(now=datetime(2026, 1, 2, tzinfo=UTC))

    assert ("Calling-Station-Id", "==", "AA:BB:CC:00:00:04") in checks("macme")
    assert expired == 1
    trial.refresh_from_db()
    assert trial.status == "disabled"
    assert ("Auth-Type", ":=", "Reject") in checks("trial1")


def test_a_bulk_update_of_1000_customers_takes_a_handful_of_statements(cast, home, register):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO customers_customer (
                tenant_id, operator_id, package_id, username, service_password, name, mobile,
                email, national_id, address, house, road, service_model, mac_address,
                advance_balance, sales_notes, custom_fields, is_trial, status, status_reason,
                status_before_delete, created_at, updated_at)
            SELECT %(tenant)s, %(operator)s, %(package)s, 'bulk' || i, '', 'Bulk ' || i,
                   '+88017' || lpad(i::text, 8, '0'), '', '', '', '', '', 'pppoe', '', 0, '',
                   '{}', false, 'active', '', '', now(), now()
              FROM generate_series(1, 1000) AS i
            """,
            {"tenant": cast.acme.pk, "operator": cast.north.pk, "package": home.pk},
        )
    targets = Customer.objects.filter(username__startswith="bulk")
    provisioning.provision_packages([home.pk])  # as save_package's job would have

    with CaptureQueriesContext(connection) as captured:
        changed = services.bulk_update_customers(
            actor=None, customers=targets, changes={"expires_at": EXPIRY}
        )

    radius_statements = [q["sql"] for q in captured.captured_queries if "rad" in q["sql"]]
    assert changed == 1000
    assert len(radius_statements) <= 3
    assert len(captured) <= 12
    assert RadCheck.objects.filter(username__startswith="bulk", attribute="Expiration").count() == (
        1000
    )
    assert checks("bulk7") == [
        ("Simultaneous-Use", ":=", "1"),
        ("Expiration", ":=", str(int(EXPIRY.timestamp()))),
    ]


def test_sync_provisions_every_customer_and_check_then_finds_no_drift(register, home):
    register(username="s1")
    register(username="s2", mac_address="AA:BB:CC:00:00:05")
    RadCheck.objects.all().delete()
    RadUserGroup.objects.all().delete()
    out = StringIO()

    call_command("radius", "sync", "--tenant", "acme", "--batch", "1", stdout=out)
    call_command("radius", "check", stdout=out)

    assert "Synced 2 customers" in out.getvalue()
    assert out.getvalue().endswith("No drift.\n")
    assert groups("s2") == [(f"pkg-{home.pk}", 1)]


def test_check_reports_missing_extra_and_different_rows_and_fix_repairs_them(register, home):
    register(username="d1")
    register(username="d2")
    register(username="d3")
    RadCheck.objects.filter(username="d1").delete()
    RadUserGroup.objects.filter(username="d1").delete()
    RadCheck.objects.filter(username="d2", attribute="Simultaneous-Use").update(value="5")
    RadCheck.objects.create(username="nobody", attribute="Cleartext-Password", op=":=", value="x")
    RadGroupReply.objects.filter(groupname=f"pkg-{home.pk}").delete()
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("radius", "check", stdout=out)
    report = out.getvalue()
    call_command("radius", "check", "--fix", stdout=StringIO())
    after = StringIO()
    call_command("radius", "check", stdout=after)

    assert "d1: missing" in report
    assert "d2: different" in report
    assert "  - radcheck Simultaneous-Use := 5" in report
    assert "  + radcheck Simultaneous-Use := 1" in report
    assert "nobody: extra" in report
    assert f"group pkg-{home.pk}: different" in report
    assert "d3" not in report
    assert "  + radcheck Cleartext-Password := •••" in report
    assert "s3cret-pw" not in report  # never a password
    assert after.getvalue() == "No drift.\n"
    assert checks("nobody") == []
