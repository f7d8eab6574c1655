"""The one posting function: what it refuses, idempotency, running balances, reversals, and
what the database itself refuses."""

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from ispbills.accounting import services
from ispbills.accounting.models import Account, JournalEntry, JournalLine
from ispbills.accounting.services import cr, dr
from ispbills.core.errors import ConflictError, DomainError

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(cast: Any) -> Any:
    """Acme North's cash, receivables and revenue, and Globex's cash."""

    class Books:
        cash = services.account_for(cast.north, Account.Kind.CASH)
        receivable = services.account_for(cast.north, Account.Kind.RECEIVABLE)
        revenue = services.account_for(cast.north, Account.Kind.REVENUE)
        globex_cash = services.account_for(cast.globex_root, Account.Kind.CASH)

        def post(self, lines: list[Any], key: str = "1", **fields: Any) -> JournalEntry:
            return services.post(
                tenant_id=fields.pop("tenant_id", cast.acme.pk),
                operator_id=fields.pop("operator_id", cast.north.pk),
                memo="test",
                source_type="test.source",
                source_id=key,
                purpose="test",
                lines=lines,
                **fields,
            )

    return Books()


def balances() -> dict[int, Decimal]:
    return dict(Account.objects.values_list("pk", "balance"))


def test_refused_entries_write_nothing(cast, books):
    before = balances()
    attempts = [
        [],
        [dr(books.cash, "100"), cr(books.revenue, "99.99")],
        [dr(books.cash, "0"), cr(books.revenue, "0")],
        [dr(books.cash, "-100"), cr(books.revenue, "-100")],
        [services.Leg(books.cash.pk, "100", "100"), cr(books.revenue, "0")],
        [dr(books.cash, "abc"), cr(books.revenue, "100")],
        [dr(books.cash, 100.0), cr(books.revenue, "100")],
        [dr(books.cash, "100"), cr(books.globex_cash, "100")],
        [dr(books.cash, "100"), cr(10**12, "100")],
    ]
    for lines in attempts:
        with pytest.raises(DomainError):
            books.post(lines)
    with pytest.raises(DomainError):  # an operator of another ISP
        books.post(
            [dr(books.cash, "100"), cr(books.revenue, "100")], operator_id=cast.globex_root.pk
        )
    with pytest.raises(DomainError):  # a batch is refused whole
        services.post_many(
            [
                services.Posting(
                    cast.acme.pk,
                    cast.north.pk,
                    "ok",
                    "test.source",
                    "a",
                    "test",
                    [dr(books.cash, "5"), cr(books.revenue, "5")],
                ),
                services.Posting(
                    cast.acme.pk,
                    cast.north.pk,
                    "bad",
                    "test.source",
                    "b",
                    "test",
                    [dr(books.cash, "5"), cr(books.revenue, "4")],
                ),
            ]
        )

    assert not JournalEntry.objects.exists()
    assert not JournalLine.objects.exists()
    assert balances() == before


def test_posting_the_same_source_again_returns_the_entry_already_there(cast, books):
    lines = [dr(books.cash, "100.005"), cr(books.revenue, "100.01")]

    first = books.post(lines)
    again = books.post([dr(books.cash, "1"), cr(books.revenue, "1")])
    batch = services.post_many(
        [
            services.Posting(cast.acme.pk, cast.north.pk, "x", "test.source", k, "test", lines)
            for k in ("1", "2", "2")
        ]
    )

    assert again == first
    assert batch[0] == first
    assert batch[1] == batch[2] != first
    assert JournalEntry.objects.count() == 2
    assert JournalLine.objects.count() == 4
    books.cash.refresh_from_db()
    books.revenue.refresh_from_db()
    # 100.005 rounds half up to 100.01; posted twice, not three or four times.
    assert (books.cash.balance, books.revenue.balance) == (Decimal("200.02"), Decimal("200.02"))
    assert first.amount == Decimal("100.01")


def test_each_line_carries_its_accounts_running_balance_in_the_accounts_sign(cast, books):
    books.post([dr(books.receivable, "800"), cr(books.revenue, "800")], key="bill")
    books.post([dr(books.cash, "500"), cr(books.receivable, "500")], key="paid")
    books.post([dr(books.cash, "300"), cr(books.receivable, "300")], key="rest")

    receivable = list(
        JournalLine.objects.filter(account=books.receivable)
        .order_by("id")
        .values_list("debit", "credit", "balance_after")
    )
    assert receivable == [
        (Decimal("800.00"), Decimal("0.00"), Decimal("800.00")),
        (Decimal("0.00"), Decimal("500.00"), Decimal("300.00")),
        (Decimal("0.00"), Decimal("300.00"), Decimal("0.00")),
    ]
    revenue = JournalLine.objects.get(account=books.revenue)
    assert revenue.balance_after == Decimal("800.00")  # credit-normal: a credit adds
    books.cash.refresh_from_db()
    assert books.cash.balance == Decimal("800.00")


