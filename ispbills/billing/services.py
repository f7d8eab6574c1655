"""The only writers of bills: pricing, preview, generation (one customer or a run), voids.

Pricing is one SQL statement (``PRICED_SQL``) used three ways, so a preview, a manual bill
and a run can never disagree: ``preview()`` reads it for one customer without writing,
``generate_bill()`` inserts it for one customer, ``run_billing()`` inserts it for every
customer of an ISP, batch by batch. The rules are in docs/billing.md.
"""

import datetime as dt
import json
import logging
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ispbills.billing.models import Bill, BillingRun, InvoiceCounter
from ispbills.core import audit, events
from ispbills.core.access import require
from ispbills.core.errors import ConflictError, DomainError
from ispbills.core.jobs import Progress
from ispbills.core.money import ZERO
from ispbills.radius.accounting import cycle_start_sql, next_cycle_start_sql
from ispbills.radius.provisioning import provision_customers
from ispbills.tenancy.models import Operator

log = logging.getLogger(__name__)

# A run still "running" after this long was killed (its worker died): the next may start.
RUN_STALE_AFTER = dt.timedelta(hours=2)

# Why a customer gets no bill, as the run summary and the preview name it.
SKIP_REASONS = {
    "no_package": gettext_lazy("no package"),
    "free_package": gettext_lazy("free package"),
    "suspended": gettext_lazy("suspended"),
    "disabled": gettext_lazy("disabled"),
    "deleted": gettext_lazy("deleted"),
    "trial": gettext_lazy("trial account"),
    "auto_bill_off": gettext_lazy("automatic billing is off in the billing profile"),
    "already_billed": gettext_lazy("already billed for this period"),
}

# What each customer's bill for the period holding %(at)s would be, and why it would not be
# issued (``skip``). Money is NUMERIC rounded half up to 2 places, as core.money does.
PRICED_SQL = f"""
bounds AS MATERIALIZED (
    SELECT t.id AS tenant_id, t.timezone, d.due_day,
           (%(at)s::timestamptz AT TIME ZONE t.timezone)::date AS today
      FROM tenancy_tenant t, generate_series(1, 31) AS d(due_day)
     WHERE t.id = %(tenant)s
), cycles AS MATERIALIZED (
    SELECT bounds.*, {cycle_start_sql("today", "due_day")} AS cycle_start FROM bounds
), periods AS MATERIALIZED (
    SELECT cycles.*, {next_cycle_start_sql("cycle_start", "due_day")} AS next_start FROM cycles
), c AS MATERIALIZED (
    SELECT cu.id AS customer_id, cu.tenant_id, cu.operator_id, cu.status, cu.is_trial,
           cu.package_id, greatest(cu.advance_balance, 0) AS advance,
           coalesce(cu.custom_price, p.price) AS price,
           -- A daily-rate package is billed one day at a time: the period is today.
           CASE WHEN p.billing_type = 'daily' THEN k.today
                ELSE greatest(k.cycle_start, (cu.created_at AT TIME ZONE k.timezone)::date)
           END AS period_start,
           CASE WHEN p.billing_type = 'daily' THEN k.today ELSE k.cycle_start END
               AS cycle_start,
           CASE WHEN p.billing_type = 'daily' THEN k.today + 1 ELSE k.next_start END
               AS next_start,
           k.today, k.due_day, k.timezone, cu.expires_at,
           coalesce(b.min_validity_days, 0) AS min_validity_days,
           p.name AS package_name, p.billing_type,
           coalesce(b.auto_bill, true) AS auto_bill,
           coalesce(b.discount_kind, 'none') AS discount_kind,
           coalesce(b.discount_value, 0) AS discount_value,
           coalesce(v.rate, 0) AS vat_rate, coalesce(v.inclusive, false) AS vat_inclusive
      FROM customers_customer cu
      LEFT JOIN catalog_package p ON p.id = cu.package_id
      LEFT JOIN catalog_billingprofile b ON b.id = cu.billing_profile_id
      LEFT JOIN catalog_vatprofile v ON v.id = p.vat_profile_id AND v.is_active
      JOIN periods k ON k.tenant_id = cu.tenant_id AND k.due_day = coalesce(b.due_day, 1)
     WHERE {{where}}
), base AS (
    SELECT c.*, next_start - 1 AS period_end, next_start - period_start AS days,
           next_start - cycle_start AS cycle_days,
           CASE WHEN period_start > cycle_start
                THEN round(price * (next_start - period_start) / (next_start - cycle_start), 2)
                ELSE price END AS subtotal
      FROM c
), disc AS (
    SELECT base.*,
           CASE discount_kind
                WHEN 'percent' THEN round(subtotal * discount_value / 100, 2)
                WHEN 'fixed' THEN least(discount_value, subtotal)
                ELSE 0 END AS discount
      FROM base
), taxed AS (
    SELECT disc.*,
           CASE WHEN vat_inclusive
                THEN round((subtotal - discount) * vat_rate / (100 + vat_rate), 2)
                ELSE round((subtotal - discount) * vat_rate / 100, 2) END AS vat
      FROM disc
), priced AS (
    SELECT taxed.*,
           subtotal - discount + CASE WHEN vat_inclusive THEN 0 ELSE vat END AS total,
           CASE WHEN package_id IS NULL THEN 'no_package'
                WHEN billing_type = 'free' THEN 'free_package'
                WHEN status NOT IN ('active', 'fup') THEN status
                WHEN is_trial THEN 'trial'
                WHEN %(run)s AND NOT auto_bill THEN 'auto_bill_off'
                WHEN EXISTS (
                    SELECT 1 FROM billing_bill x
                     WHERE x.customer_id = taxed.customer_id
                       AND x.period_start = taxed.period_start
                       AND x.kind = 'invoice' AND x.status <> 'void'
                ) THEN 'already_billed'
           END AS skip
      FROM taxed
), ready AS MATERIALIZED (
    SELECT priced.*, least(advance, total) AS advance_applied FROM priced
)
"""

