"""Suspension of overdue and expired customers, and reminders, on a frozen clock."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection

from ispbills.billing import automation, services, voids
from ispbills.billing.models import Bill, Reminder
from ispbills.catalog import services as catalog
from ispbills.core import events
from ispbills.core.models import AuditEvent
from ispbills.customers.models import Customer
from ispbills.radius import provisioning
from ispbills.radius.models import Disconnect

pytestmark = pytest.mark.django_db

DHAKA = dt.timezone(dt.timedelta(hours=6))


def at(day: str, hour: int = 12) -> dt.datetime:
    """A moment of a day of Dhaka's calendar."""
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=DHAKA)


# A bill of the period from 10 November is due on 10 November; with 3 grace days it may be
# paid through 13 November and the customer is suspended from 14 November 00:00 in Dhaka.
BOUNDARY = dt.datetime(2026, 11, 14, tzinfo=DHAKA)


@pytest.fixture
def profile(cast: Any) -> Any:
    names = iter(range(1, 1000))

    def make(grace_days: int = 3) -> Any:
        return catalog.save_billing_profile(
            actor=None,
            operator=cast.acme_root,
            name=f"Profile {next(names)}",
            due_day=10,
            grace_days=grace_days,
        )

    return make


@pytest.fixture
def billed(register: Any, profile: Any) -> Any:
    """``billed(grace_days=3)``: a customer who joined long ago with an unpaid bill due on
    10 November 2026."""

    def make(grace_days: int = 3, **fields: Any) -> tuple[Customer, Bill]:
        with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), tick=False):
            customer = register(billing_profile=profile(grace_days), **fields)
        bill = services.generate_bill(actor=None, customer=customer, at=at("2026-11-10"))
        assert bill.due_on == dt.date(2026, 11, 10)
        return customer, bill

    return make