def test_a_reversal_mirrors_the_entry_once_and_is_not_reversed_itself(cast, books):
    entry = books.post([dr(books.cash, "250"), cr(books.revenue, "250")])

    reversal = services.reverse_entry(entry, memo="typo")
    again = services.reverse_entry(entry, memo="typo again")

    assert again == reversal
    assert reversal.reverses == entry
    assert list(reversal.lines.values_list("account_id", "debit", "credit")) == [
        (books.cash.pk, Decimal("0.00"), Decimal("250.00")),
        (books.revenue.pk, Decimal("250.00"), Decimal("0.00")),
    ]
    with pytest.raises(ConflictError):  # under another key: still once
        services.reverse_entry(entry, memo="x", source_type="test.other", source_id=1)
    with pytest.raises(DomainError):
        services.reverse_entry(reversal, memo="undo the undo")
    assert JournalEntry.objects.count() == 2
    assert set(Account.objects.values_list("balance", flat=True)) == {Decimal("0.00")}


def test_the_database_keeps_the_journal_append_only_and_balanced(cast, books):
    entry = books.post([dr(books.cash, "100"), cr(books.revenue, "100")])
    attempts = [
        lambda: JournalEntry.objects.filter(pk=entry.pk).update(memo="changed"),
        lambda: JournalLine.objects.filter(entry=entry).update(debit=0),
        lambda: JournalLine.objects.filter(entry=entry).delete(),
        lambda: JournalEntry.objects.filter(pk=entry.pk).delete(),
        # a line added to the entry later, even a balanced pair
        lambda: JournalLine.objects.bulk_create(
            [
                JournalLine(entry=entry, account=books.cash, debit=5, balance_after=0),
                JournalLine(entry=entry, account=books.revenue, credit=5, balance_after=0),
            ]
        ),
        # an entry whose lines do not add up, written around post()
        lambda: JournalLine.objects.create(
            entry=JournalEntry.objects.create(
                tenant=cast.acme,
                operator=cast.north,
                at=entry.at,
                day=entry.day,
                memo="raw",
                source_type="raw",
                source_id="1",
                purpose="raw",
                amount=10,
            ),
            account=books.cash,
            debit=10,
            balance_after=0,
        ),
    ]
    for attempt in attempts:
        with pytest.raises(IntegrityError), transaction.atomic():
            attempt()

    assert JournalEntry.objects.count() == 1
    assert list(entry.lines.values_list("debit", "credit")) == [
        (Decimal("100.00"), Decimal("0.00")),
        (Decimal("0.00"), Decimal("100.00")),
    ]


def test_accounts_are_created_once_per_operator_kind_and_collector(cast, books):
    again = services.account_for(cast.north, Account.Kind.CASH)
    bobs = services.account_for(cast.north, Account.Kind.CASH, user=cast.bob)

    assert again == books.cash
    assert bobs != books.cash
    assert (str(books.cash), str(bobs)) == ("Cash", "Cash · bob")
    with pytest.raises(IntegrityError), transaction.atomic():  # NULL collectors are equal
        Account.objects.create(tenant=cast.acme, operator=cast.north, kind=Account.Kind.CASH)


@pytest.mark.django_db(transaction=True)
def test_postings_locking_the_same_accounts_in_any_order_never_deadlock(cast):
    cash = services.account_for(cast.north, Account.Kind.CASH)
    bank = services.account_for(cast.north, Account.Kind.BANK)
    errors: list[BaseException] = []

    def worker(name: str, first: Account, second: Account, amount: str) -> None:
        try:
            for number in range(15):
                services.post(
                    tenant_id=cast.acme.pk,
                    operator_id=cast.north.pk,
                    memo=name,
                    source_type="test.race",
                    source_id=f"{name}-{number}",
                    purpose="test",
                    lines=[dr(first, amount), cr(second, amount)],
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=("ab", cash, bank, "1")),
        threading.Thread(target=worker, args=("ba", bank, cash, "3")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    cash.refresh_from_db()
    bank.refresh_from_db()
    assert (cash.balance, bank.balance) == (Decimal("-30.00"), Decimal("30.00"))
    last = JournalLine.objects.filter(account=cash).order_by("-id").first()
    assert last is not None
    assert last.balance_after == cash.balance