PREVIEW_SQL = f"WITH {PRICED_SQL} SELECT * FROM ready"

# PostgreSQL's JIT compiles these long expressions for a minute before running them in a
# second: off for the pricing statements (their transaction only).
NO_JIT = "SET LOCAL jit = off"

# Issue the bills of ``ready`` rows without a skip reason, numbered after the ISP's counter
# (locked by the caller), debit the advance they consume, and count what was skipped.
ISSUE_SQL = f"""
WITH {PRICED_SQL},
fresh AS (
    SELECT ready.*, expiry.new_expiry,
           ready.expires_at IS NOT NULL AND ready.expires_at < expiry.new_expiry AS extends,
           (SELECT last_number FROM billing_invoicecounter WHERE tenant_id = ready.tenant_id)
           + row_number() OVER (PARTITION BY tenant_id ORDER BY customer_id) AS number
      FROM ready, LATERAL (
          SELECT greatest(((ready.period_end + 1)::timestamp AT TIME ZONE ready.timezone),
                          now() + make_interval(days => ready.min_validity_days)) AS new_expiry
      ) expiry
     WHERE skip IS NULL
), bills AS (
    INSERT INTO billing_bill (
        tenant_id, operator_id, created_at, updated_at, number, kind, customer_id, run_id,
        period_start, period_end, issued_on, due_on, package_id, description, lines,
        subtotal, discount, vat, vat_rate, vat_inclusive, total, advance_applied,
        paid_amount, status, void_reason, created_by_id)
    SELECT tenant_id, operator_id, now(), now(), number, 'invoice', customer_id, %(run_id)s,
           period_start, period_end, today, greatest(period_start, today), package_id,
           package_name,
           jsonb_build_array(jsonb_build_object(
               'kind', 'package', 'amount', subtotal::text, 'days', days, 'of', cycle_days))
           || CASE WHEN discount > 0 THEN jsonb_build_array(jsonb_build_object(
                  'kind', 'discount', 'amount', (-discount)::text,
                  'discount_kind', discount_kind, 'value', discount_value::text))
              ELSE '[]'::jsonb END
           || CASE WHEN vat_rate > 0 THEN jsonb_build_array(jsonb_build_object(
                  'kind', 'vat', 'amount', vat::text, 'rate', vat_rate::text,
                  'inclusive', vat_inclusive))
              ELSE '[]'::jsonb END,
           subtotal, discount, vat, vat_rate, vat_inclusive, total, advance_applied,
           advance_applied,
           CASE WHEN advance_applied = total THEN 'paid'
                WHEN advance_applied > 0 THEN 'partially_paid'
                ELSE 'unpaid' END,
           '', %(user_id)s
      FROM fresh
    RETURNING id, tenant_id, customer_id, total, advance_applied, status
), debits AS (
    INSERT INTO billing_advancedebit (bill_id, customer_id, amount, at, posted)
    SELECT id, customer_id, advance_applied, now(), false FROM bills WHERE advance_applied > 0
    RETURNING 1
), advance AS (
    -- One update a customer: the advance the bill consumed, and (prepaid validity) a
    -- customer with an expiry whose bill the advance paid in full is served to the end of
    -- the paid period, at least the billing profile's minimum validity.
    UPDATE customers_customer cu
       SET advance_balance = cu.advance_balance - bills.advance_applied,
           expires_at = CASE WHEN bills.status = 'paid' AND f.extends THEN f.new_expiry
                             ELSE cu.expires_at END
      FROM bills JOIN fresh f ON f.customer_id = bills.customer_id
     WHERE cu.id = bills.customer_id
       AND (bills.advance_applied > 0 OR (bills.status = 'paid' AND f.extends))
    RETURNING cu.id, bills.status = 'paid' AND f.extends AS extended
), bump AS (
    UPDATE billing_invoicecounter n
       SET last_number = n.last_number + issued.count
      FROM (SELECT tenant_id, count(*) AS count FROM bills GROUP BY tenant_id) issued
     WHERE n.tenant_id = issued.tenant_id
    RETURNING 1
), skipped AS (
    SELECT skip, count(*) AS count FROM ready WHERE skip IS NOT NULL GROUP BY skip
)
SELECT (SELECT count(*) FROM bills),
       (SELECT coalesce(sum(total), 0) FROM bills),
       (SELECT coalesce(sum(advance_applied), 0) FROM bills),
       (SELECT coalesce(jsonb_object_agg(skip, count), '{{{{}}}}') FROM skipped),
       (SELECT count(*) FROM debits) + (SELECT count(*) FROM advance) + (SELECT count(*) FROM bump),
       (SELECT array_agg(id) FROM bills),
       (SELECT array_agg(id) FROM advance WHERE extended)
"""


