"""The ledger's one posting function, and the postings of payments, bills and transfers.

``post_many()`` (``post()`` for one entry) is the only writer of journal entries and lines.
It refuses, with nothing written, an entry that is empty, has a zero, negative or two-sided
line, does not balance, or names an account or operator of another ISP. It locks the accounts in id
order (postings never deadlock each other), as late as it can, writes each line with its
account's balance after it, and adds the changes to the cached balances in the same
transaction. An entry is
keyed by its source and purpose: posting the same key again returns the entry already
there, so a replayed event or job posts nothing twice.

What posts what (docs/accounting.md has the chart and the sign rules):

- a payment: Dr the collector's cash (cash) or gateway clearing (other methods) with the
  amount received; Cr receivables with what it paid on bills, Cr customer advances with the
  rest, Cr gateway fees with the service charge the customer bore. Its reversal posts the
  reversing entry of the payment's entry. Payments are owed in their own transaction (the
  outbox) and posted in batches by ``drain_postings()``.
- a bill: Dr receivables with its total; Cr revenue with the total less VAT, Cr VAT payable
  with the VAT (a reversal bill reverses its invoice's entry; negative amounts change side).
- advance a bill consumed: Dr customer advances, Cr receivables (returned: the other way).
- a transfer between an operator's cash, bank and gateway clearing accounts (a collector
  handing over cash, a deposit, a gateway settlement less its fee).
"""

import datetime as dt
import logging
import time
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from ispbills.accounting.models import Account, JournalEntry, PendingPosting, with_lines
from ispbills.billing.models import AdvanceDebit, Bill
from ispbills.core import audit, clock
from ispbills.core.access import require
from ispbills.core.errors import ConflictError, DomainError
from ispbills.core.locking import lock
from ispbills.core.money import ZERO, MoneyError, to_money
from ispbills.payments.models import Payment
from ispbills.tenancy.models import Operator

logger = logging.getLogger(__name__)

PAYMENT = "payments.payment"
BILL = "billing.bill"
RUN = "billing.run"
ADVANCE_DEBIT = "billing.advancedebit"
TRANSFER = "accounting.transfer"
ENTRY = "accounting.journalentry"

# Accounts money can be moved between by hand (cash handed over, deposited, settled).
TRANSFERABLE = (Account.Kind.CASH, Account.Kind.BANK, Account.Kind.GATEWAY_CLEARING)


class Leg(NamedTuple):
    """One line to post: an account and its debit or its credit."""

    account_id: int
    debit: Any = ZERO
    credit: Any = ZERO


def dr(account: Account | int, amount: Any) -> Leg:
    return Leg(account.pk if isinstance(account, Account) else account, debit=amount)


def cr(account: Account | int, amount: Any) -> Leg:
    return Leg(account.pk if isinstance(account, Account) else account, credit=amount)


@dataclass(frozen=True)
class Posting:
    """An entry to post: who owns it, what it records, and its lines."""

    tenant_id: int
    operator_id: int
    memo: str
    source_type: str
    source_id: str
    purpose: str
    lines: Sequence[Leg]
    at: dt.datetime | None = None
    reverses_id: int | None = None

    @property
    def key(self) -> tuple[int, str, str, str]:
        return (self.tenant_id, self.source_type, self.source_id, self.purpose)


def post(
    *,
    tenant_id: int,
    operator_id: int,
    memo: str,
    source_type: str,
    source_id: Any,
    purpose: str,
    lines: Sequence[Leg],
    at: dt.datetime | None = None,
) -> JournalEntry:
    """Post one entry (see ``post_many``); returns it, or the one its key already has."""
    posting = Posting(tenant_id, operator_id, memo, source_type, str(source_id), purpose, lines, at)
    return post_many([posting])[0]


