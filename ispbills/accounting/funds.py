"""Reseller economics: what an operator pays its parent for its customers, and its funds.

Every operator below the ISP's root buys service from its parent. When a bill is issued for a
customer of operator O, O and each of its ancestors below the root are charged their
*wholesale price*: the price at which their parent sells the bill's package (the parent's own
variant of the master package, else the nearest ancestor's, else the master's price), scaled
like the bill's package line (a prorated first period pays its share). The difference between
what an operator charges and what it is charged is its margin.

``Operator.balance`` is what the operator has with its parent: positive = funds paid in
advance, negative = owed. A *debit* (prepaid) operator may not go below zero, a *credit*
operator not below minus its credit limit: activating a customer or issuing a bill by hand is
refused, with nothing written, when the charge would cross that floor. A billing run bills
everyone whatever the balance (a customer is never left unbilled for its reseller's account);
the operator is then blocked until it adds funds.

Each charge posts two entries, one in each operator's books (neither sees the other's
accounts): the child's Dr wholesale cost, Cr payable to the parent; the parent's
Dr receivable from the child, Cr revenue. Funds received from a child (``add_funds``) post
Dr the parent's cash or bank, Cr its receivable from the child, and the mirror in the child's
books. The balance changes in the same transaction (docs/accounting.md).
"""

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _

from ispbills.accounting.models import Account, JournalEntry, TransferRequest
from ispbills.accounting.services import Chart, Posting, entry_for, post_many
from ispbills.core import audit, clock
from ispbills.core.access import require
from ispbills.core.errors import ConflictError, DomainError
from ispbills.core.money import ZERO, amount_given
from ispbills.customers.models import Customer
from ispbills.tenancy.models import Operator
from ispbills.tenancy.services import set_operator_active

CHARGE = "billing.charge"
FUNDS = "accounting.funds"
MOVE = "customers.customer"

# Per charged operator (the bill's operator and each ancestor below the root) and its parent:
# the wholesale price of each bill of ``ids`` summed. Bills are grouped by operator, master
# package and share first, so the price is looked up once per group, not per bill.
WHOLESALE_SQL = """
WITH b AS (
    SELECT b.tenant_id, b.operator_id, coalesce(p.parent_id, p.id) AS master,
           -- An invoice's first line is its package's, with its share of the period.
           coalesce((b.lines->0->>'days')::numeric, 1) AS days,
           coalesce((b.lines->0->>'of')::numeric, 1) AS of_days,
           count(*) AS bills
      FROM billing_bill b
      JOIN tenancy_operator bo ON bo.id = b.operator_id AND bo.parent_id IS NOT NULL
      JOIN catalog_package p ON p.id = b.package_id
     WHERE b.id = ANY(%(ids)s) AND b.kind = 'invoice'
     GROUP BY 1, 2, 3, 4, 5
), edges AS (
    SELECT b.*, c.id AS child_id, c.parent_id, q.path AS parent_path
      FROM b
      JOIN tenancy_operator o ON o.id = b.operator_id
      JOIN tenancy_operator c
        ON c.tenant_id = o.tenant_id AND c.parent_id IS NOT NULL AND o.path LIKE c.path || '%%'
      JOIN tenancy_operator q ON q.id = c.parent_id
)
SELECT e.tenant_id, e.child_id, e.parent_id,
       sum(e.bills * round(w.price * e.days / e.of_days, 2)) AS amount
  FROM edges e
  CROSS JOIN LATERAL (
      SELECT v.price
        FROM catalog_package v JOIN tenancy_operator vo ON vo.id = v.operator_id
       WHERE (v.id = e.master OR v.parent_id = e.master) AND e.parent_path LIKE vo.path || '%%'
       ORDER BY length(vo.path) DESC
       LIMIT 1
  ) w
 GROUP BY 1, 2, 3
HAVING sum(e.bills * round(w.price * e.days / e.of_days, 2)) > 0
 ORDER BY 2
"""

