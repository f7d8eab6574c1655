"""Bulk billing: void many bills and issue many customers' bills, ticked or filtered, as jobs."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from ispbills.billing import bulk, services, voids
from ispbills.billing.models import AdvanceDebit, Bill, InvoiceCounter
from ispbills.core import jobs
from ispbills.core.errors import DomainError, NotAllowedError
from ispbills.core.models import AuditEvent, JobRun
from ispbills.core.testing.isolation import client_as
from ispbills.customers.models import Customer

pytestmark = pytest.mark.django_db

DHAKA = dt.timezone(dt.timedelta(hours=6))
NOV = dt.datetime(2026, 11, 26, 12, tzinfo=DHAKA)


@pytest.fixture
def old_customer(register: Any) -> Any:
    def make(**fields: Any) -> Any:
        with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), tick=False):
            return register(**fields)

    return make


def test_void_bills_reverses_each_voidable_bill_and_leaves_the_others(cast, old_customer):
    rich = old_customer()
    Customer.objects.filter(pk=rich.pk).update(advance_balance=Decimal("300.00"))
    bills = [services.generate_bill(actor=None, customer=c, at=NOV) for c in (rich, old_customer())]
    paid = services.generate_bill(actor=None, customer=old_customer(), at=NOV)
    Bill.objects.filter(pk=paid.pk).update(paid_amount=Decimal("100.00"), status="partially_paid")
    voided_before = services.generate_bill(actor=None, customer=old_customer(), at=NOV)
    reversal_before = voids.void_bill(actor=None, bill=voided_before, reason="typo")

    summary = voids.void_bills(
        actor=cast.alice, bills=Bill.objects.all(), reason="wrong month", progress=None
    )

    assert summary == {
        "voided": 2,
        "advance_returned": "300.00",
        "skipped": {"paid": 1, "void": 1, "reversal": 1},
    }
    reversals = Bill.objects.filter(kind="reversal", reverses__in=bills).order_by("number")
    assert [r.number for r in reversals] == [6, 7]  # after 1-4 and the earlier reversal 5
    assert [r.total for r in reversals] == [Decimal("-800.00"), Decimal("-800.00")]
    assert [line["amount"] for line in reversals[0].lines] == ["-800.00"]
    assert InvoiceCounter.objects.get(tenant=cast.acme).last_number == 7
    assert reversal_before.number == 5
    assert {b.status for b in Bill.objects.filter(pk__in=[b.pk for b in bills])} == {"void"}
    Bill.objects.get(pk=paid.pk, status="partially_paid")
    rich.refresh_from_db()
    assert rich.advance_balance == Decimal("300.00")  # consumed, then given back
    assert AdvanceDebit.objects.filter(customer_id=rich.pk).order_by("amount").values_list(
        "amount", flat=True
    )[0] == Decimal("-300.00")
    assert AuditEvent.objects.filter(verb="bill.voided").count() == 3
    # The period is free again: the same customers can be billed anew.
    again = services.generate_bill(actor=None, customer=rich, at=NOV)
    assert again.number == 8


def test_void_bills_only_reaches_the_actors_subtree_and_needs_the_right(cast, home, old_customer):
    from ispbills.accounting.funds import add_funds
    from ispbills.customers.services import register_customer

    north_bill = services.generate_bill(actor=None, customer=old_customer(), at=NOV)
    with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), tick=False):
        southern = register_customer(
            actor=None,
            operator=cast.south,
            username="south1",
            name="South One",
            mobile="01811000001",
            service_password="s3cret-pw",
            package=home,
        )
    # Acme South is a prepaid reseller: it pays for the bill it issues.
    add_funds(actor=None, operator=cast.south, amount="800", reference="F-1")
    south_bill = services.generate_bill(actor=None, customer=southern, at=NOV)

    with pytest.raises(NotAllowedError):
        voids.void_bills(actor=cast.fresh(cast.nina), bills=Bill.objects.all(), reason="x")
    with pytest.raises(DomainError):
        voids.void_bills(actor=cast.alice, bills=Bill.objects.all(), reason="  ")
    assert not Bill.objects.filter(kind="reversal").exists()
    summary = voids.void_bills(actor=cast.fresh(cast.sue), bills=Bill.objects.all(), reason="x")

    assert summary["voided"] == 1
    assert Bill.objects.get(pk=north_bill.pk).status == "unpaid"
    assert Bill.objects.get(pk=south_bill.pk).status == "void"
    assert list(
        AuditEvent.objects.filter(verb="bill.voided").values_list("object_id", flat=True)
    ) == [str(south_bill.pk)]


def test_generate_bills_issues_each_eligible_customer_once_with_reasons(cast, old_customer):
    from ispbills.customers import services as customers

    ready = [old_customer() for _ in range(3)]
    paused = old_customer()
    customers.suspend_customer(actor=None, customer=paused, reason="test")
    services.generate_bill(actor=None, customer=ready[0], at=NOV)

    summary = bulk.generate_bills(actor=cast.alice, customers=Customer.objects.all(), at=NOV)
    again = bulk.generate_bills(actor=cast.alice, customers=Customer.objects.all(), at=NOV)

    assert summary == {
        "billed": 2,
        "total": "1600.00",
        "skipped": {"already_billed": 1, "suspended": 1},
    }
    assert again["billed"] == 0
    assert again["skipped"] == {"already_billed": 3, "suspended": 1}
    assert sorted(Bill.objects.values_list("number", flat=True)) == [1, 2, 3]
    assert AuditEvent.objects.filter(verb="bill.issued").count() == 3  # 1 by hand, 2 in bulk
    with pytest.raises(NotAllowedError):
        bulk.generate_bills(actor=cast.fresh(cast.nina), customers=Customer.objects.all(), at=NOV)
    assert Bill.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_panel_voids_the_filtered_bills_as_a_job(cast, old_customer):
    keep = services.generate_bill(actor=None, customer=old_customer(), at=NOV)
    target = services.generate_bill(actor=None, customer=old_customer(), at=NOV)
    client = client_as(cast.alice)

    listing = client.get(f"/bills/?q={target.customer.username}").content.decode()
    page = client.get(f"/bills/void/?scope=filtered&f_q={target.customer.username}")
    refused = client.post(
        "/bills/void/",
        {"confirm": "1", "scope": "filtered", "f_q": target.customer.username, "reason": ""},
    )
    started = client.post(
        "/bills/void/",
        {"confirm": "1", "scope": "filtered", "f_q": target.customer.username, "reason": "dup"},
    )

    assert "/bills/void/?scope=filtered&amp;f_q=" in listing
    assert "1 bills chosen; 1 can be voided" in page.content.decode()
    assert refused.status_code == 200
    assert JobRun.objects.count() == 1  # only the second submission started one
    run = JobRun.objects.get()
    assert started["Location"] == f"/jobs/{run.pk}/"
    jobs.run_worker(queues=["bulk"], wait=False)
    run.refresh_from_db()
    assert (run.status, run.error, run.result.get("voided")) == (JobRun.Status.SUCCEEDED, "", 1)
    assert run.message == "1 bills voided"
    client.post(
        "/bills/void/",
        {"confirm": "1", "scope": "filtered", "f_q": target.customer.username, "reason": "again"},
    )
    jobs.run_worker(queues=["bulk"], wait=False)
    again = JobRun.objects.latest("pk")
    assert again.message == (
        "0 bills voided · left as they were: a reversal, not an invoice: 1, already void: 1"
    )
    assert Bill.objects.get(pk=target.pk).status == "void"
    assert Bill.objects.get(pk=keep.pk).status == "unpaid"


@pytest.mark.django_db(transaction=True)
def test_the_panel_issues_bills_for_ticked_customers(cast, old_customer):
    chosen, other = old_customer(), old_customer()
    client = client_as(cast.alice)

    asked = client.post("/bills/issue/", {"scope": "selected", "ids": [chosen.pk]})
    started = client.post(
        "/bills/issue/",
        {"confirm": "1", "scope": "selected", "ids": [chosen.pk], "date": "2026-11-26"},
    )

    assert "1 customers chosen" in asked.content.decode()
    assert started.status_code == 302
    jobs.run_worker(queues=["bulk"], wait=False)
    bill = Bill.objects.get()
    assert (bill.customer_id, bill.period_start) == (chosen.pk, dt.date(2026, 11, 1))
    assert not Bill.objects.filter(customer=other).exists()


@pytest.mark.django_db(transaction=True)
def test_the_api_bulk_actions_take_ids_or_filters(cast, api_for, old_customer):
    first, second = old_customer(), old_customer()
    api = api_for(cast.alice)

    neither = api.post("/api/v1/bills/bulk-issue/", {}, format="json")
    bad_filter = api.post(
        "/api/v1/bills/bulk-issue/", {"filters": {"status": "sleeping"}}, format="json"
    )
    issued = api.post(
        "/api/v1/bills/bulk-issue/",
        {"ids": [first.pk, second.pk], "date": "2026-11-26"},
        format="json",
    )
    assert (neither.status_code, bad_filter.status_code, issued.status_code) == (400, 400, 202)
    jobs.run_worker(queues=["bulk"], wait=False)
    assert Bill.objects.count() == 2

    voided = api.post(
        "/api/v1/bills/bulk-void/",
        {"filters": {"q": first.username}, "reason": "moved"},
        format="json",
    )
    nina = api_for(cast.nina).post(
        "/api/v1/bills/bulk-void/", {"ids": [1], "reason": "x"}, format="json"
    )
    assert (voided.status_code, nina.status_code) == (202, 403)
    jobs.run_worker(queues=["bulk"], wait=False)
    assert list(
        Bill.objects.filter(kind="invoice", status="void").values_list("customer_id", flat=True)
    ) == [first.pk]