@transaction.atomic
def post_many(postings: Sequence[Posting]) -> list[JournalEntry]:
    """Post entries in one go (the one writer of the journal); returns them in order, an
    entry already posted under the same key in its place. Refuses the whole batch, with
    nothing written, when one entry is invalid.

    The accounts are locked as late as possible: everything is checked and the entries are
    inserted first, so a posting holds its accounts' rows for two statements (the lock, and
    the lines with the balances) and the commit."""
    postings = [_checked(posting) for posting in postings]
    if not postings:
        return []
    accounts = Account.objects.only("pk", "tenant_id", "kind").in_bulk(
        {leg.account_id for p in postings for leg in p.lines}
    )
    zones = _check_owners(postings, accounts)
    found = _existing(postings)
    new: dict[tuple[int, str, str, str], Posting] = {}
    for posting in postings:
        if posting.key not in found:
            new.setdefault(posting.key, posting)
    _check_reversals(list(new.values()))
    entries = _write(list(new.values()), accounts, zones)
    found.update(zip(new, entries, strict=True))
    return [found[posting.key] for posting in postings]


def _checked(posting: Posting) -> Posting:
    """The posting with its amounts quantized; refused unless every line is one-sided and
    positive, and the debits equal the credits."""
    if not (posting.source_type and posting.source_id and posting.purpose):
        raise DomainError(_("A journal entry needs its source and purpose."))
    if not posting.lines:
        raise DomainError(_("A journal entry needs lines."))
    lines = []
    for leg in posting.lines:
        try:
            debit, credit = to_money(leg.debit), to_money(leg.credit)
        except MoneyError:
            raise DomainError(_("A journal line has an amount that is not money.")) from None
        if min(debit, credit) < 0 or (debit > 0) == (credit > 0):
            raise DomainError(_("Each journal line is either a debit or a credit, more than zero."))
        lines.append(Leg(int(leg.account_id), debit, credit))
    debits = sum((leg.debit for leg in lines), ZERO)
    credits = sum((leg.credit for leg in lines), ZERO)
    if debits != credits:
        raise DomainError(
            _("The entry does not balance: debits %(debits)s, credits %(credits)s.")
            % {"debits": debits, "credits": credits}
        )
    return replace(posting, lines=lines, memo=(posting.memo or "").strip()[:200])


def _check_owners(
    postings: Sequence[Posting], accounts: dict[Any, Account]
) -> dict[int, zoneinfo.ZoneInfo]:
    """Every account exists and is of the entry's ISP, and so is the entry's operator;
    returns the time zones of the ISPs (whose dates the entries carry)."""
    owners = {
        pk: (tenant_id, zone)
        for pk, tenant_id, zone in Operator.objects.filter(
            pk__in={p.operator_id for p in postings}
        ).values_list("pk", "tenant_id", "tenant__timezone")
    }
    for posting in postings:
        if owners.get(posting.operator_id, (None, ""))[0] != posting.tenant_id:
            raise DomainError(_("The entry's operator is not of its ISP."))
        for leg in posting.lines:
            account = accounts.get(leg.account_id)
            if account is None or account.tenant_id != posting.tenant_id:
                raise DomainError(_("A journal line names an account of another ISP."))
    return {tenant_id: zoneinfo.ZoneInfo(zone) for tenant_id, zone in owners.values()}


def _existing(postings: Sequence[Posting]) -> dict[tuple[int, str, str, str], JournalEntry]:
    """The entries already posted under the postings' keys."""
    keys = {posting.key for posting in postings}
    rows = JournalEntry.objects.filter(
        tenant_id__in={key[0] for key in keys},
        source_type__in={key[1] for key in keys},
        source_id__in={key[2] for key in keys},
        purpose__in={key[3] for key in keys},
    )
    found = {}
    for entry in rows:
        key = (entry.tenant_id, entry.source_type, entry.source_id, entry.purpose)
        if key in keys:
            found[key] = entry
    return found