# A customer's full-period wholesale price for each operator above it: what activating it
# must be covered by.
CUSTOMER_SQL = """
WITH b AS (
    SELECT cu.tenant_id, cu.operator_id, coalesce(p.parent_id, p.id) AS master
      FROM customers_customer cu JOIN catalog_package p ON p.id = cu.package_id
     WHERE cu.id = %(customer)s AND p.billing_type <> 'free'
)
SELECT c.id, w.price
  FROM b
  JOIN tenancy_operator o ON o.id = b.operator_id
  JOIN tenancy_operator c
    ON c.tenant_id = o.tenant_id AND c.parent_id IS NOT NULL AND o.path LIKE c.path || '%%'
  JOIN tenancy_operator q ON q.id = c.parent_id
  CROSS JOIN LATERAL (
      SELECT v.price
        FROM catalog_package v JOIN tenancy_operator vo ON vo.id = v.operator_id
       WHERE (v.id = b.master OR v.parent_id = b.master) AND q.path LIKE vo.path || '%%'
       ORDER BY length(vo.path) DESC
       LIMIT 1
  ) w
 WHERE w.price > 0
"""

# Apply changes to operators' balances (locked in id order), note since when each is below
# its floor (zero, or minus its credit limit), and return what they are now.
CHANGE_BALANCES = """
WITH locked AS (
    SELECT id FROM tenancy_operator WHERE id = ANY(%(ids)s) ORDER BY id FOR UPDATE
)
UPDATE tenancy_operator o
   SET balance = o.balance + d.delta,
       unsettled_since = CASE
           WHEN o.balance + d.delta
                < CASE WHEN o.account_type = 'credit' THEN -o.credit_limit ELSE 0 END
           THEN coalesce(o.unsettled_since, now())
       END,
       updated_at = now()
  FROM unnest(%(ids)s::bigint[], %(deltas)s::numeric[]) AS d(id, delta)
 WHERE o.id = d.id AND o.id IN (SELECT id FROM locked)
RETURNING o.id, o.name, o.balance, o.account_type, o.credit_limit
"""

# Why the settlement job disables an operator; funds that bring it back enable it again.
UNSETTLED = "unsettled"


def change_balances(deltas: dict[int, Decimal]) -> list[tuple[Any, ...]]:
    """Add ``deltas`` to the operators' balances; returns (id, name, balance, type, limit)."""
    with connection.cursor() as cursor:
        cursor.execute(CHANGE_BALANCES, {"ids": list(deltas), "deltas": list(deltas.values())})
        return cursor.fetchall()


def _entry(
    operator: Operator, source: tuple[str, str], purpose: str, memo: str, lines: list[Any]
) -> Posting:
    """One operator's entry of a movement between two operators: each side is posted in its
    own books, so neither sees the other's accounts."""
    source_type, source_id = source
    return Posting(
        tenant_id=operator.tenant_id,
        operator_id=operator.pk,
        memo=memo[:200],
        source_type=source_type,
        source_id=source_id,
        purpose=purpose,
        lines=lines,
    )


class Charge(NamedTuple):
    """What one operator is charged by its parent for a set of bills."""

    tenant_id: int
    child_id: int
    parent_id: int
    amount: Decimal


def wholesale_charges(bill_ids: Sequence[int]) -> list[Charge]:
    """The charges the invoices among ``bill_ids`` carry (nothing for the root's customers)."""
    if not bill_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(WHOLESALE_SQL, {"ids": list(bill_ids)})
        return [Charge(*row) for row in cursor.fetchall()]


def floor_of(operator: Any) -> Decimal:
    """The lowest balance the operator may reach: zero prepaid, minus the credit limit."""
    return _floor(operator.account_type, operator.credit_limit)


def _floor(account_type: str, credit_limit: Any) -> Decimal:
    return -Decimal(credit_limit) if account_type == Operator.AccountType.CREDIT else ZERO


def _short_of(name: str, balance: Decimal, floor: Decimal, needs: Decimal) -> DomainError:
    return DomainError(
        _(
            "%(operator)s has %(balance)s with its parent and may go down to %(floor)s: "
            "it cannot cover %(needs)s. Add funds to %(operator)s first."
        )
        % {"operator": name, "balance": balance, "floor": floor, "needs": needs}
    )