def online(username: str) -> None:
    """Open an accounting session for ``username``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO radacct (acctsessionid, acctuniqueid, username, nasipaddress, "
            "acctstarttime) VALUES (%s, %s, %s, '10.0.0.1', now())",
            [f"s-{username}", f"u-{username}", username],
        )


def radcheck(username: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT attribute, value FROM radcheck WHERE username = %s", [username])
        return set(cursor.fetchall())


def suspend_at(moment: dt.datetime) -> dict[str, int]:
    with time_machine.travel(moment, tick=False):
        return automation.suspend_overdue()


def test_suspends_exactly_when_the_grace_ends_and_not_an_hour_earlier(cast, billed):
    customer, bill = billed(grace_days=3)

    assert suspend_at(BOUNDARY - dt.timedelta(hours=1)) == {"unpaid": 0, "expired": 0}
    assert suspend_at(BOUNDARY - dt.timedelta(microseconds=1)) == {"unpaid": 0, "expired": 0}
    assert Customer.objects.get(pk=customer.pk).status == "active"
    assert not AuditEvent.objects.filter(verb="customer.suspended").exists()

    assert suspend_at(BOUNDARY) == {"unpaid": 1, "expired": 0}

    customer.refresh_from_db()
    assert customer.status == "suspended"
    assert customer.status_reason == f"unpaid {bill.display_number} past grace"
    assert customer.status_changed_at == BOUNDARY
    event = AuditEvent.objects.get(verb="customer.suspended", object_id=str(customer.pk))
    assert (event.actor_label, event.tenant_id, event.operator_id) == (
        "system",
        cast.acme.pk,
        cast.north.pk,
    )
    assert event.changes == {
        "status": ["active", "suspended"],
        "reason": f"unpaid {bill.display_number} past grace",
    }
    assert ("Auth-Type", "Reject") in radcheck(customer.username)


def test_the_suspended_have_the_radius_rows_provisioning_calls_for(billed):
    plain, _ = billed(expires_at=BOUNDARY + dt.timedelta(days=20))
    heavy, _ = billed()
    Customer.objects.filter(pk=heavy.pk).update(status="fup")
    provisioning.provision_customers([heavy.pk])

    assert suspend_at(BOUNDARY) == {"unpaid": 2, "expired": 0}

    assert ("Auth-Type", "Reject") in radcheck(plain.username)
    assert ("Expiration", str(int((BOUNDARY + dt.timedelta(days=20)).timestamp()))) in radcheck(
        plain.username
    )
    assert ("Auth-Type", "Reject") in radcheck(heavy.username)
    assert not provisioning.drift()  # the FUP group gone, the package group back


def test_grace_comes_from_each_customers_billing_profile(billed):
    no_grace, _ = billed(grace_days=0)
    week, _ = billed(grace_days=7)

    # Due 10 November: no grace → from 11 November 00:00; 7 days → from 18 November 00:00.
    assert suspend_at(dt.datetime(2026, 11, 10, 23, 59, tzinfo=DHAKA))["unpaid"] == 0
    assert suspend_at(dt.datetime(2026, 11, 11, tzinfo=DHAKA))["unpaid"] == 1
    assert suspend_at(dt.datetime(2026, 11, 17, 23, 59, tzinfo=DHAKA))["unpaid"] == 0
    assert suspend_at(dt.datetime(2026, 11, 18, tzinfo=DHAKA))["unpaid"] == 1

    assert Customer.objects.get(pk=no_grace.pk).status == "suspended"
    assert Customer.objects.get(pk=week.pk).status == "suspended"


def test_partially_paid_bills_suspend_and_paid_or_void_bills_do_not(cast, billed):
    partly, partly_bill = billed()
    paid, paid_bill = billed()
    voided, voided_bill = billed()
    Bill.objects.filter(pk=partly_bill.pk).update(
        status="partially_paid", paid_amount=Decimal("100.00")
    )
    Bill.objects.filter(pk=paid_bill.pk).update(status="paid", paid_amount=paid_bill.total)
    voids.void_bill(actor=cast.alice, bill=voided_bill, reason="billed in error")

    assert suspend_at(BOUNDARY) == {"unpaid": 1, "expired": 0}

    statuses = dict(
        Customer.objects.filter(pk__in=[partly.pk, paid.pk, voided.pk]).values_list("pk", "status")
    )
    assert statuses == {partly.pk: "suspended", paid.pk: "active", voided.pk: "active"}


def test_customers_whose_validity_ended_are_suspended_on_the_second(register):
    ends = dt.datetime(2026, 12, 1, 18, 0, tzinfo=dt.UTC)
    prepaid = register(expires_at=ends)
    later = register(expires_at=ends + dt.timedelta(days=1))

    assert suspend_at(ends - dt.timedelta(seconds=1)) == {"unpaid": 0, "expired": 0}
    assert suspend_at(ends) == {"unpaid": 0, "expired": 1}

    prepaid.refresh_from_db()
    assert (prepaid.status, prepaid.status_reason) == ("suspended", "validity ended")
    assert Customer.objects.get(pk=later.pk).status == "active"
    event = AuditEvent.objects.get(verb="customer.suspended", object_id=str(prepaid.pk))
    assert event.changes["reason"] == "validity ended"


def test_a_second_run_suspends_nobody_new_and_other_statuses_are_left_alone(cast, billed):
    billed()
    disabled, _ = billed()
    Customer.objects.filter(pk=disabled.pk).update(status="disabled")

    assert suspend_at(BOUNDARY) == {"unpaid": 1, "expired": 0}
    assert suspend_at(BOUNDARY + dt.timedelta(days=1)) == {"unpaid": 0, "expired": 0}

    assert AuditEvent.objects.filter(verb="customer.suspended").count() == 1
    assert Customer.objects.get(pk=disabled.pk).status == "disabled"


def test_online_customers_get_a_disconnect_request(billed, register):
    live, _ = billed()
    offline, _ = billed()
    expired = register(expires_at=BOUNDARY - dt.timedelta(days=1))
    online(live.username)
    online(expired.username)
    with connection.cursor() as cursor:  # a closed session does not make one online
        cursor.execute(
            "INSERT INTO radacct (acctsessionid, acctuniqueid, username, nasipaddress, "
            "acctstarttime, acctstoptime) VALUES ('old', 'old', %s, '10.0.0.1', now(), now())",
            [offline.username],
        )

    assert suspend_at(BOUNDARY) == {"unpaid": 2, "expired": 1}

    requests = set(Disconnect.objects.values_list("customer_id", "kind", "reason", "status"))
    assert requests == {
        (live.pk, "disconnect", "unpaid bill past grace", "pending"),
        (expired.pk, "disconnect", "validity ended", "pending"),
    }


def test_disabled_isps_are_left_alone(cast, billed):
    customer, _ = billed()
    cast.acme.is_active = False
    cast.acme.save(update_fields=["is_active"])

    assert suspend_at(BOUNDARY) == {"unpaid": 0, "expired": 0}
    assert Customer.objects.get(pk=customer.pk).status == "active"


@pytest.fixture
def heard(monkeypatch: Any) -> list[tuple[str, dict[str, Any]]]:
    """The reminder events emitted, as (event, payload)."""
    heard: list[tuple[str, dict[str, Any]]] = []
    for name in ("bill.due_soon", "customer.expiring"):
        monkeypatch.setitem(
            events.HANDLERS,
            name,
            [lambda event, **payload: heard.append((event, payload))],
        )
    return heard


def test_reminders_are_stored_once_with_one_event_each(billed, register, settings, heard):
    settings.BILLING_REMIND_DAYS_BEFORE_DUE = 3
    settings.BILLING_REMIND_DAYS_BEFORE_EXPIRY = 3
    customer, bill = billed()
    _paid, paid_bill = billed()
    Bill.objects.filter(pk=paid_bill.pk).update(status="paid", paid_amount=paid_bill.total)
    expiring = register(expires_at=at("2026-11-09", 20))
    register(expires_at=at("2026-11-12", 20))  # four days away on 7 November

    # On 6 November the bill due on the 10th is four days away: nothing yet.
    assert automation.compute_reminders(now=at("2026-11-06")) == {"due_soon": 0, "expiring": 0}
    assert automation.compute_reminders(now=at("2026-11-07")) == {"due_soon": 1, "expiring": 1}
    assert automation.compute_reminders(now=at("2026-11-07", 18)) == {
        "due_soon": 0,
        "expiring": 0,
    }

    assert set(Reminder.objects.values_list("customer_id", "bill_id", "kind", "for_date")) == {
        (customer.pk, bill.pk, "due_soon", dt.date(2026, 11, 10)),
        (expiring.pk, None, "expiring", dt.date(2026, 11, 9)),
    }
    due_soon = Reminder.objects.get(kind="due_soon")
    expiry = Reminder.objects.get(kind="expiring")
    assert sorted(heard, key=lambda item: item[0]) == [
        (
            "bill.due_soon",
            {
                "reminder_id": due_soon.pk,
                "customer_id": customer.pk,
                "for_date": "2026-11-10",
                "bill_id": bill.pk,
            },
        ),
        (
            "customer.expiring",
            {"reminder_id": expiry.pk, "customer_id": expiring.pk, "for_date": "2026-11-09"},
        ),
    ]


def test_reminders_list_shows_own_reminders_to_billing_staff(cast, billed, client):
    customer, bill = billed()
    automation.compute_reminders(now=at("2026-11-08"))
    client.force_login(cast.alice)

    page = client.get("/reminders/", {"kind": "due_soon", "since": "2026-11-10"})
    empty = client.get("/reminders/", {"kind": "expiring"})

    assert page.status_code == 200
    assert customer.name in page.content.decode()
    assert bill.display_number in page.content.decode()
    assert customer.name not in empty.content.decode()
