"""Voiding bills, one or a whole filtered set, in one set-based statement a batch.

A void never deletes: each voided invoice gets a reversal bill (numbered after the ISP's
gapless counter, amounts negated), the advance it consumed goes back to the customer with a
negative ``AdvanceDebit`` for the ledger, and its period may be billed again. An invoice on
which payments were made (beyond what the advance covered) is not voided: its payments are
reversed first, on the payments side.
"""

from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ispbills.billing.models import Bill, InvoiceCounter
from ispbills.core import audit, clock, events
from ispbills.core.access import access_of, require
from ispbills.core.errors import ConflictError, DomainError, NotAllowedError
from ispbills.core.jobs import Progress

BATCH = 5_000

# Why a bill of a bulk void was left as it was.
VOID_SKIPS = {
    "void": gettext_lazy("already void"),
    "reversal": gettext_lazy("a reversal, not an invoice"),
    "paid": gettext_lazy("payments were made against it"),
}

# The invoices of %(ids)s that may be voided, locked and numbered after the ISP's counter
# (locked by the caller), each with its reversal, the advance returned and the period freed.
VOID_SQL = """
WITH locked AS MATERIALIZED (
    SELECT b.* FROM billing_bill b
     WHERE b.id = ANY(%(ids)s) AND b.tenant_id = %(tenant)s AND b.kind = 'invoice'
       AND b.status <> 'void' AND b.paid_amount <= b.advance_applied
       FOR UPDATE
), target AS MATERIALIZED (
    SELECT locked.*,
           (SELECT last_number FROM billing_invoicecounter WHERE tenant_id = %(tenant)s)
           + row_number() OVER (ORDER BY locked.id) AS reversal_number
      FROM locked
), reversals AS (
    INSERT INTO billing_bill (
        tenant_id, operator_id, created_at, updated_at, number, kind, customer_id, reverses_id,
        run_id, period_start, period_end, issued_on, due_on, package_id, description, lines,
        subtotal, discount, vat, vat_rate, vat_inclusive, total, advance_applied, paid_amount,
        status, void_reason, created_by_id)
    SELECT tenant_id, operator_id, %(now)s, %(now)s, reversal_number, 'reversal', customer_id,
           id, NULL, period_start, period_end, (%(now)s AT TIME ZONE %(zone)s)::date, due_on,
           package_id, description,
           coalesce((SELECT jsonb_agg(line || jsonb_build_object(
                                'amount', (-(line ->> 'amount')::numeric)::text)
                            ORDER BY position)
                       FROM jsonb_array_elements(lines) WITH ORDINALITY AS l(line, position)),
                    '[]'::jsonb),
           -subtotal, -discount, -vat, vat_rate, vat_inclusive, -total, 0, 0, 'void',
           %(reason)s, %(user_id)s
      FROM target
    RETURNING id, reverses_id, customer_id
), voided AS (
    UPDATE billing_bill b
       SET status = 'void', voided_at = %(now)s, void_reason = %(reason)s, updated_at = %(now)s
      FROM target
     WHERE b.id = target.id
    RETURNING b.id
), returned AS (
    UPDATE customers_customer c
       SET advance_balance = c.advance_balance + given.amount
      FROM (SELECT customer_id, sum(advance_applied) AS amount FROM target
             WHERE advance_applied > 0 GROUP BY customer_id) given
     WHERE c.id = given.customer_id
    RETURNING c.id
), debits AS (
    INSERT INTO billing_advancedebit (bill_id, customer_id, amount, at, posted)
    SELECT r.id, t.customer_id, -t.advance_applied, %(now)s, false
      FROM reversals r JOIN target t ON t.id = r.reverses_id
     WHERE t.advance_applied > 0
    RETURNING 1
), bump AS (
    UPDATE billing_invoicecounter
       SET last_number = last_number + (SELECT count(*) FROM target)
     WHERE tenant_id = %(tenant)s
    RETURNING 1
)
SELECT t.id, t.tenant_id, t.operator_id, t.number, t.advance_applied, r.id, t.reversal_number,
       (SELECT count(*) FROM voided) + (SELECT count(*) FROM returned)
       + (SELECT count(*) FROM debits) + (SELECT count(*) FROM bump)
  FROM target t JOIN reversals r ON r.reverses_id = t.id
 ORDER BY t.id
"""