def charge(
    charges: Sequence[Charge], *, source_id: str, sign: int = 1, gated: bool = False
) -> list[JournalEntry]:
    """Post ``charges`` (``sign=-1``: give them back, for voided bills) keyed by
    ``source_id``, and move the operators' balances. ``gated``: refuse (the caller's
    transaction rolls back) when an operator would cross its floor."""
    if not charges:
        return []
    deltas: dict[int, Decimal] = {}
    for item in charges:
        deltas[item.child_id] = deltas.get(item.child_id, ZERO) - sign * item.amount
    rows = change_balances(deltas)
    if gated:
        for pk, name, balance, account_type, credit_limit in rows:
            floor = _floor(account_type, credit_limit)
            if deltas[pk] < 0 and balance < floor:
                raise _short_of(name, balance - deltas[pk], floor, -deltas[pk])
    operators = Operator.objects.in_bulk(
        {c.child_id for c in charges} | {c.parent_id for c in charges}
    )
    chart = Chart()
    postings = []
    source = (CHARGE, source_id)
    # A refund is keyed apart from a charge, so one call may carry both.
    verb, taken, given = (
        ("charged", "charge", "sale") if sign > 0 else ("refunded", "refund", "return")
    )
    for item in charges:
        child, parent = operators[item.child_id], operators[item.parent_id]
        amount = sign * item.amount
        postings += [
            _entry(
                child,
                source,
                f"{taken}:{child.pk}",
                f"Wholesale {verb} by {parent.name}",
                chart.legs(
                    child,
                    (Account.Kind.WHOLESALE, amount),
                    (Account.Kind.OPERATOR_PAYABLE, -amount, parent.pk),
                ),
            ),
            _entry(
                parent,
                source,
                f"{given}:{child.pk}",
                f"Wholesale {verb} to {child.name}",
                chart.legs(
                    parent,
                    (Account.Kind.OPERATOR_RECEIVABLE, amount, child.pk),
                    (Account.Kind.REVENUE, -amount),
                ),
            ),
        ]
    return post_many(postings)