@dataclass(frozen=True)
class Preview:
    """What a customer's bill for the period holding a moment would be; nothing written."""

    customer_id: int
    period_start: dt.date
    period_end: dt.date
    days: int
    cycle_days: int
    package_name: str | None
    subtotal: Decimal
    discount: Decimal
    vat: Decimal
    vat_rate: Decimal
    vat_inclusive: bool
    total: Decimal
    advance: Decimal
    advance_applied: Decimal
    skip: str | None

    @property
    def payable(self) -> Decimal:
        return self.total - self.advance_applied

    @property
    def skip_reason(self) -> str:
        return str(SKIP_REASONS.get(self.skip or "", self.skip or ""))


def lock_counters(tenant_id: int) -> None:
    """Take the ISP's invoice counter (created on first use): writers of bills queue here."""
    InvoiceCounter.objects.get_or_create(tenant_id=tenant_id)
    InvoiceCounter.objects.select_for_update().get(tenant_id=tenant_id)


def preview(customer: Any, *, at: dt.datetime | None = None) -> Preview:
    """The bill ``customer`` would get for the period holding ``at`` (default now)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(NO_JIT)
        cursor.execute(
            PREVIEW_SQL.format(where="cu.id = %(customer)s"),
            {
                "customer": customer.pk,
                "tenant": customer.tenant_id,
                "at": at or timezone.now(),
                "run": False,
            },
        )
        columns = [column.name for column in cursor.description]
        row = dict(zip(columns, cursor.fetchone(), strict=True))
    return Preview(
        customer_id=row["customer_id"],
        period_start=row["period_start"],
        period_end=row["period_end"],
        days=row["days"],
        cycle_days=row["cycle_days"],
        package_name=row["package_name"],
        subtotal=_money(row["subtotal"]),
        discount=_money(row["discount"]),
        vat=_money(row["vat"]),
        vat_rate=row["vat_rate"],
        vat_inclusive=row["vat_inclusive"],
        total=_money(row["total"]),
        advance=_money(row["advance"]),
        advance_applied=_money(row["advance_applied"]),
        skip=row["skip"],
    )


def _money(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(value)


def issue(
    where: str, params: dict[str, Any]
) -> tuple[int, Decimal, Decimal, dict[str, int], list[int]]:
    with connection.cursor() as cursor:
        cursor.execute(NO_JIT)
        cursor.execute(ISSUE_SQL.format(where=where), params)
        count, total, applied, skipped, _writes, ids, extended = cursor.fetchone()
    # Extended expiries reach RADIUS (the Expiration item) in the same transaction.
    provision_customers(extended or [])
    events.emit("bills.issued", bill_ids=list(ids or []), run_id=params.get("run_id"))
    # Django reads jsonb as text (its JSONField decodes it); so do we.
    return count, Decimal(total), Decimal(applied), json.loads(skipped), list(ids or [])


@transaction.atomic
def generate_bill(*, actor: Any, customer: Any, at: dt.datetime | None = None) -> Bill:
    """Issue a customer's bill for the period holding ``at`` now (staff, API), whatever the
    billing profile's automatic setting; refused with the reason when there is none to issue."""
    require(actor, "billing.add", customer.operator)
    lock_counters(customer.tenant_id)
    count, _total, _applied, skipped, ids = issue(
        "cu.id = %(customer)s",
        {
            "customer": customer.pk,
            "tenant": customer.tenant_id,
            "at": at or timezone.now(),
            "run": False,
            "run_id": None,
            "user_id": getattr(actor, "pk", None),
        },
    )
    if not count:
        reason = next(iter(skipped), "")
        message = _("No bill to issue: %(reason)s.") % {"reason": SKIP_REASONS.get(reason, reason)}
        raise (ConflictError if reason == "already_billed" else DomainError)(message)
    bill = Bill.objects.get(pk=ids[0])
    audit.record(
        actor,
        "bill.issued",
        bill,
        label=f"{bill.display_number} · {customer.username}",
        changes={
            "total": [None, str(bill.total)],
            "advance_applied": [None, str(bill.advance_applied)],
        },
    )
    return bill