def _void_batch(
    actor: Any, tenant_id: int, zone: str, ids: list[int], reason: str
) -> list[tuple[Any, ...]]:
    """Void what may be voided of ``ids`` (one ISP's bills) in the caller's transaction;
    one audit row each. Returns (bill id, number, advance returned, reversal id, number)."""
    InvoiceCounter.objects.get_or_create(tenant_id=tenant_id)
    InvoiceCounter.objects.select_for_update().get(tenant_id=tenant_id)
    now = clock.now()
    with connection.cursor() as cursor:
        cursor.execute(
            VOID_SQL,
            {
                "ids": ids,
                "tenant": tenant_id,
                "now": now,
                "zone": zone,
                "reason": reason,
                "user_id": getattr(actor, "pk", None),
            },
        )
        rows = cursor.fetchall()
    audit.record_many(
        actor,
        "bill.voided",
        "billing.bill",
        [
            {
                "tenant_id": tenant,
                "operator_id": operator,
                "object_id": pk,
                "label": f"INV-{number:06d} · CR-{reversal_number:06d}",
                "changes": {"reason": [None, reason], "advance_returned": [None, advance]},
            }
            for pk, tenant, operator, number, advance, _reversal, reversal_number, _ in rows
        ],
    )
    events.emit("bills.issued", bill_ids=[row[5] for row in rows], run_id=None)
    return [(row[0], row[3], row[4], row[5], row[6]) for row in rows]


def clean_reason(reason: str | None) -> str:
    reason = (reason or "").strip()[:200]
    if not reason:
        raise DomainError(_("Say why the bill is voided."), fields={"reason": [_("Required.")]})
    return reason


@transaction.atomic
def void_bill(*, actor: Any, bill: Bill, reason: str) -> Bill:
    """Void one bill; returns its reversal. Refused, with nothing written, when the bill is
    void already, is a reversal, or has payments on it."""
    require(actor, "billing.change", bill.operator)
    reason = clean_reason(reason)
    bill = Bill.objects.select_related("tenant").get(pk=bill.pk)
    done = _void_batch(actor, bill.tenant_id, bill.tenant.timezone, [bill.pk], reason)
    if not done:
        if bill.kind != Bill.Kind.INVOICE or bill.status == Bill.Status.VOID:
            raise ConflictError(_("This bill is already void or is itself a reversal."))
        raise ConflictError(_("Payments were made against this bill: reverse them first."))
    return Bill.objects.get(pk=done[0][3])


def void_bills(
    *, actor: Any, bills: Any, reason: str, progress: Progress | None = None
) -> dict[str, Any]:
    """Void every bill of ``bills`` (a queryset of one ISP's bills, restricted again here to
    what ``actor`` may change) that may be voided, batch by batch, each batch committed;
    returns the counts, the advance returned and, by reason, the bills left as they were."""
    reason = clean_reason(reason)
    if actor is not None and not access_of(actor).can(Bill.permission("change")):
        raise NotAllowedError(_("You do not have permission to void bills."))
    targets = bills if actor is None else bills.restrict(actor, "change")
    rows = list(targets.order_by("id").values_list("id", "tenant_id", "kind", "status"))
    if not rows:
        raise DomainError(_("No bills to void."))
    tenants = {tenant for _pk, tenant, _kind, _status in rows}
    if len(tenants) > 1:
        raise DomainError(_("Void the bills of one ISP at a time."))
    tenant_id = tenants.pop()
    from ispbills.tenancy.models import Tenant

    zone = Tenant.objects.values_list("timezone", flat=True).get(pk=tenant_id)
    summary: dict[str, Any] = {"voided": 0, "advance_returned": "0.00", "skipped": {}}
    returned = Decimal("0.00")
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        with transaction.atomic():
            done = _void_batch(actor, tenant_id, zone, [row[0] for row in chunk], reason)
        voided = {row[0] for row in done}
        summary["voided"] += len(done)
        returned += sum(row[2] for row in done)
        for pk, _tenant, kind, status in chunk:
            if pk in voided:
                continue
            if kind != Bill.Kind.INVOICE:
                why = "reversal"
            else:
                why = "void" if status == Bill.Status.VOID else "paid"
            summary["skipped"][why] = summary["skipped"].get(why, 0) + 1
        if progress is not None:
            progress.update(start + len(chunk), len(rows))
    summary["advance_returned"] = f"{returned:.2f}"
    return summary