def charge_bills(bill_ids: Sequence[int], *, source_id: str, gated: bool) -> list[JournalEntry]:
    """Charge the operators for new invoices, and give back what voided ones charged."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reverses_id FROM billing_bill WHERE id = ANY(%s) AND kind = 'reversal'",
            [list(bill_ids)],
        )
        voided = [row[0] for row in cursor.fetchall()]
    entries = charge(wholesale_charges(bill_ids), source_id=source_id, gated=gated)
    return entries + charge(wholesale_charges(voided), source_id=source_id, sign=-1)


def check_can_activate(customer_id: int) -> None:
    """Refuse when an operator above the customer could not pay a full period of its
    package (its balance would cross its floor)."""
    with connection.cursor() as cursor:
        cursor.execute(CUSTOMER_SQL, {"customer": customer_id})
        prices = dict(cursor.fetchall())
    for operator in Operator.objects.filter(pk__in=prices).order_by("path"):
        floor = floor_of(operator)
        if operator.balance - prices[operator.pk] < floor:
            raise _short_of(operator.name, operator.balance, floor, prices[operator.pk])


# ---- funds ----------------------------------------------------------------------------------


FUNDS_METHODS = (Account.Kind.CASH, Account.Kind.BANK)
FUNDS_METHOD_CHOICES = [(kind.value, kind.label) for kind in FUNDS_METHODS]


@transaction.atomic
def add_funds(
    *,
    actor: Any,
    operator: Operator,
    amount: Any,
    reference: str,
    method: str = Account.Kind.CASH,
    note: str = "",
    credit: bool = False,
) -> JournalEntry:
    """Record funds an operator paid its parent (``method``: cash or bank the parent received),
    or with ``credit`` a credit the parent grants without money; raises the operator's balance.
    Needs ``accounting.add`` on the parent; a reference is recorded once."""
    operator = (
        Operator.objects.select_for_update(of=("self",))
        .select_related("parent")
        .get(pk=operator.pk)
    )
    parent = operator.parent
    if parent is None:
        raise DomainError(_("The group admin's own node has no parent to pay."))
    require(actor, "accounting.add", parent)
    amount = amount_given(amount)
    reference = (reference or "").strip()[:80]
    if not reference:
        raise DomainError(
            _("Give the receipt, deposit slip or transaction reference."),
            fields={"reference": [_("Required.")]},
        )
    if not credit and method not in FUNDS_METHODS:
        raise DomainError(_("Funds arrive in cash or at the bank."), fields={"method": [_("?")]})
    if entry_for(operator.tenant_id, FUNDS, reference, f"received:{operator.pk}") is not None:
        raise ConflictError(
            _("This reference was already recorded."),
            fields={"reference": [_("Already recorded.")]},
        )
    chart = Chart()
    # What the parent gets: the money, or (a credit) nothing but a cost of its own.
    source = Account.Kind.EXPENSES if credit else method
    verb = "credit" if credit else "funds"
    memo = f"{operator.name} {verb} · {reference}" + (f" · {note.strip()}" if note.strip() else "")
    parent_side = _entry(
        parent,
        (FUNDS, reference),
        f"received:{operator.pk}",
        memo,
        chart.legs(
            parent, (source, amount), (Account.Kind.OPERATOR_RECEIVABLE, -amount, operator.pk)
        ),
    )
    child_side = _entry(
        operator,
        (FUNDS, reference),
        f"paid:{operator.pk}",
        memo,
        chart.legs(
            operator,
            (Account.Kind.OPERATOR_PAYABLE, amount, parent.pk),
            (Account.Kind.REVENUE if credit else method, -amount),
        ),
    )
    entry, _child = post_many([parent_side, child_side])
    change_balances({operator.pk: amount})
    operator.refresh_from_db(fields=["balance", "unsettled_since", "is_active", "disabled_reason"])
    audit.record(
        actor,
        "operator.credited" if credit else "operator.funds_added",
        operator,
        changes={
            "amount": [None, str(amount)],
            "reference": [None, reference],
            "balance": [str(operator.balance - amount), str(operator.balance)],
        },
    )
    settled = operator.unsettled_since is None
    if settled and not operator.is_active and operator.disabled_reason.startswith(UNSETTLED):
        set_operator_active(actor=None, operator=operator, active=True, reason="settled")
    return entry


@transaction.atomic
def suspend_unsettled(*, now: Any = None) -> int:
    """Disable every operator below its floor for longer than its ISP's grace (its staff and
    its subtree lose access until funds bring it back); returns how many."""
    now = now or clock.now()
    late = Operator.objects.filter(
        parent__isnull=False,
        is_active=True,
        unsettled_since__lte=now - dt.timedelta(days=settings.RESELLER_GRACE_DAYS),
    ).select_for_update()
    count = 0
    for operator in late:
        set_operator_active(
            actor=None,
            operator=operator,
            active=False,
            reason=f"{UNSETTLED}: balance {operator.balance} below its floor "
            f"{floor_of(operator)} since {operator.unsettled_since:%Y-%m-%d}",
        )
        count += 1
    return count


def charges_of(operator: Operator) -> Any:
    """The operator's funds and charges entries, newest first (its finance page)."""
    return JournalEntry.objects.filter(
        operator_id=operator.pk, source_type__in=[CHARGE, FUNDS]
    ).order_by("-id")


# ---- customers moving between operators -------------------------------------------------------

OPEN_SQL = """
SELECT coalesce(sum(total - paid_amount), 0)
  FROM billing_bill
 WHERE customer_id = %s AND kind IN ('invoice', 'adjustment')
   AND status IN ('unpaid', 'partially_paid')
"""