def _check_reversals(postings: Sequence[Posting]) -> None:
    """An entry is reversed at most once, within its ISP, and a reversal is not reversed."""
    wanted = {p.reverses_id: p for p in postings if p.reverses_id is not None}
    if not wanted:
        return
    if len(wanted) != sum(1 for p in postings if p.reverses_id is not None):
        raise ConflictError(_("An entry is reversed once."))
    originals = JournalEntry.objects.filter(pk__in=wanted).values_list(
        "pk", "tenant_id", "reverses_id"
    )
    seen = 0
    for pk, tenant_id, reverses_id in originals:
        seen += 1
        if tenant_id != wanted[pk].tenant_id:
            raise DomainError(_("The entry to reverse is of another ISP."))
        if reverses_id is not None:
            raise DomainError(_("A reversing entry is not reversed again: post a new entry."))
    if seen != len(wanted):
        raise DomainError(_("The entry to reverse does not exist."))
    done = JournalEntry.objects.filter(reverses_id__in=wanted).first()
    if done is not None:
        raise ConflictError(
            _("%(entry)s is already reversed by %(reversal)s.")
            % {"entry": f"JE-{done.reverses_id:06d}", "reversal": done.display_number}
        )


# The entries and their lines are written from arrays, one statement each, in the order given
# (a line's id order is its account's running-balance order).
INSERT_ENTRIES = """
INSERT INTO accounting_journalentry (
    tenant_id, operator_id, created_at, at, day, memo, source_type, source_id, purpose, amount,
    reverses_id)
SELECT tenant_id, operator_id, %s, at, day, memo, source_type, source_id, purpose, amount,
       reverses_id
  FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::date[], %s::text[],
              %s::text[], %s::text[], %s::text[], %s::numeric[], %s::bigint[])
       WITH ORDINALITY AS e(tenant_id, operator_id, at, day, memo, source_type, source_id,
                            purpose, amount, reverses_id, position)
 ORDER BY position
    ON CONFLICT DO NOTHING
RETURNING id, tenant_id, source_type, source_id, purpose
"""

# The accounts locked in id order (postings never deadlock each other), with their balances.
LOCK_ACCOUNTS = """
SELECT id, balance FROM accounting_account WHERE id = ANY(%s) ORDER BY id FOR UPDATE
"""

# The lines, and their sums added to the cached balances, in one statement.
INSERT_LINES = """
WITH added AS (
    INSERT INTO accounting_journalline (entry_id, account_id, debit, credit, balance_after)
    SELECT entry_id, account_id, debit, credit, balance_after
      FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[])
           WITH ORDINALITY AS l(entry_id, account_id, debit, credit, balance_after, position)
     ORDER BY position
    RETURNING 1
)
UPDATE accounting_account a
   SET balance = a.balance + d.delta, updated_at = %s
  FROM unnest(%s::bigint[], %s::numeric[]) AS d(id, delta)
 WHERE a.id = d.id
"""

ENTRY_FIELDS = [field.attname for field in JournalEntry._meta.concrete_fields]


def _write(
    postings: Sequence[Posting], accounts: dict[Any, Account], zones: dict[int, Any]
) -> list[JournalEntry]:
    """Insert the entries; then lock their accounts and insert their lines (in one statement:
    the database's balance check sees every entry whole) with the sums added to the cached
    balances."""
    if not postings:
        return []
    now = clock.now()
    rows = [
        {
            "tenant_id": p.tenant_id,
            "operator_id": p.operator_id,
            "created_at": now,
            "at": p.at or now,
            "day": (p.at or now).astimezone(zones[p.tenant_id]).date(),
            "memo": p.memo,
            "source_type": p.source_type,
            "source_id": p.source_id,
            "purpose": p.purpose,
            "amount": sum((leg.debit for leg in p.lines), ZERO),
            "reverses_id": p.reverses_id,
        }
        for p in postings
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            INSERT_ENTRIES,
            [now]
            + [
                [row[name] for row in rows]
                for name in (
                    "tenant_id",
                    "operator_id",
                    "at",
                    "day",
                    "memo",
                    "source_type",
                    "source_id",
                    "purpose",
                    "amount",
                    "reverses_id",
                )
            ],
        )
        ids = {tuple(key): pk for pk, *key in cursor.fetchall()}
    if len(ids) < len(rows):
        # A concurrent posting inserted one of these keys (it waited for that one to commit),
        # or reversed the same entry, first.
        raise ConflictError(_("This was posted at the same moment by another request."))
    for row, posting in zip(rows, postings, strict=True):
        row["id"] = ids[posting.key]
    with connection.cursor() as cursor:
        cursor.execute(
            LOCK_ACCOUNTS, [sorted({leg.account_id for p in postings for leg in p.lines})]
        )
        locked = dict(cursor.fetchall())
    balances = dict(locked)
    lines: tuple[list[Any], ...] = ([], [], [], [], [])
    for row, posting in zip(rows, postings, strict=True):
        for leg in posting.lines:
            balances[leg.account_id] += accounts[leg.account_id].signed(leg.debit, leg.credit)
            for column, value in zip(
                lines,
                (row["id"], leg.account_id, leg.debit, leg.credit, balances[leg.account_id]),
                strict=True,
            ):
                column.append(value)
    changed = {pk: balance - locked[pk] for pk, balance in balances.items()}
    changed = {pk: delta for pk, delta in changed.items() if delta}
    with connection.cursor() as cursor:
        cursor.execute(INSERT_LINES, [*lines, now, list(changed), list(changed.values())])
    return [
        JournalEntry.from_db("default", ENTRY_FIELDS, [row[name] for name in ENTRY_FIELDS])
        for row in rows
    ]


