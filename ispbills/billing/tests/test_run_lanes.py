"""A run's two lanes (pricing ahead on a second connection, issuing under the counter) with
other writers in between: committed data, so these tests run outside a test transaction."""

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.db.models import Count, Sum

from ispbills.billing import services
from ispbills.billing.models import AdvanceDebit, Bill, BillingRun
from ispbills.catalog import services as catalog
from ispbills.core import events
from ispbills.customers.models import Customer

pytestmark = pytest.mark.django_db(transaction=True)

DHAKA = dt.timezone(dt.timedelta(hours=6))
RUN_AT = dt.datetime(2026, 11, 26, 12, tzinfo=DHAKA)


@pytest.fixture
def customers(cast: Any, register: Any) -> Any:
    """``customers(n)``: n customers of Acme billed on the 1st, registered long ago."""

    def make(count: int) -> list[Any]:
        profile = catalog.save_billing_profile(
            actor=None, operator=cast.acme_root, name="Monthly", due_day=1
        )
        with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), tick=False):
            return [register(billing_profile=profile) for _ in range(count)]

    return make


@pytest.fixture
def second_batch_staged(monkeypatch: Any) -> threading.Event:
    """Set once the pricing lane has staged the run's second batch."""
    staged = threading.Event()
    price_ahead = services._price_ahead

    def spy(**batch: Any) -> Any:
        result = price_ahead(**batch)
        if batch["number"] >= 1:
            staged.set()
        return result

    monkeypatch.setattr(services, "_price_ahead", spy)
    return staged


class AfterFirstBatch:
    """A progress reporter that does ``act()`` once the first batch is committed."""

    def __init__(self, act: Any) -> None:
        self.act = act

    def update(self, done: int, total: int) -> None:
        if done == 2:
            self.act()


class _Killed(RuntimeError):
    pass


def stage_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE starts_with(tablename, 'billing_stage_')"
        )
        return [row[0] for row in cursor.fetchall()]


def numbers() -> list[int]:
    return sorted(Bill.objects.values_list("number", flat=True))


def test_a_run_killed_mid_way_is_resumed_with_nobody_billed_twice_or_missed(cast, customers):
    billed = customers(7)

    def kill() -> None:
        raise _Killed

    with pytest.raises(_Killed):
        services.run_billing(
            tenant_id=cast.acme.pk, at=RUN_AT, batch=2, progress=AfterFirstBatch(kill)
        )
    assert Bill.objects.count() == 2
    assert stage_tables() == []  # the batch priced ahead is dropped with the run
    resumed = services.run_billing(tenant_id=cast.acme.pk, at=RUN_AT, batch=2)

    assert list(BillingRun.objects.order_by("pk").values_list("status", flat=True)) == [
        "failed",
        "succeeded",
    ]
    assert resumed.summary["billed"] == 5
    assert resumed.summary["skipped"] == {"already_billed": 2}
    assert numbers() == [1, 2, 3, 4, 5, 6, 7]
    assert sorted(Bill.objects.values_list("customer_id", flat=True)) == [c.pk for c in billed]
    assert stage_tables() == []


def test_a_bill_made_by_hand_while_its_customer_is_priced_ahead_is_not_issued_again(
    cast, customers, second_batch_staged
):
    billed = customers(6)  # batches of two: the third customer is in the second batch

    def bill_by_hand() -> None:
        assert second_batch_staged.wait(10)
        services.generate_bill(actor=cast.alice, customer=billed[2], at=RUN_AT)

    run = services.run_billing(
        tenant_id=cast.acme.pk, at=RUN_AT, batch=2, progress=AfterFirstBatch(bill_by_hand)
    )

    assert run.summary["billed"] == 5
    assert run.summary["skipped"] == {"already_billed": 1}
    manual = Bill.objects.get(customer=billed[2])
    assert (manual.number, manual.run_id) == (3, None)
    assert numbers() == [1, 2, 3, 4, 5, 6]
    assert Bill.objects.filter(run=run).count() == 5


def test_an_advance_paid_in_while_its_customer_is_priced_ahead_pays_the_bill(
    cast, customers, second_batch_staged
):
    billed = customers(4)

    def pay_in() -> None:
        assert second_batch_staged.wait(10)
        Customer.objects.filter(pk=billed[2].pk).update(advance_balance=Decimal("800.00"))

    run = services.run_billing(
        tenant_id=cast.acme.pk, at=RUN_AT, batch=2, progress=AfterFirstBatch(pay_in)
    )

    bill = Bill.objects.get(customer=billed[2])
    billed[2].refresh_from_db()
    assert (bill.status, bill.advance_applied, bill.payable) == (
        "paid",
        Decimal("800.00"),
        Decimal("0.00"),
    )
    assert billed[2].advance_balance == Decimal("0.00")
    assert list(AdvanceDebit.objects.values_list("bill_id", "amount")) == [
        (bill.pk, Decimal("800.00"))
    ]
    assert run.summary["advance_applied"] == "800.00"
    assert numbers() == [1, 2, 3, 4]


def test_each_batch_announces_its_bills_inside_its_transaction(cast, customers, monkeypatch):
    customers(5)
    seen: list[tuple[int, bool, int, int | None, list[tuple[int, str, int]]]] = []

    def capture(
        event: str, bill_ids: list[int], run_id: int | None, operator_sums: list[dict]
    ) -> None:
        bills = Bill.objects.filter(pk__in=bill_ids, run_id=run_id)
        sums = [(row["operator_id"], row["total"], row["count"]) for row in operator_sums]
        summed = [
            (row["operator_id"], str(row["total"]), row["count"])
            for row in bills.values("operator_id")
            .annotate(total=Sum("total"), count=Count("id"))
            .order_by("operator_id")
        ]
        assert sums == summed  # what the ledger posts is what was issued
        seen.append((len(bill_ids), connection.in_atomic_block, bills.count(), run_id, sums))

    monkeypatch.setitem(events.HANDLERS, "bills.issued", [capture])
    run = services.run_billing(tenant_id=cast.acme.pk, at=RUN_AT, batch=2)

    assert [row[:4] for row in seen] == [
        (2, True, 2, run.pk),
        (2, True, 2, run.pk),
        (1, True, 1, run.pk),
    ]
    assert all(row[4] for row in seen)


@pytest.mark.django_db
def test_what_a_run_updates_on_customers_is_in_no_index():
    """A run's advance debits and extended validities stay HOT updates: neither column is in
    any index (key, expression or predicate) of the customer table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'customers_customer'"
        )
        indexes = cursor.fetchall()

    assert len(indexes) > 10
    assert [name for name, definition in indexes if "advance_balance" in definition] == []
    assert [name for name, definition in indexes if "expires_at" in definition] == []
