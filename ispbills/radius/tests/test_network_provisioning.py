"""Pools, PPPoE profiles and the walled garden in the RADIUS rows: exact rows per case."""

from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from procrastinate.contrib.django.models import ProcrastinateJob

from ispbills.catalog import services as catalog
from ispbills.core.errors import ConflictError, DomainError
from ispbills.customers import services as customers
from ispbills.customers.models import Customer
from ispbills.network import services as network
from ispbills.network.models import PppoeProfile
from ispbills.radius import provisioning, tasks
from ispbills.radius.models import (
    Disconnect,
    RadAcct,
    RadCheck,
    RadGroupReply,
    RadReply,
    RadUserGroup,
)

pytestmark = pytest.mark.django_db


def rows(model: Any, **where: Any) -> list[tuple[str, str, str]]:
    return [
        (row.attribute, row.op, row.value) for row in model.objects.filter(**where).order_by("id")
    ]


def groups(username: str) -> list[str]:
    return list(RadUserGroup.objects.filter(username=username).values_list("groupname", flat=True))


@pytest.fixture
def pools(cast: Any) -> dict[str, Any]:
    def make(name: str, cidr: str, purpose: str = "dynamic", **fields: Any) -> Any:
        return network.save_pool(
            actor=None, operator=cast.acme_root, name=name, cidr=cidr, purpose=purpose, **fields
        )

    return {
        "dynamic": make("dyn-a", "100.64.0.0/20"),
        "static": make("static-a", "103.7.8.0/26", "static"),
        "garden": make("garden", "10.255.0.0/24", "suspended"),
        "v6": make("v6-pd", "2001:db8:100::/48", prefix_length=56),
    }


def walled_garden(cast: Any, pools: Any, **fields: Any) -> Any:
    return network.save_settings(
        actor=None,
        tenant=cast.acme,
        suspended_action="walled_garden",
        suspended_pool=pools["garden"],
        **fields,
    )


def test_a_profile_gives_its_packages_groups_their_pools_in_the_same_transaction(cast, home, pools):
    network.save_profile(
        actor=None,
        operator=cast.acme_root,
        name="home-profile",
        ipv4_pool=pools["dynamic"],
        ipv6_pool=pools["v6"],
        packages=[home],
    )

    assert rows(RadGroupReply, groupname=f"pkg-{home.pk}") == [
        ("Mikrotik-Rate-Limit", ":=", "5000k/20000k"),
        ("Acct-Interim-Interval", ":=", "300"),
        ("Framed-Pool", ":=", "dyn-a"),
        ("Delegated-IPv6-Prefix-Pool", ":=", "v6-pd"),
    ]
    assert rows(RadGroupReply, groupname=f"fup-{home.pk}")[2:] == [
        ("Framed-Pool", ":=", "dyn-a"),
        ("Delegated-IPv6-Prefix-Pool", ":=", "v6-pd"),
    ]


def test_a_profile_rate_overrides_the_package_speeds_and_variants_follow_the_master(
    cast, home, pools
):
    variant = catalog.save_package(
        actor=None, operator=cast.north, parent=home, name="Home 20 North", price="900"
    )
    profile = network.save_profile(
        actor=None,
        operator=cast.acme_root,
        name="home-profile",
        ipv4_pool=pools["dynamic"],
        rate_limit="10M/10M",
        packages=[home],
    )
    network.save_pool(actor=None, operator=cast.acme_root, pool=pools["dynamic"], name="dyn-new")

    assert rows(RadGroupReply, groupname=f"pkg-{variant.pk}") == [
        ("Mikrotik-Rate-Limit", ":=", "10M/10M"),
        ("Acct-Interim-Interval", ":=", "300"),
        ("Framed-Pool", ":=", "dyn-new"),
    ]
    network.save_profile(actor=None, operator=cast.acme_root, profile=profile, packages=[])
    assert rows(RadGroupReply, groupname=f"pkg-{home.pk}") == [
        ("Mikrotik-Rate-Limit", ":=", "5000k/20000k"),
        ("Acct-Interim-Interval", ":=", "300"),
    ]


def test_a_static_profile_sends_no_pool(cast, home, pools):
    network.save_profile(
        actor=None,
        operator=cast.acme_root,
        name="static-profile",
        ipv4_pool=pools["static"],
        ip_mode="static",
        packages=[home],
    )

    assert [attribute for attribute, _, _ in rows(RadGroupReply, groupname=f"pkg-{home.pk}")] == [
        "Mikrotik-Rate-Limit",
        "Acct-Interim-Interval",
    ]