def reverse_entry(
    entry: JournalEntry,
    *,
    memo: str,
    source_type: str = ENTRY,
    source_id: Any = None,
    purpose: str = "reversal",
    at: dt.datetime | None = None,
) -> JournalEntry:
    """Post the mirror of ``entry`` (every debit a credit and back), marked as its reversal;
    keyed by the entry itself unless a source is given."""
    return post_many([_reversal_of(entry, memo, source_type, source_id, purpose, at)])[0]


def _reversal_of(
    entry: JournalEntry,
    memo: str,
    source_type: str,
    source_id: Any,
    purpose: str,
    at: dt.datetime | None,
) -> Posting:
    return Posting(
        tenant_id=entry.tenant_id,
        operator_id=entry.operator_id,
        memo=memo,
        source_type=source_type,
        source_id=str(entry.pk if source_id is None else source_id),
        purpose=purpose,
        lines=[Leg(line.account_id, line.credit, line.debit) for line in entry.lines.all()],
        at=at,
        reverses_id=entry.pk,
    )


def account_for(
    operator: Operator, kind: str, user: Any = None, counterparty: Any = None
) -> Account:
    """The operator's account of ``kind`` (a collector's own, for cash; the one with another
    operator, for the operator accounts), created the first time it is needed; two requests
    creating it at once get the same row."""
    account, _created = Account.objects.get_or_create(
        operator_id=operator.pk,
        kind=kind,
        user_id=getattr(user, "pk", user),
        counterparty_id=getattr(counterparty, "pk", counterparty),
        defaults={"tenant_id": operator.tenant_id},
    )
    return account


class Chart:
    """The operators' accounts a posting call needs, each looked up (or created) once, and
    only when an amount goes to it; given ``operators``, their accounts are read in one
    query up front."""

    def __init__(self, operators: dict[Any, Operator] | None = None) -> None:
        self.operators = operators or {}
        self.accounts: dict[tuple[int, str, Any, Any], Account] = {}
        if self.operators:
            for account in Account.objects.filter(operator_id__in=list(self.operators)):
                key = (account.operator_id, account.kind, account.user_id, account.counterparty_id)
                self.accounts[key] = account

    def legs(
        self, operator: Operator, *amounts: tuple[Any, ...], collector: Any = None
    ) -> list[Leg]:
        """``(kind, signed amount)`` pairs (``(kind, amount, other operator id)`` for the
        operator accounts) as lines on the operator's accounts: positive debits, negative
        credits, zero nothing (a bill without VAT has no VAT line; a reversal's negative
        amounts change side). Cash goes to the collector's own account."""
        lines = []
        for kind, value, *other in amounts:
            if not value:
                continue
            user = getattr(collector, "pk", collector) if kind == Account.Kind.CASH else None
            counterparty = other[0] if other else None
            key = (operator.pk, kind, user, counterparty)
            if key not in self.accounts:
                self.accounts[key] = account_for(operator, kind, user, counterparty)
            account = self.accounts[key]
            lines.append(dr(account, value) if value > 0 else cr(account, -value))
        return lines