def move_customer_books(customer: Any, old: Operator, new: Operator) -> list[JournalEntry]:
    """A customer moved from ``old`` to ``new`` takes what it owes and its advance along: the
    old operator's receivable and advance for it move to the new one's books, against an
    account between the two (what the new operator will collect for the old one, or owes it
    back for the advance). Its bills stay the old operator's documents."""
    with connection.cursor() as cursor:
        cursor.execute(OPEN_SQL, [customer.pk])
        owed = cursor.fetchone()[0]
    advance = customer.advance_balance
    if not owed and not advance:
        return []
    chart = Chart()
    key = f"{customer.pk}:{old.pk}>{new.pk}:{clock.now().isoformat()}"
    memo = f"{customer.username} moved from {old.name} to {new.name}"
    return post_many(
        [
            _entry(
                old,
                (MOVE, key),
                "left",
                memo,
                chart.legs(
                    old,
                    (Account.Kind.RECEIVABLE, -owed),
                    (Account.Kind.ADVANCES, advance),
                    (Account.Kind.OPERATOR_RECEIVABLE, owed - advance, new.pk),
                ),
            ),
            _entry(
                new,
                (MOVE, key),
                "joined",
                memo,
                chart.legs(
                    new,
                    (Account.Kind.RECEIVABLE, owed),
                    (Account.Kind.ADVANCES, -advance),
                    (Account.Kind.OPERATOR_PAYABLE, advance - owed, old.pk),
                ),
            ),
        ]
    )


# ---- closing an operator --------------------------------------------------------------------

CLOSED = "closed"

# Accounts that must hold nothing before an operator closes: money in hand, what customers owe
# or paid ahead, and what it owes or is owed by other operators. Revenue, VAT, fees, expenses
# and wholesale cost are its history and stay as they are.
SETTLED_KINDS = (
    Account.Kind.CASH,
    Account.Kind.BANK,
    Account.Kind.GATEWAY_CLEARING,
    Account.Kind.RECEIVABLE,
    Account.Kind.ADVANCES,
    Account.Kind.OPERATOR_RECEIVABLE,
    Account.Kind.OPERATOR_PAYABLE,
)


def unsettled_reasons(operator: Operator) -> list[str]:
    """Why the operator cannot close yet (nothing: it may)."""
    reasons = []
    if Operator.objects.filter(parent=operator, is_active=True).exists():
        reasons.append(_("Close or disable its sub-operators first."))
    customers = Customer.objects.filter(operator=operator).exclude(status="deleted").count()
    if customers:
        reasons.append(
            _("%(count)s customers are still its own: move them or delete them.")
            % {"count": customers}
        )
    if operator.balance:
        reasons.append(
            _("Its balance with its parent is %(balance)s, not zero.")
            % {"balance": operator.balance}
        )
    for account in Account.objects.filter(operator=operator, kind__in=SETTLED_KINDS).exclude(
        balance=0
    ):
        reasons.append(
            _("%(account)s holds %(balance)s.") % {"account": account, "balance": account.balance}
        )
    if TransferRequest.objects.filter(operator=operator, status="pending").exists():
        reasons.append(_("Transfer requests of it wait for a decision."))
    return reasons


@transaction.atomic
def close_operator(*, actor: Any, operator: Operator, reason: str) -> Operator:
    """Close a settled operator for good: it is disabled (its staff lose access) and its
    records, bills and ledger stay as an archive. Refused, naming everything still open,
    while money or customers are left."""
    operator = Operator.objects.select_for_update().get(pk=operator.pk)
    if operator.parent_id is None:
        raise DomainError(_("The group admin's own node is not closed; disable the ISP."))
    require(actor, "accounting.change", operator.parent)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why it is closed."), fields={"reason": [_("Required.")]})
    if operator.disabled_reason.startswith(CLOSED):
        raise ConflictError(_("%(operator)s is already closed.") % {"operator": operator})
    reasons = unsettled_reasons(operator)
    if reasons:
        raise ConflictError(
            " ".join([_("%(operator)s is not settled:") % {"operator": operator}, *reasons])
        )
    return set_operator_active(
        actor=actor, operator=operator, active=False, reason=f"{CLOSED}: {reason}"[:200]
    )