def test_replacing_a_pool_rewrites_the_groups_of_the_affected_packages(cast, home, pools):
    network.save_profile(
        actor=None, operator=cast.acme_root, name="p", ipv4_pool=pools["dynamic"], packages=[home]
    )
    other = network.save_pool(
        actor=None, operator=cast.acme_root, name="dyn-b", cidr="100.65.0.0/20"
    )

    network.replace_pool(actor=cast.alice, old=pools["dynamic"], new=other)

    assert ("Framed-Pool", ":=", "dyn-b") in rows(RadGroupReply, groupname=f"pkg-{home.pk}")


def test_a_suspended_customer_is_rejected_while_the_isp_refuses_suspended_logins(
    register, home, pools
):
    customer = register(username="late", static_ipv4="103.7.8.5")

    customers.suspend_customer(actor=None, customer=customer)

    assert ("Auth-Type", ":=", "Reject") in rows(RadCheck, username="late")
    assert groups("late") == [f"pkg-{home.pk}"]


def test_the_walled_garden_takes_suspended_customers_even_past_expiry(cast, register, pools):
    walled_garden(cast, pools, address_list="unpaid", walled_garden_rate="128k/256k")
    expired = datetime.now(UTC) - timedelta(days=3)
    customer = register(username="late", static_ipv4="103.7.8.5", expires_at=expired)

    customers.suspend_customer(actor=None, customer=customer)

    assert rows(RadCheck, username="late") == [
        ("Cleartext-Password", ":=", "s3cret-pw"),
        ("Simultaneous-Use", ":=", "1"),
    ]
    assert rows(RadReply, username="late") == []
    assert groups("late") == [f"susp-{cast.acme.pk}"]
    assert rows(RadGroupReply, groupname=f"susp-{cast.acme.pk}") == [
        ("Framed-Pool", ":=", "garden"),
        ("Mikrotik-Address-List", ":=", "unpaid"),
        ("Mikrotik-Rate-Limit", ":=", "128k/256k"),
        ("Acct-Interim-Interval", ":=", "300"),
    ]


def test_the_status_path_writes_the_walled_garden_rows_as_full_provisioning_does(
    cast, register, home, pools
):
    walled_garden(cast, pools)
    customer = register(
        username="late", static_ipv4="103.7.8.5", expires_at=datetime.now(UTC) + timedelta(days=3)
    )
    Customer.objects.filter(pk=customer.pk).update(status="suspended")

    # Expiration, the static address and the package group out; the garden group in.
    assert provisioning.provision_status([customer.pk]) == 4
    walled = (rows(RadCheck, username="late"), rows(RadReply, username="late"), groups("late"))
    provisioning.provision_customers([customer.pk])

    assert walled == (
        [("Cleartext-Password", ":=", "s3cret-pw"), ("Simultaneous-Use", ":=", "1")],
        [],
        [f"susp-{cast.acme.pk}"],
    )
    assert (rows(RadCheck, username="late"), rows(RadReply, username="late")) == walled[:2]
    assert groups("late") == walled[2]


def test_disabled_customers_stay_rejected_in_the_walled_garden(cast, register, home, pools):
    walled_garden(cast, pools)
    customer = register(username="gone")

    customers.disable_customer(actor=None, customer=customer)

    assert ("Auth-Type", ":=", "Reject") in rows(RadCheck, username="gone")
    assert groups("gone") == [f"pkg-{home.pk}"]


def test_changing_the_setting_reprovisions_the_suspended_customers(cast, register, home, pools):
    customer = register(username="late")
    customers.suspend_customer(actor=None, customer=customer)

    walled_garden(cast, pools)
    walled = groups("late")
    network.save_settings(actor=None, tenant=cast.acme, suspended_action="reject")

    assert walled == [f"susp-{cast.acme.pk}"]
    assert groups("late") == [f"pkg-{home.pk}"]
    assert ("Auth-Type", ":=", "Reject") in rows(RadCheck, username="late")
    assert rows(RadGroupReply, groupname=f"susp-{cast.acme.pk}") == []