def entry_for(
    tenant_id: int, source_type: str, source_id: Any, purpose: str
) -> JournalEntry | None:
    return JournalEntry.objects.filter(
        tenant_id=tenant_id, source_type=source_type, source_id=str(source_id), purpose=purpose
    ).first()


# ---- payments: the outbox, posted in batches -------------------------------------------------

# A payment does not post in its own transaction: it records that its entry is owed (a row
# of the outbox, ``PendingPosting``, keyed as the entry will be), and a poster posts the
# owed entries in batches, one lock of each account a batch (docs/adr/0005).

OWE = """
INSERT INTO accounting_pendingposting (tenant_id, source_type, source_id, purpose, created_at)
VALUES (%s, %s, %s, %s, %s)
    ON CONFLICT DO NOTHING
"""

TAKE_OWED = """
SELECT id, tenant_id, source_type, source_id, purpose
  FROM accounting_pendingposting
 ORDER BY id
 LIMIT %s
   FOR UPDATE SKIP LOCKED
"""

# Seconds a lingering poster waits between looks at an empty outbox.
POLL = 0.1


def owe(tenant_id: int, source_type: str, source_id: Any, purpose: str) -> None:
    """Record, in the caller's transaction, that the entry of this key is owed to the ledger:
    the obligation commits or rolls back with what it records; ``drain_postings()`` posts it."""
    with connection.cursor() as cursor:
        cursor.execute(OWE, [tenant_id, source_type, str(source_id), purpose, clock.now()])


@transaction.atomic
def drain_postings(limit: int = 1000) -> int:
    """Post up to ``limit`` owed entries, oldest first, with one ``post_many()``, and delete
    their outbox rows in the same transaction. Rows another poster holds are skipped (posters
    never collide), and so is a reversal whose payment another poster is posting (it comes
    after). Returns how many rows it took off the outbox."""
    with connection.cursor() as cursor:
        cursor.execute(TAKE_OWED, [limit])
        rows = cursor.fetchall()
    if not rows:
        return 0
    unknown = {row[2] for row in rows} - {PAYMENT}
    if unknown:
        raise ValueError(f"no poster for {sorted(unknown)}")
    first, then, done = _payment_postings(rows)
    if done:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM accounting_pendingposting WHERE id = ANY(%s)", [done])
    entries = post_many(first)
    if then:
        posted = {
            posting.key: (posting, entry) for posting, entry in zip(first, entries, strict=True)
        }
        post_many([_mirror(posted[key], reversal) for key, reversal in then])
    return len(done)


def post_pending(*, limit: int = 1000, linger: float = 0.0) -> int:
    """Post every owed entry now, batch after batch (tests, and callers that need the entry
    at once); with ``linger``, keep looking until none came for that many seconds (the poster
    job). Returns how many it posted."""
    posted = 0
    quiet_since = time.monotonic()
    while True:
        done = drain_postings(limit)
        posted += done
        moment = time.monotonic()
        if done:
            quiet_since = moment
        elif moment - quiet_since >= linger:
            return posted
        else:
            time.sleep(POLL)


