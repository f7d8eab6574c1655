"""Properties of the ledger under any sequence of postings: every entry balances, every cached
balance is the sum of its lines and the last running balance, refused postings write
nothing, and, once the outbox is drained (at any points between), every payment has its one
entry and the books agree with the customers' bills and advances."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ispbills.accounting import services
from ispbills.accounting.models import Account, JournalEntry, JournalLine, PendingPosting
from ispbills.billing import services as billing
from ispbills.billing import voids
from ispbills.billing.models import AdvanceDebit, Bill
from ispbills.core.errors import DomainError
from ispbills.customers.models import Customer
from ispbills.payments import services as payments
from ispbills.payments.models import Payment

pytestmark = pytest.mark.django_db

DHAKA = dt.timezone(dt.timedelta(hours=6))
AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("3000"), places=2)
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def rolled_back(check: Any) -> Any:
    """Run one example in a transaction that is rolled back, so examples start alike."""

    def run(*args: Any, **kwargs: Any) -> None:
        with transaction.atomic():
            check(*args, **kwargs)
            transaction.set_rollback(True)

    return run


def assert_books_consistent() -> None:
    """Every entry balances at its amount; every account's lines run, in posting order, to
    its cached balance."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT e.id FROM accounting_journalentry e
              LEFT JOIN accounting_journalline l ON l.entry_id = e.id
             GROUP BY e.id
            HAVING count(l.id) < 2 OR sum(l.debit) <> sum(l.credit) OR sum(l.debit) <> e.amount
            """
        )
        assert cursor.fetchall() == []
    for account in Account.objects.all():
        running = Decimal("0.00")
        for line in JournalLine.objects.filter(account=account).order_by("id"):
            running += account.signed(line.debit, line.credit)
            assert line.balance_after == running, (account, line)
        assert account.balance == running, account


# ---- the posting function with random lines -------------------------------------------------

LEGS = st.lists(
    st.tuples(st.integers(0, 4), st.sampled_from(["debit", "credit"]), AMOUNTS),
    min_size=0,
    max_size=5,
)


@given(postings=st.lists(st.tuples(LEGS, st.booleans(), st.integers(0, 3)), max_size=8))
@PROPERTY
def test_any_postings_keep_every_entry_balanced_and_every_balance_its_lines(cast, postings):
    accounts = [
        services.account_for(cast.north, kind)
        for kind in ("cash", "receivable", "advances", "revenue")
    ] + [services.account_for(cast.globex_root, "cash")]

    @rolled_back
    def check() -> None:
        for legs, balance_it, key in postings:
            lines = [
                services.Leg(accounts[index].pk, **{side: amount}) for index, side, amount in legs
            ]
            if balance_it and lines:  # a closing line to make the entry balance, if it can
                net = sum(
                    (line.debit or Decimal(0)) - (line.credit or Decimal(0)) for line in lines
                )
                if net:
                    lines.append(
                        services.cr(accounts[0], net) if net > 0 else services.dr(accounts[0], -net)
                    )
            before = (JournalEntry.objects.count(), JournalLine.objects.count())
            replay = services.entry_for(cast.acme.pk, "test.source", key, "test")
            try:
                entry = services.post(
                    tenant_id=cast.acme.pk,
                    operator_id=cast.north.pk,
                    memo="property",
                    source_type="test.source",
                    source_id=key,
                    purpose="test",
                    lines=lines,
                )
            except DomainError:
                assert (JournalEntry.objects.count(), JournalLine.objects.count()) == before
                continue
            if replay is not None:
                assert entry == replay
                assert (JournalEntry.objects.count(), JournalLine.objects.count()) == before
        assert_books_consistent()

    check()


# ---- payments, reversals, transfers and bills -----------------------------------------------

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("pay"),
            st.integers(0, 1),
            AMOUNTS,
            st.sampled_from(["cash", "online"]),
            st.sampled_from(["0", "5.50"]),
        ),
        st.tuples(st.just("reverse"), st.integers(0, 20)),
        st.tuples(st.just("bill"), st.integers(0, 1), st.integers(0, 3)),
        st.tuples(st.just("void"), st.integers(0, 20)),
        # a share (in percent) of what carol holds: above 100 is refused
        st.tuples(st.just("transfer"), st.integers(1, 120)),
        # the poster drains the outbox: payments and reversals reach the ledger in batches
        st.tuples(st.just("post"), st.integers(1, 3)),
    ),
    max_size=14,
)


@pytest.fixture
def two_customers(register: Any) -> list[Customer]:
    with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), tick=False):
        return [register(), register()]


def run(operation: tuple[Any, ...], cast: Any, customers: list[Customer], seen: list[Any]) -> None:
    kind, *args = operation
    if kind == "pay":
        customer, amount, method, charge = args
        payments.receive_payment(
            actor=None,
            customer=customers[customer],
            amount=amount + Decimal(charge),
            charge=charge,
            method=method,
            reference=f"R-{len(seen)}",
            collector=cast.carol if method == "cash" else None,
        )
    elif kind == "reverse":
        paid = list(Payment.objects.filter(kind="payment").order_by("id"))
        if paid:
            payments.reverse_payment(actor=None, payment=paid[args[0] % len(paid)], reason="x")
    elif kind == "bill":
        customer, month = args
        at = dt.datetime(2026, 7 + month, 10, 12, tzinfo=DHAKA)
        bill = billing.generate_bill(actor=None, customer=customers[customer], at=at)
        services.post_bills([bill.pk])
    elif kind == "post":
        services.drain_postings(limit=args[0])
    elif kind == "void":
        invoices = list(Bill.objects.filter(kind="invoice").exclude(status="void").order_by("id"))
        if invoices:
            bill = invoices[args[0] % len(invoices)]
            voids.void_bill(actor=None, bill=bill, reason="x")
            services.post_bills(Bill.objects.filter(reverses=bill).values_list("pk", flat=True))
    else:
        carol = services.account_for(cast.north, "cash", cast.carol)
        services.transfer(
            actor=None,
            source=carol,
            target=services.account_for(cast.north, "bank"),
            amount=carol.balance * args[0] / 100,
            reference=f"T-{len(seen)}",
        )
    services.post_advance_debits(
        AdvanceDebit.objects.filter(posted=False).values_list("pk", flat=True)
    )


@given(operations=OPERATIONS)
@PROPERTY
def test_any_payments_reversals_transfers_and_bills_keep_the_books_whole(
    cast, two_customers, operations
):
    @rolled_back
    def check() -> None:
        seen: list[Any] = []
        for operation in operations:
            try:
                with transaction.atomic():
                    run(operation, cast, two_customers, seen)
            except DomainError:
                pass
            seen.append(operation)
        services.post_pending()
        assert not PendingPosting.objects.exists()
        assert_books_consistent()
        keys = sorted(
            JournalEntry.objects.filter(source_type="payments.payment").values_list(
                "source_id", "purpose"
            )
        )
        assert keys == sorted(
            (str(pk), "reversed" if kind == "reversal" else "received")
            for pk, kind in Payment.objects.values_list("pk", "kind")
        )
        books = {
            account.kind: account.balance
            for account in Account.objects.filter(operator=cast.north, user=None)
        }
        owed = sum(
            (
                bill.total - bill.paid_amount
                for bill in Bill.objects.exclude(status="void").exclude(kind="reversal")
            ),
            Decimal("0.00"),
        )
        advances = sum(
            (
                c.advance_balance
                for c in Customer.objects.filter(pk__in=[c.pk for c in two_customers])
            ),
            Decimal("0.00"),
        )
        assert books.get("receivable", Decimal("0.00")) == owed
        assert books.get("advances", Decimal("0.00")) == advances

    check()
