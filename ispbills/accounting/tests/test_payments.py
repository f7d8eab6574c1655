"""Payments owe their entries in their own transaction (the outbox) and reach the ledger when
the poster drains it: received, reversed, edited, refused, rolled back, raced, crashed."""

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from procrastinate.contrib.django.models import ProcrastinateJob

from ispbills.accounting import services, tasks
from ispbills.accounting.models import Account, JournalEntry, PendingPosting
from ispbills.accounting.tests.test_properties import assert_books_consistent
from ispbills.billing import services as billing
from ispbills.core import events, jobs
from ispbills.core.errors import ConflictError
from ispbills.payments import services as payments
from ispbills.payments.models import Payment

pytestmark = pytest.mark.django_db

DHAKA = dt.timezone(dt.timedelta(hours=6))
NOV = dt.datetime(2026, 11, 10, 12, tzinfo=DHAKA)


@pytest.fixture
def customer(register: Any) -> Any:
    """A customer of Acme North since 2025 with an ৳800 bill for November 2026."""
    with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), tick=False):
        customer = register()
    billing.generate_bill(actor=None, customer=customer, at=NOV)
    return customer


def lines_of(entry: JournalEntry) -> list[tuple[str, str, Decimal, Decimal]]:
    return [
        (line.account.kind, str(line.account), line.debit, line.credit)
        for line in entry.lines.select_related("account__user")
    ]


def payment_entries() -> Any:
    """The payments' entries (bills and reseller charges post their own)."""
    return JournalEntry.objects.filter(source_type="payments.payment")


def assert_back_to(before: dict[Any, Decimal]) -> None:
    """Every account holds what it held before (accounts opened since, nothing)."""
    after = dict(Account.objects.values_list("pk", "balance"))
    assert after == before | {pk: Decimal("0.00") for pk in after.keys() - before.keys()}


def balance(operator: Any, kind: str, user: Any = None) -> Decimal:
    return services.account_for(operator, kind, user).balance


def test_cash_goes_to_the_collectors_cash_then_to_bills_and_advance(cast, customer):
    with time_machine.travel(dt.datetime(2026, 11, 12, 20, tzinfo=dt.UTC), tick=False):
        payment = payments.receive_payment(
            actor=cast.alice,
            customer=customer,
            amount="1000",
            method="cash",
            reference="R-1",
            collector=cast.carol,
        )

    owed = PendingPosting.objects.get()
    assert (owed.tenant_id, owed.source_type, owed.source_id, owed.purpose) == (
        cast.acme.pk,
        "payments.payment",
        str(payment.pk),
        "received",
    )
    assert not payment_entries().exists()  # the payment did not touch the ledger

    assert services.post_pending() == 1

    assert not PendingPosting.objects.exists()
    entry = payment_entries().get()
    assert (entry.source_type, entry.source_id, entry.purpose) == (
        "payments.payment",
        str(payment.pk),
        "received",
    )
    assert (entry.operator, entry.amount) == (cast.north, Decimal("1000.00"))
    assert entry.day == dt.date(2026, 11, 13)  # 02:00 in Dhaka
    assert lines_of(entry) == [
        ("cash", "Cash · carol", Decimal("1000.00"), Decimal("0.00")),
        ("receivable", "Customer receivables", Decimal("0.00"), Decimal("800.00")),
        ("advances", "Customer advances", Decimal("0.00"), Decimal("200.00")),
    ]
    assert balance(cast.north, "cash", cast.carol) == Decimal("1000.00")
    assert balance(cast.north, "advances") == Decimal("200.00")


def test_a_gateway_payment_is_cleared_gross_and_its_charge_offsets_the_fees(cast, customer):
    payments.receive_payment(
        actor=None,
        customer=customer,
        amount="820",
        charge="20",
        method="online",
        gateway="bkash",
        reference="TX-1",
    )
    services.post_pending()

    entry = payment_entries().get()
    assert lines_of(entry) == [
        ("gateway_clearing", "Gateway clearing", Decimal("820.00"), Decimal("0.00")),
        ("receivable", "Customer receivables", Decimal("0.00"), Decimal("800.00")),
        ("gateway_fees", "Gateway fees", Decimal("0.00"), Decimal("20.00")),
    ]
    assert "charge 20.00" in entry.memo