def test_many_suspended_customers_are_reprovisioned_by_a_job(
    cast, register, home, pools, monkeypatch
):
    customer = register(username="late")
    customers.suspend_customer(actor=None, customer=customer)
    monkeypatch.setattr(tasks, "INLINE_SUSPENDED_LIMIT", 0)
    ProcrastinateJob.objects.all().delete()

    walled_garden(cast, pools)
    before_job = groups("late")
    deferred = list(ProcrastinateJob.objects.values_list("task_name", "args"))
    tasks.provision_suspended_customers_task(tenant_id=cast.acme.pk)

    assert before_job == [f"pkg-{home.pk}"]
    assert deferred == [
        ("ispbills.radius.tasks.provision_suspended_customers_task", {"tenant_id": cast.acme.pk})
    ]
    assert groups("late") == [f"susp-{cast.acme.pk}"]


def test_the_drift_checker_knows_the_walled_garden_rows(cast, register, pools):
    walled_garden(cast, pools)
    customer = register(username="late")
    customers.suspend_customer(actor=None, customer=customer)
    clean = provisioning.drift()
    RadGroupReply.objects.filter(
        groupname=f"susp-{cast.acme.pk}", attribute="Mikrotik-Address-List"
    ).delete()
    report = StringIO()

    call_command("radius", "check", "--fix", stdout=report)

    assert not clean
    assert (
        f"group susp-{cast.acme.pk}: different\n  + Mikrotik-Address-List := suspended\n"
        in report.getvalue()
    )
    assert not provisioning.drift()


def test_a_fup_pool_goes_to_the_fup_group_and_fup_then_needs_a_new_login(
    cast, register, home, pools
):
    throttled = network.save_pool(
        actor=None, operator=cast.acme_root, name="fup-a", cidr="100.66.0.0/20"
    )
    network.save_profile(
        actor=None,
        operator=cast.acme_root,
        name="home-profile",
        ipv4_pool=pools["dynamic"],
        fup_pool=throttled,
        packages=[home],
    )
    customer = register(username="heavy")
    RadAcct.objects.create(
        session_id="f1", unique_id="f1", username="heavy", nas_ip_address="10.0.0.1"
    )

    assert ("Framed-Pool", ":=", "dyn-a") in rows(RadGroupReply, groupname=f"pkg-{home.pk}")
    assert ("Framed-Pool", ":=", "fup-a") in rows(RadGroupReply, groupname=f"fup-{home.pk}")
    tasks.status_changed_task(
        event="customer.status_changed", customer_id=customer.pk, old="active", new="fup"
    )
    # Another pool: a CoA cannot move the session, so the customer logs in again.
    assert Disconnect.objects.get(customer_id=customer.pk).kind == "disconnect"


def test_a_fup_pool_must_be_another_dynamic_ipv4_pool(cast, home, pools):
    for fup_pool in (pools["dynamic"], pools["static"], pools["v6"]):
        with pytest.raises(DomainError) as refused:
            network.save_profile(
                actor=None,
                operator=cast.acme_root,
                name="bad",
                ipv4_pool=pools["dynamic"],
                fup_pool=fup_pool,
                packages=[home],
            )
        assert refused.value.fields == {"fup_pool": ["Another kind of pool."]}
    assert not PppoeProfile.objects.exists()


def test_without_a_fup_pool_fup_re_rates_the_session_by_coa(cast, register, home, pools):
    network.save_profile(
        actor=None,
        operator=cast.acme_root,
        name="home-profile",
        ipv4_pool=pools["dynamic"],
        packages=[home],
    )
    customer = register(username="heavy")
    RadAcct.objects.create(
        session_id="f2", unique_id="f2", username="heavy", nas_ip_address="10.0.0.1"
    )

    tasks.status_changed_task(
        event="customer.status_changed", customer_id=customer.pk, old="active", new="fup"
    )

    assert Disconnect.objects.get(customer_id=customer.pk).kind == "coa"


def test_a_fup_pool_is_replaced_with_the_others_and_cannot_be_deleted_while_used(cast, home, pools):
    throttled = network.save_pool(
        actor=None, operator=cast.acme_root, name="fup-a", cidr="100.66.0.0/20"
    )
    other = network.save_pool(
        actor=None, operator=cast.acme_root, name="fup-b", cidr="100.67.0.0/20"
    )
    profile = network.save_profile(
        actor=None,
        operator=cast.acme_root,
        name="home-profile",
        ipv4_pool=pools["dynamic"],
        fup_pool=throttled,
        packages=[home],
    )

    with pytest.raises(ConflictError):
        network.delete_pool(actor=None, pool=throttled)
    moved = network.replace_pool(actor=cast.alice, old=throttled, new=other)

    profile.refresh_from_db()
    assert (moved, profile.fup_pool) == (1, other)
    assert ("Framed-Pool", ":=", "fup-b") in rows(RadGroupReply, groupname=f"fup-{home.pk}")