def _payment_postings(
    rows: Sequence[tuple[int, int, str, str, str]],
) -> tuple[list[Posting], list[tuple[tuple[int, str, str, str], Posting]], list[int]]:
    """The postings of a batch of owed payment entries, read set-based: those to post first,
    the reversals of payments posted in the same batch (with their payment's key), and the
    outbox rows done with."""
    payments = (
        Payment.objects.select_related("reverses")
        .annotate(username=F("customer__username"))
        .in_bulk([int(row[3]) for row in rows])
    )
    missing = [row[0] for row in rows if int(row[3]) not in payments]
    if missing:  # a payment deleted by hand: nothing left to post
        logger.warning("dropping %s owed postings of payments that are gone", len(missing))
    keys = {(row[1], row[2], row[3], row[4]) for row in rows}
    reversals = [p for p in payments.values() if p.kind == Payment.Kind.REVERSAL]
    originals = [str(p.reverses_id) for p in reversals]
    in_flight = set(
        PendingPosting.objects.filter(
            tenant_id__in={p.tenant_id for p in reversals},
            source_type=PAYMENT,
            source_id__in=originals,
            purpose="received",
        )
        .exclude(pk__in=[row[0] for row in rows])
        .values_list("tenant_id", "source_id")
    )
    entries = {
        (entry.tenant_id, entry.source_id): entry
        for entry in with_lines(
            JournalEntry.objects.filter(
                tenant_id__in={p.tenant_id for p in reversals},
                source_type=PAYMENT,
                source_id__in=originals,
                purpose="received",
            )
        )
    }
    operators = Operator.objects.in_bulk({p.operator_id for p in payments.values()})
    chart = Chart(operators)
    first: list[Posting] = []
    then: list[tuple[tuple[int, str, str, str], Posting]] = []
    done = list(missing)
    for pk, tenant_id, _type, source_id, _purpose in rows:
        payment = payments.get(int(source_id))
        if payment is None:
            continue
        if payment.kind != Payment.Kind.REVERSAL:
            first.append(_payment_posting(payment, chart))
        else:
            original = (tenant_id, str(payment.reverses_id))
            if original in in_flight:
                continue  # its payment is being posted by another poster: next time
            paid_key = (tenant_id, PAYMENT, original[1], "received")
            if paid_key in keys:
                then.append((paid_key, _payment_posting(payment, chart)))
            elif original in entries:
                first.append(
                    _reversal_of(
                        entries[original],
                        _reversal_memo(payment),
                        PAYMENT,
                        payment.pk,
                        "reversed",
                        payment.received_at,
                    )
                )
            else:  # the payment was never posted: the reversal posts from its own amounts
                first.append(_payment_posting(payment, chart))
        done.append(pk)
    return first, then, done


def _reversal_memo(reversal: Payment) -> str:
    original: Any = reversal.reverses
    return f"{reversal.display_number} reverses {original.display_number}: {reversal.note}"


def _payment_posting(payment: Payment, chart: "Chart") -> Posting:
    """A payment's entry, from its own amounts: a reversal's negative amounts change side."""
    # The payment whose method and collector say where the money is (for a reversal: the
    # payment it reverses).
    origin: Any = payment.reverses if payment.kind == Payment.Kind.REVERSAL else payment
    if payment.kind == Payment.Kind.REVERSAL:
        memo, purpose = _reversal_memo(payment), "reversed"
    else:
        username = getattr(payment, "username", "")
        memo, purpose = f"{payment.display_number} · {username} · {payment.method}", "received"
        if payment.charge:
            memo += f" · charge {payment.charge}"
    return Posting(
        tenant_id=payment.tenant_id,
        operator_id=payment.operator_id,
        memo=memo,
        source_type=PAYMENT,
        source_id=str(payment.pk),
        purpose=purpose,
        at=payment.received_at,
        lines=chart.legs(
            chart.operators[payment.operator_id],
            (_money_kind(origin), payment.amount),
            (Account.Kind.RECEIVABLE, -payment.to_bills),
            (Account.Kind.ADVANCES, -payment.to_advance),
            (Account.Kind.GATEWAY_FEES, -payment.charge),
            collector=origin.collector_id,
        ),
    )


def _mirror(posted: tuple[Posting, JournalEntry], reversal: Posting) -> Posting:
    """A reversal posted with its payment in one batch: the mirror of the payment's entry."""
    posting, entry = posted
    return replace(
        reversal,
        lines=[Leg(leg.account_id, leg.credit, leg.debit) for leg in posting.lines],
        reverses_id=entry.pk,
    )


def _money_kind(payment: Payment) -> str:
    """Where a payment's money is: its collector's cash, or the gateway's clearing."""
    if payment.method == Payment.Method.CASH:
        return Account.Kind.CASH
    return Account.Kind.GATEWAY_CLEARING


# ---- bills ----------------------------------------------------------------------------------