@pytest.mark.parametrize("batches", ["apart", "together"])
def test_a_reversal_posts_the_reversing_entry_and_brings_every_balance_back(
    cast, customer, batches
):
    before = dict(Account.objects.values_list("pk", "balance"))  # what the bill posted
    payment = payments.receive_payment(
        actor=None, customer=customer, amount="900", method="cash", reference="R-1"
    )
    if batches == "apart":
        services.post_pending()

    reversal = payments.reverse_payment(actor=cast.alice, payment=payment, reason="bounced")
    services.post_pending()  # together: the reversal is posted after its payment, in one batch

    received, reversed_ = payment_entries().order_by("id")
    assert reversed_.reverses == received
    assert (reversed_.source_id, reversed_.purpose) == (str(reversal.pk), "reversed")
    assert "bounced" in reversed_.memo
    assert [(k, d, c) for k, _n, c, d in lines_of(received)] == [
        (k, d, c) for k, _n, d, c in lines_of(reversed_)
    ]
    assert_back_to(before)


def test_refused_and_rolled_back_payments_post_nothing(cast, customer):
    payments.receive_payment(
        actor=None, customer=customer, amount="100", method="cash", reference="R-1"
    )
    with pytest.raises(ConflictError):
        payments.receive_payment(
            actor=None, customer=customer, amount="100", method="cash", reference="R-1"
        )
    with transaction.atomic():
        payments.receive_payment(
            actor=None, customer=customer, amount="300", method="cash", reference="R-2"
        )
        transaction.set_rollback(True)

    assert list(PendingPosting.objects.values_list("source_id", flat=True)) == [
        str(Payment.objects.get().pk)
    ]
    assert services.post_pending() == 1
    assert payment_entries().count() == 1
    assert balance(cast.north, "cash") == Decimal("100.00")


def test_reversing_a_payment_the_ledger_never_saw_posts_it_from_its_amounts(
    cast, customer, monkeypatch
):
    monkeypatch.setitem(events.HANDLERS, "payment.received", [])
    payment = payments.receive_payment(
        actor=None,
        customer=customer,
        amount="500",
        method="cash",
        reference="R-1",
        collector=cast.carol,
    )
    monkeypatch.undo()
    assert not PendingPosting.objects.exists()

    payments.reverse_payment(actor=None, payment=payment, reason="wrong customer")
    services.post_pending()

    entry = payment_entries().get()
    assert entry.reverses is None
    assert lines_of(entry) == [
        ("cash", "Cash · carol", Decimal("0.00"), Decimal("500.00")),
        ("receivable", "Customer receivables", Decimal("500.00"), Decimal("0.00")),
    ]


def test_an_edit_is_a_reversal_and_a_new_posting(cast, customer):
    payment = payments.receive_payment(
        actor=None, customer=customer, amount="900", method="cash", reference="R-1"
    )

    services.post_pending()
    payments.edit_payment(actor=cast.alice, payment=payment, reason="typo", amount="90")
    services.post_pending()

    assert payment_entries().count() == 3
    assert balance(cast.north, "cash") == Decimal("90.00")
    assert balance(cast.north, "receivable") == Decimal("710.00")  # the bill's 800 less 90


def test_a_poster_that_fails_midway_leaves_the_rows_and_a_later_drain_posts_them(
    cast, customer, monkeypatch
):
    for number in range(3):
        payments.receive_payment(
            actor=None, customer=customer, amount="100", method="cash", reference=f"R-{number}"
        )

    def crash(postings: Any) -> Any:
        raise RuntimeError("the poster died")

    monkeypatch.setattr(services, "post_many", crash)
    with pytest.raises(RuntimeError):
        services.drain_postings(limit=2)
    monkeypatch.undo()

    assert PendingPosting.objects.count() == 3
    assert not payment_entries().exists()
    assert services.drain_postings(limit=2) == 2
    assert services.post_pending() == 1
    assert not PendingPosting.objects.exists()
    assert sorted(payment_entries().values_list("source_id", flat=True)) == sorted(
        str(pk) for pk in Payment.objects.values_list("pk", flat=True)
    )
    assert balance(cast.north, "cash") == Decimal("300.00")