def run_billing(
    *,
    tenant_id: int,
    at: dt.datetime | None = None,
    actor: Any = None,
    batch: int = 50_000,
    progress: Progress | None = None,
    job_run_id: int | None = None,
) -> BillingRun:
    """Bill every eligible customer of an ISP for the period holding ``at``, batch by batch.

    Each batch commits on its own, so a run killed mid-way is resumed by running again:
    customers billed for the period are skipped ("already billed"), nobody is billed twice
    (a unique constraint backs that up), and the invoice numbers stay gapless because every
    batch takes the ISP's invoice counter.
    """
    at = at or timezone.now()
    root = Operator.objects.get(tenant_id=tenant_id, parent__isnull=True)
    require(actor, "billing.add", root)
    tenant_zone = root.tenant.timezone
    run = BillingRun.objects.create(
        tenant_id=tenant_id,
        operator=root,
        run_date=timezone.localtime(at, zoneinfo.ZoneInfo(tenant_zone)).date(),
        requested_by=actor if getattr(actor, "pk", None) else None,
        job_run_id=job_run_id,
    )
    summary: dict[str, Any] = {
        "billed": 0,
        "total": "0.00",
        "advance_applied": "0.00",
        "skipped": {},
    }
    total, applied = Decimal("0.00"), Decimal("0.00")
    last = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_customer WHERE tenant_id = %s", [tenant_id])
        customers = cursor.fetchone()[0]
    done = 0
    try:
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT id FROM customers_customer WHERE tenant_id = %s AND id > %s "
                    "ORDER BY id LIMIT %s",
                    [tenant_id, last, batch],
                )
                ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                break
            with transaction.atomic():
                lock_counters(tenant_id)
                count, batch_total, batch_applied, skipped, _bills = issue(
                    "cu.id BETWEEN %(first)s AND %(last)s AND cu.tenant_id = %(tenant)s",
                    {
                        "first": ids[0],
                        "last": ids[-1],
                        "tenant": tenant_id,
                        "at": at,
                        "run": True,
                        "run_id": run.pk,
                        "user_id": getattr(actor, "pk", None),
                    },
                )
                summary["billed"] += count
                total += batch_total
                applied += batch_applied
                for reason, number in skipped.items():
                    summary["skipped"][reason] = summary["skipped"].get(reason, 0) + number
                summary["total"], summary["advance_applied"] = str(total), str(applied)
                run.summary = summary
                run.save(update_fields=["summary", "updated_at"])
            last = ids[-1]
            done += len(ids)
            if progress is not None:
                progress.update(done, customers)
    except Exception:
        BillingRun.objects.filter(pk=run.pk).update(
            status=BillingRun.Status.FAILED, finished_at=timezone.now()
        )
        raise
    run.status = BillingRun.Status.SUCCEEDED
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at", "updated_at"])
    audit.record(actor, "billing.run", run, changes={"summary": [None, summary]})
    return run


def run_due_billing(*, now: dt.datetime | None = None) -> int:
    """Run billing for every active ISP with no successful run for its current day (its own
    calendar) and none under way; returns the runs made. One ISP's failure is logged and
    leaves the others billed (its run is marked failed and is tried again next hour)."""
    from ispbills.tenancy.models import Tenant

    now = now or timezone.now()
    runs = 0
    for tenant in Tenant.objects.filter(is_active=True).only("pk", "timezone"):
        today = timezone.localtime(now, zoneinfo.ZoneInfo(tenant.timezone)).date()
        busy = BillingRun.objects.filter(tenant_id=tenant.pk).filter(
            Q(run_date=today, status=BillingRun.Status.SUCCEEDED)
            | Q(status=BillingRun.Status.RUNNING, created_at__gt=now - RUN_STALE_AFTER)
        )
        if busy.exists():
            continue
        try:
            run_billing(tenant_id=tenant.pk, at=now)
        except Exception:
            log.exception("billing run of tenant %s failed", tenant.pk)
            continue
        runs += 1
    return runs