@transaction.atomic
def post_bills(bill_ids: Iterable[int]) -> list[JournalEntry]:
    """Post bills (see the module docstring); bills already posted and bills of nothing are
    left as they are. Returns the entries of the bills that have one."""
    bills = list(
        Bill.objects.filter(pk__in=list(bill_ids)).select_related("customer").order_by("pk")
    )
    operators = Operator.objects.in_bulk({bill.operator_id for bill in bills})
    chart = Chart()
    charged = [bill for bill in bills if bill.kind != Bill.Kind.REVERSAL]
    entries = post_many(
        [_bill_posting(bill, operators, chart) for bill in charged if bill.total or bill.vat]
    )
    reversals = [bill for bill in bills if bill.kind == Bill.Kind.REVERSAL]
    originals = {
        (entry.tenant_id, entry.source_id): entry
        for entry in JournalEntry.objects.filter(
            source_type=BILL,
            purpose="issued",
            source_id__in=[str(b.reverses_id) for b in reversals],
        ).prefetch_related("lines")
    }
    postings = []
    for bill in reversals:
        original = originals.get((bill.tenant_id, str(bill.reverses_id)))
        if original is not None:
            memo = f"{bill.display_number} voids {original.memo}"
            postings.append(_reversal_of(original, memo, BILL, bill.pk, "issued", None))
        elif bill.total or bill.vat:
            postings.append(_bill_posting(bill, operators, chart))
    return entries + post_many(postings)


def _bill_posting(bill: Bill, operators: dict[Any, Operator], chart: Chart) -> Posting:
    return Posting(
        tenant_id=bill.tenant_id,
        operator_id=bill.operator_id,
        memo=f"{bill.display_number} · {bill.customer.username}",
        source_type=BILL,
        source_id=str(bill.pk),
        purpose="issued",
        lines=chart.legs(
            operators[bill.operator_id],
            (Account.Kind.RECEIVABLE, bill.total),
            (Account.Kind.REVENUE, -(bill.total - bill.vat)),
            (Account.Kind.VAT_PAYABLE, -bill.vat),
        ),
    )


# A run's batch in one entry per operator: its bills' totals, VAT and the advance they took.
@transaction.atomic
def post_bill_batch(
    run_id: int, bill_ids: Sequence[int], sums: Sequence[dict[str, Any]]
) -> list[JournalEntry]:
    """Post a billing run's batch: per operator, one entry of its bills' sums (Dr receivables
    with what the advance did not pay, Dr advances with what it did, Cr revenue and VAT) keyed
    by run, batch and operator. ``sums`` are the batch's per-operator sums as the issuing
    statement returned them (``operator_id``, ``total``, ``vat``, ``applied``, ``count``). The
    batch's advance debits are in it (they are never posted one by one:
    ``post_advance_debits`` is given debits of bills outside runs); the bills keep the
    per-customer detail, and a bill voided later posts its own reversing amounts."""
    if not bill_ids:
        return []
    operators = Operator.objects.in_bulk({row["operator_id"] for row in sums})
    chart = Chart()
    batch = f"{run_id}:{min(bill_ids)}"
    postings = []
    for row in sums:
        operator = operators[row["operator_id"]]
        total, vat, applied = (Decimal(row[name]) for name in ("total", "vat", "applied"))
        if not (total or vat):
            continue
        postings.append(
            Posting(
                tenant_id=operator.tenant_id,
                operator_id=operator.pk,
                memo=f"Billing run {run_id}: {row['count']} bills",
                source_type=RUN,
                source_id=batch,
                purpose=f"bills:{operator.pk}",
                lines=chart.legs(
                    operator,
                    (Account.Kind.RECEIVABLE, total - applied),
                    (Account.Kind.ADVANCES, applied),
                    (Account.Kind.REVENUE, -(total - vat)),
                    (Account.Kind.VAT_PAYABLE, -vat),
                ),
            )
        )
    return post_many(postings)