@pytest.mark.django_db(transaction=True)
def test_concurrent_posters_post_each_payment_exactly_once(cast, customer):
    for number in range(40):
        payments.receive_payment(
            actor=None, customer=customer, amount="10", method="cash", reference=f"C-{number}"
        )
    start = threading.Barrier(3)
    taken: list[int] = []
    errors: list[BaseException] = []

    def poster() -> None:
        try:
            start.wait()
            taken.append(services.post_pending(limit=5))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=poster) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(taken) == 40
    assert not PendingPosting.objects.exists()
    assert sorted(
        payment_entries().filter(source_type="payments.payment").values_list("source_id", flat=True)
    ) == sorted(str(pk) for pk in Payment.objects.values_list("pk", flat=True))
    assert balance(cast.north, "cash") == Decimal("400.00")
    assert_books_consistent()


@pytest.mark.django_db(transaction=True)
def test_a_reversal_waits_while_another_poster_holds_its_payment(cast, customer):
    before = dict(Account.objects.values_list("pk", "balance"))  # what the bill posted
    payment = payments.receive_payment(
        actor=None, customer=customer, amount="900", method="cash", reference="R-1"
    )
    reversal = payments.reverse_payment(actor=None, payment=payment, reason="bounced")
    held, release = threading.Event(), threading.Event()

    def other_poster() -> None:
        try:
            with transaction.atomic():
                rows = PendingPosting.objects.select_for_update().filter(source_id=str(payment.pk))
                assert len(rows) == 1
                held.set()
                release.wait(10)
                transaction.set_rollback(True)  # it dies before posting
        finally:
            connection.close()

    thread = threading.Thread(target=other_poster)
    thread.start()
    assert held.wait(10)
    try:
        assert services.drain_postings() == 0  # the payment is not ours, its reversal waits
        assert PendingPosting.objects.count() == 2
        assert not payment_entries().exists()
    finally:
        release.set()
        thread.join()

    assert services.post_pending() == 2
    received, reversed_ = payment_entries().order_by("id")
    assert (received.source_id, reversed_.source_id) == (str(payment.pk), str(reversal.pk))
    assert reversed_.reverses == received
    assert_back_to(before)


@pytest.mark.django_db(transaction=True)
def test_payments_ask_for_one_poster_job_and_the_worker_posts_them(cast, customer, monkeypatch):
    monkeypatch.setattr(tasks, "KICK_EVERY", 0.0)  # every payment asks: the queueing lock coalesces
    monkeypatch.setattr(tasks, "LINGER", 0.0)
    for number in range(3):
        payments.receive_payment(
            actor=None, customer=customer, amount="100", method="cash", reference=f"R-{number}"
        )

    waiting = ProcrastinateJob.objects.filter(status="todo", queueing_lock="ledger-posting")
    assert list(waiting.values_list("task_name", "queue_name")) == [
        ("ispbills.accounting.tasks.post_ledger_task", "ledger")
    ]
    jobs.run_worker(queues=["ledger"], wait=False)

    assert not PendingPosting.objects.exists()
    assert payment_entries().count() == 3
    assert balance(cast.north, "cash") == Decimal("300.00")


@pytest.mark.django_db(transaction=True)
def test_a_process_asks_for_the_poster_at_most_every_half_second(monkeypatch):
    monkeypatch.setattr(tasks, "_kicked_at", -10.0)
    waiting = ProcrastinateJob.objects.filter(status="todo", queueing_lock="ledger-posting")

    tasks.kick_poster()
    tasks.kick_poster()  # within KICK_EVERY of the first: not asked
    assert waiting.count() == 1
    first = tasks._kicked_at

    monkeypatch.setattr(tasks, "_kicked_at", first - tasks.KICK_EVERY)
    tasks.kick_poster()  # asked: one job waits already, which is the answer

    assert waiting.count() == 1
    assert tasks._kicked_at > first
