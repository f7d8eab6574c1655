"""Customer services: registration, duplicates, lifecycle, archive, transfer, trials, bulk."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection

from ispbills.core.errors import ConflictError, DomainError, NotAllowedError
from ispbills.core.models import AuditEvent
from ispbills.customers import services
from ispbills.customers.models import Customer

Status = Customer.Status


def audit_count(customer: Customer | None = None) -> int:
    events = AuditEvent.objects.filter(object_type="customers.customer")
    return events.filter(object_id=str(customer.pk)).count() if customer else events.count()


def test_register_normalises_and_encrypts(cast: Any, shop: Any) -> None:
    customer = services.register_customer(
        actor=cast.bob,
        operator=cast.north,
        username="rahim.01",
        name="রহিম উদ্দিন",
        mobile="০১৭১১-২২৩৩৪৪",
        service_password="pppoe-pass",
        package=shop.north_home10,
        mac_address="cb-19-71-17-44-94",
        zone=shop.mirpur10,
        custom_price="1,000.5",
        billing_profile=shop.monthly,
    )

    customer.refresh_from_db()
    assert (customer.mobile, customer.mac_address) == ("+8801711223344", "CB:19:71:17:44:94")
    assert customer.custom_price == Decimal("1000.50")
    assert customer.service_password == "pppoe-pass"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT service_password FROM customers_customer WHERE id = %s", [customer.pk]
        )
        assert cursor.fetchone()[0].startswith("fernet:")
    event = AuditEvent.objects.get(verb="customer.created", object_id=str(customer.pk))
    assert event.changes["service_password"] == ["•••", "•••"]
    assert event.changes["mobile"] == [None, "+8801711223344"]
    assert event.operator_id == cast.north.pk


def test_register_reports_every_problem_at_once_and_writes_nothing(cast: Any, shop: Any) -> None:
    with pytest.raises(DomainError) as error:
        services.register_customer(
            actor=cast.bob,
            operator=cast.north,
            username="bad name!",
            name="",
            mobile="0171122334",
            mac_address="zz:zz",
            static_ipv4="10.0.0.300",
            email="not-an-email",
            package=shop.hotspot,
            service_password="",
        )

    assert set(error.value.fields) == {
        "username",
        "name",
        "mobile",
        "mac_address",
        "static_ipv4",
        "email",
        "package",
        "service_password",
    }
    assert Customer.objects.count() == 0
    assert audit_count() == 0


def test_register_checks_package_model_and_password(cast: Any, shop: Any) -> None:
    with pytest.raises(DomainError) as error:
        services.register_customer(
            actor=cast.bob,
            operator=cast.north,
            username="u1",
            name="U",
            mobile="01711000111",
            package=shop.hotspot,
            service_password="",
        )
    assert set(error.value.fields) == {"package", "service_password"}


def test_a_reseller_cannot_use_a_sibling_resellers_variant_or_zone(cast: Any, shop: Any) -> None:
    other_zone = services.save_zone(actor=None, operator=cast.south, name="South block")

    with pytest.raises(DomainError) as error:
        services.register_customer(
            actor=cast.bob,
            operator=cast.north,
            username="u1",
            name="U",
            mobile="01711000111",
            service_password="pw",
            package=shop.south_home10,
            zone=other_zone,
        )

    assert error.value.fields == {
        "zone": ["Not available to this operator."],
        "package": ["Not available to this operator."],
    }
    assert Customer.objects.count() == 0


def test_a_reseller_cannot_register_under_another_subtree(cast: Any, shop: Any) -> None:
    with pytest.raises(NotAllowedError):
        services.register_customer(
            actor=cast.bob,
            operator=cast.south,
            username="u1",
            name="U",
            mobile="01711000111",
            service_password="pw",
            package=shop.home10,
        )
    assert Customer.objects.count() == 0


def test_duplicates_name_the_clashing_customer_when_visible(
    cast: Any, shop: Any, new_customer: Any
) -> None:
    first = new_customer(
        username="Karim",
        mac_address="AA:BB:CC:00:11:22",
        static_ipv4="10.1.1.5",
        mobile="01811000999",
    )
    hidden = new_customer(operator=cast.south, username="sumon", mobile="01811000888")

    with pytest.raises(ConflictError) as error:
        services.register_customer(
            actor=cast.bob,
            operator=cast.north,
            username="KARIM",
            name="Other",
            mobile="+8801811000999",
            service_password="pw",
            package=shop.home10,
            mac_address="aabb.cc00.1122",
            static_ipv4="10.1.1.5",
        )
    fields = error.value.fields
    assert fields["username"] == [f"Already used by customer {first} (#{first.pk})."]
    assert set(fields) == {"username", "mobile", "mac_address", "static_ipv4"}

    with pytest.raises(ConflictError) as error:
        services.register_customer(
            actor=cast.bob,
            operator=cast.north,
            username="Sumon",
            name="X",
            mobile="01911000000",
            service_password="pw",
            package=shop.home10,
        )
    assert error.value.fields["username"] == ["Already used by another customer of this ISP."]
    assert str(hidden.pk) not in error.value.message
    assert Customer.objects.count() == 2


def test_family_accounts_may_share_a_mobile(cast: Any, new_customer: Any) -> None:
    parent = new_customer(mobile="01555000111")

    child = new_customer(mobile="01555000111", parent=parent)

    assert (child.parent_id, child.mobile) == (parent.pk, "+8801555000111")


@pytest.mark.parametrize(
    ("start", "to", "allowed"),
    [
        (Status.ACTIVE, Status.SUSPENDED, True),
        (Status.ACTIVE, Status.FUP, True),
        (Status.SUSPENDED, Status.ACTIVE, True),
        (Status.SUSPENDED, Status.FUP, False),
        (Status.DISABLED, Status.SUSPENDED, False),
        (Status.DISABLED, Status.ACTIVE, True),
        (Status.FUP, Status.ACTIVE, True),
        (Status.DELETED, Status.ACTIVE, False),
    ],
)
def test_lifecycle_follows_the_state_machine(
    cast: Any, new_customer: Any, start: str, to: str, allowed: bool
) -> None:
    customer = new_customer()
    Customer.objects.filter(pk=customer.pk).update(status=start)
    before = audit_count(customer)

    if allowed:
        changed = services.change_status(actor=cast.bob, customer=customer, to=to, reason="unpaid")
        assert (changed.status, changed.status_reason) == (to, "unpaid")
        event = AuditEvent.objects.filter(object_id=str(customer.pk)).latest("id")
        assert event.changes == {"status": [start, to], "reason": "unpaid"}
    else:
        with pytest.raises(DomainError):
            services.change_status(actor=cast.bob, customer=customer, to=to)
        assert Customer.objects.get(pk=customer.pk).status == start
        assert audit_count(customer) == before


def test_status_changes_emit_an_event_job_in_the_same_transaction(
    cast: Any, new_customer: Any
) -> None:
    from ispbills.core import events

    deferred: list[dict[str, Any]] = []

    class Recorder:
        @staticmethod
        def defer(**payload: Any) -> None:
            deferred.append(payload)

    customer = new_customer()
    events.SUBSCRIBERS["customer.status_changed"] = [Recorder]
    try:
        services.suspend_customer(actor=cast.bob, customer=customer, reason="unpaid")
    finally:
        events.SUBSCRIBERS.pop("customer.status_changed")

    assert deferred == [
        {
            "event": "customer.status_changed",
            "customer_id": customer.pk,
            "old": "active",
            "new": "suspended",
            "actor_id": cast.bob.pk,
        }
    ]


def test_managers_see_and_change_only_assigned_customers(cast: Any, new_customer: Any) -> None:
    mine = new_customer(operator=cast.acme_root, manager=cast.carol)
    other = new_customer(operator=cast.acme_root)

    assert list(Customer.objects.restrict(cast.carol)) == [mine]
    with pytest.raises(NotAllowedError):
        services.delete_customer(actor=cast.carol, customer=mine)  # managers cannot delete
    services.suspend_customer(actor=cast.carol, customer=mine)
    assert Customer.objects.get(pk=other.pk).status == Status.ACTIVE


def test_delete_archives_and_restore_brings_back_the_previous_status(
    cast: Any, new_customer: Any
) -> None:
    customer = new_customer(mac_address="AA:BB:CC:00:00:01")
    services.suspend_customer(actor=cast.bob, customer=customer)
    services.delete_customer(actor=cast.bob, customer=customer, reason="left")
    # Its MAC is free again while it is archived.
    new_customer(username="newcomer", mac_address="AA:BB:CC:00:00:02")

    restored = services.restore_customer(actor=cast.bob, customer=customer, reason="came back")

    assert (restored.status, restored.deleted_at) == (Status.SUSPENDED, None)
    verbs = list(
        AuditEvent.objects.filter(object_id=str(customer.pk))
        .order_by("id")
        .values_list("verb", flat=True)
    )
    assert verbs == [
        "customer.created",
        "customer.suspended",
        "customer.deleted",
        "customer.restored",
    ]


def test_restore_refuses_when_its_mac_was_given_to_someone_else(
    cast: Any, new_customer: Any
) -> None:
    customer = new_customer(mac_address="AA:BB:CC:00:00:01")
    services.delete_customer(actor=cast.bob, customer=customer)
    taker = new_customer(mac_address="AA:BB:CC:00:00:01")

    with pytest.raises(ConflictError, match="mac_address"):
        services.restore_customer(actor=cast.bob, customer=customer)

    assert Customer.objects.get(pk=customer.pk).status == Status.DELETED
    assert taker.mac_address == "AA:BB:CC:00:00:01"


def test_a_deleted_customer_cannot_be_edited(cast: Any, new_customer: Any) -> None:
    customer = new_customer()
    services.delete_customer(actor=cast.bob, customer=customer)

    with pytest.raises(DomainError, match="Restore"):
        services.update_customer(actor=cast.bob, customer=customer, name="Changed")


def test_update_logs_only_changed_fields(cast: Any, shop: Any, new_customer: Any) -> None:
    customer = new_customer()

    services.update_customer(
        actor=cast.bob,
        customer=customer,
        name=customer.name,
        package=shop.home20,
        service_password="new-pass",
    )

    event = AuditEvent.objects.filter(verb="customer.updated").get()
    assert event.changes == {"package": ["Home 10", "Home 20"], "service_password": ["•••", "•••"]}


def test_transfer_moves_within_the_isp_and_checks_the_catalog(
    cast: Any, shop: Any, new_customer: Any
) -> None:
    customer = new_customer(package=shop.north_home10, zone=shop.north_zone)

    with pytest.raises(DomainError) as error:
        services.transfer_customer(actor=cast.alice, customer=customer, to_operator=cast.south)
    assert set(error.value.fields) == {"package", "zone"}
    services.update_customer(actor=cast.alice, customer=customer, package=shop.home10, zone=None)

    moved = services.transfer_customer(
        actor=cast.alice, customer=customer, to_operator=cast.south, reason="moved house"
    )

    assert moved.operator_id == cast.south.pk
    assert Customer.objects.restrict(cast.bob).count() == 0
    with pytest.raises(NotAllowedError):
        services.transfer_customer(actor=cast.alice, customer=moved, to_operator=cast.globex_east)


def test_trials_end_by_themselves_exactly_on_time(cast: Any, new_customer: Any) -> None:
    end = dt.datetime(2026, 12, 1, 18, 0, tzinfo=dt.UTC)
    trial = new_customer(is_trial=True, trial_ends_at=end)
    paying = new_customer()

    with time_machine.travel(end - dt.timedelta(seconds=1), tick=False):
        assert services.expire_trials() == 0
    with time_machine.travel(end, tick=False):
        assert services.expire_trials() == 1
        assert services.expire_trials() == 0  # idempotent

    trial.refresh_from_db()
    assert (trial.status, trial.status_reason) == (Status.DISABLED, "trial ended")
    assert Customer.objects.get(pk=paying.pk).status == Status.ACTIVE
    event = AuditEvent.objects.get(verb="customer.disabled", object_id=str(trial.pk))
    assert (event.actor_label, event.tenant_id) == ("system", cast.acme.pk)


def test_bulk_update_touches_only_customers_in_reach(
    cast: Any, shop: Any, new_customer: Any
) -> None:
    mine = [new_customer() for _ in range(3)]
    theirs = new_customer(operator=cast.south)

    count = services.bulk_update_customers(
        actor=cast.bob,
        customers=Customer.objects.all(),
        changes={"zone": shop.mirpur10, "billing_profile": shop.monthly},
    )

    assert count == 3
    assert {c.zone_id for c in Customer.objects.filter(pk__in=[c.pk for c in mine])} == {
        shop.mirpur10.pk
    }
    assert Customer.objects.get(pk=theirs.pk).zone_id is None
    assert AuditEvent.objects.filter(verb="customer.updated").count() == 3


def test_bulk_update_refuses_a_package_of_another_service_model(
    cast: Any, shop: Any, new_customer: Any
) -> None:
    new_customer()

    with pytest.raises(DomainError) as error:
        services.bulk_update_customers(
            actor=cast.bob, customers=Customer.objects.all(), changes={"package": shop.hotspot}
        )

    assert error.value.fields == {"package": ["1 selected customers use another service model."]}
    assert Customer.objects.filter(package=shop.hotspot).count() == 0


def test_mac_bind_is_all_or_nothing(cast: Any, new_customer: Any) -> None:
    a, b = new_customer(username="alpha"), new_customer(username="beta")
    hidden = new_customer(operator=cast.south, username="gamma")

    with pytest.raises(DomainError) as error:
        services.bind_macs(
            actor=cast.bob,
            tenant_id=cast.acme.pk,
            pairs=[
                ("ALPHA", "aa-bb-cc-dd-ee-01"),
                ("beta", "not a mac"),
                ("gamma", "aabbccddee03"),
            ],
        )
    assert set(error.value.fields) == {"line 2", "gamma"}
    assert Customer.objects.exclude(mac_address="").count() == 0

    assert (
        services.bind_macs(
            actor=cast.bob,
            tenant_id=cast.acme.pk,
            pairs=[("ALPHA", "aa-bb-cc-dd-ee-01"), ("beta", "aabb.ccdd.ee02")],
        )
        == 2
    )
    assert Customer.objects.get(pk=a.pk).mac_address == "AA:BB:CC:DD:EE:01"
    assert Customer.objects.get(pk=b.pk).mac_address == "AA:BB:CC:DD:EE:02"
    assert Customer.objects.get(pk=hidden.pk).mac_address == ""