@transaction.atomic
def post_advance_debits(debit_ids: Iterable[int]) -> list[JournalEntry]:
    """Post the advance that bills consumed (Dr advances, Cr receivables) or gave back (the
    other way), and mark those rows posted; rows posted before are skipped."""
    debits = list(
        AdvanceDebit.objects.select_for_update(of=("self",))
        .filter(pk__in=list(debit_ids), posted=False)
        .select_related("bill")
        .order_by("pk")
    )
    operators = Operator.objects.in_bulk({debit.bill.operator_id for debit in debits})
    chart = Chart()
    postings = []
    for debit in debits:
        operator = operators[debit.bill.operator_id]
        verb = "paid from advance" if debit.amount > 0 else "advance returned"
        postings.append(
            Posting(
                tenant_id=operator.tenant_id,
                operator_id=operator.pk,
                memo=f"{debit.bill.display_number} {verb}",
                source_type=ADVANCE_DEBIT,
                source_id=str(debit.pk),
                purpose="posted",
                at=debit.at,
                lines=chart.legs(
                    operator,
                    (Account.Kind.ADVANCES, debit.amount),
                    (Account.Kind.RECEIVABLE, -debit.amount),
                ),
            )
        )
    entries = post_many(postings)
    AdvanceDebit.objects.filter(pk__in=[debit.pk for debit in debits]).update(posted=True)
    return entries


# ---- transfers ------------------------------------------------------------------------------


@transaction.atomic
def transfer(
    *,
    actor: Any,
    source: Account,
    target: Account,
    amount: Any,
    reference: str,
    fee: Any = ZERO,
    memo: str = "",
) -> JournalEntry:
    """Move money between an operator's cash, bank and gateway clearing accounts: a collector
    handing cash over, a deposit, a gateway settling (less its ``fee``). Refused beyond what
    the source account holds, or with a reference used before."""
    require(actor, "accounting.add", Operator.objects.get(pk=source.operator_id))
    reference = (reference or "").strip()[:100]
    if not reference:
        raise DomainError(
            _("Give the deposit slip, handover or settlement reference."),
            fields={"reference": [_("Required.")]},
        )
    try:
        amount, fee = to_money(amount), to_money(fee or ZERO)
    except MoneyError:
        raise DomainError(_("Give an amount such as 500 or 500.50.")) from None
    if amount <= 0 or fee < 0:
        raise DomainError(
            _("The amount must be more than zero."), fields={"amount": [_("More than zero.")]}
        )
    locked = lock(Account, [source.pk, target.pk])
    source, target = locked[source.pk], locked[target.pk]
    # Checked under the locks: a transfer racing with the same reference waits for this one.
    if entry_for(source.tenant_id, TRANSFER, reference, "transfer") is not None:
        raise ConflictError(
            _("This reference was already recorded."),
            fields={"reference": [_("Already recorded.")]},
        )
    if source.pk == target.pk or source.operator_id != target.operator_id:
        raise DomainError(_("Transfer between two accounts of the same operator."))
    if source.kind not in TRANSFERABLE or target.kind not in TRANSFERABLE:
        raise DomainError(_("Only cash, bank and gateway clearing accounts take transfers."))
    if fee and source.kind != Account.Kind.GATEWAY_CLEARING:
        raise DomainError(
            _("Only a gateway settlement has a fee."), fields={"fee": [_("Not here.")]}
        )
    if amount + fee > source.balance:
        raise DomainError(
            _("%(account)s holds %(balance)s: it cannot give %(amount)s.")
            % {"account": source, "balance": source.balance, "amount": amount + fee},
            fields={"amount": [_("More than the account holds.")]},
        )
    operator = Operator.objects.get(pk=source.operator_id)
    lines = [dr(target, amount), cr(source, amount + fee)]
    if fee:
        lines.append(dr(account_for(operator, Account.Kind.GATEWAY_FEES), fee))
    entry = post(
        tenant_id=source.tenant_id,
        operator_id=source.operator_id,
        memo=memo or f"{source} → {target}",
        source_type=TRANSFER,
        source_id=reference,
        purpose="transfer",
        lines=lines,
    )
    audit.record(
        actor,
        "ledger.transfer",
        entry,
        label=f"{entry.display_number} · {source} → {target}",
        changes={
            "amount": [None, str(amount)],
            "fee": [None, str(fee)],
            "reference": [None, reference],
        },
    )
    return entry
