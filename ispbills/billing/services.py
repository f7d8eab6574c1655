"""The only writers of bills: pricing, preview, generation (one customer or a run), voids.

Pricing is one SQL statement (``PRICED_SQL``) used three ways, so a preview, a manual bill
and a run can never disagree: ``preview()`` reads it for one customer without writing,
``generate_bill()`` inserts it for one customer, ``run_billing()`` inserts it for every
customer of an ISP, batch by batch. The rules are in docs/billing.md.
"""

import datetime as dt
import functools
import json
import logging
import queue
import threading
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
from ispbills.radius.provisioning import provision_status
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
           coalesce(v.rate, 0) AS vat_rate, coalesce(v.inclusive, false) AS vat_inclusive,
           cu.xmin AS customer_version
      FROM customers_customer cu
      LEFT JOIN catalog_package p ON p.id = cu.package_id
      LEFT JOIN catalog_billingprofile b ON b.id = cu.billing_profile_id
      LEFT JOIN catalog_vatprofile v ON v.id = p.vat_profile_id AND v.is_active
      -- One row a due day (the ISP's alone): a hash join, not a scan of the customers each.
      JOIN periods k ON k.due_day = coalesce(b.due_day, 1)
     WHERE cu.tenant_id = %(tenant)s AND ({{where}})
), base AS (
    -- OFFSET 0 keeps each step a projection of its own: inlined, every later use of
    -- subtotal, discount and VAT would compute them again (each many times a row).
    SELECT c.*, next_start - 1 AS period_end, next_start - period_start AS days,
           next_start - cycle_start AS cycle_days,
           CASE WHEN period_start > cycle_start
                THEN round(price * (next_start - period_start) / (next_start - cycle_start), 2)
                ELSE price END AS subtotal
      FROM c OFFSET 0
), disc AS (
    SELECT base.*,
           CASE discount_kind
                WHEN 'percent' THEN round(subtotal * discount_value / 100, 2)
                WHEN 'fixed' THEN least(discount_value, subtotal)
                ELSE 0 END AS discount
      FROM base OFFSET 0
), taxed AS (
    SELECT disc.*,
           CASE WHEN vat_inclusive
                THEN round((subtotal - discount) * vat_rate / (100 + vat_rate), 2)
                ELSE round((subtotal - discount) * vat_rate / 100, 2) END AS vat
      FROM disc OFFSET 0
), priced AS (
    SELECT taxed.*,
           subtotal - discount + CASE WHEN vat_inclusive THEN 0 ELSE vat END AS total,
           CASE WHEN package_id IS NULL THEN 'no_package'
                WHEN billing_type = 'free' THEN 'free_package'
                WHEN status NOT IN ('active', 'fup') THEN status
                WHEN is_trial THEN 'trial'
                WHEN %(run)s AND NOT auto_bill THEN 'auto_bill_off'
                WHEN billed.id IS NOT NULL THEN 'already_billed'
           END AS skip
      -- One probe of bill_once_per_period a customer (a lateral join: never a hash of all
      -- the ISP's bills, which the planner picks when it believes the table small).
      FROM taxed LEFT JOIN LATERAL (
          SELECT x.id FROM billing_bill x
           WHERE x.customer_id = taxed.customer_id AND x.period_start = taxed.period_start
             AND x.kind = 'invoice' AND x.status <> 'void'
           LIMIT 1
      ) billed ON true
      OFFSET 0
), ready AS MATERIALIZED (
    SELECT priced.*, least(advance, total) AS advance_applied FROM priced
)
"""

PREVIEW_SQL = f"WITH {PRICED_SQL} SELECT * FROM ready"

# Settings of the pricing statements (their transaction only; JIT is off for every
# connection, config/database.py). A batch's rows are sorted and hashed in memory (50,000
# priced rows are about 40 MB). And never a sequential scan where an index serves: planned
# while the bill table is empty (an ISP's first run, or a batch planned while the one before
# is being inserted), the "already billed" probe would otherwise scan the whole table for
# every customer.
PRICING_SETTINGS = "SET LOCAL work_mem = '256MB'; SET LOCAL enable_seqscan = off"

# A priced row's lines as JSON text, parsed once: jsonb_build_object and || take 2.4 times
# as long. Every value is a number, a boolean or a choice's key (nothing to escape).
LINES_SQL = """('[{{"kind": "package", "amount": "' || subtotal || '", "days": ' || days
    || ', "of": ' || cycle_days || '}}'
    || CASE WHEN discount > 0 THEN ', {{"kind": "discount", "amount": "' || -discount
            || '", "discount_kind": "' || discount_kind || '", "value": "' || discount_value
            || '"}}' ELSE '' END
    || CASE WHEN vat_rate > 0 THEN ', {{"kind": "vat", "amount": "' || vat || '", "rate": "'
            || vat_rate || '", "inclusive": ' || vat_inclusive::text || '}}' ELSE '' END
    || ']')::jsonb"""

# Issue the bills of the ``source`` rows (priced rows with their lines) without a skip
# reason, numbered after the ISP's counter (locked by the caller), debit the advance they
# consume, and count what was skipped.
ISSUE_TAIL = """
fresh AS (
    SELECT source.*, expiry.new_expiry,
           source.expires_at < expiry.new_expiry AS extends,
           (SELECT last_number FROM billing_invoicecounter WHERE tenant_id = %(tenant)s)
           + row_number() OVER (ORDER BY customer_id) AS number
      FROM source, LATERAL (
          -- Only for a customer with an expiry whose bill the advance pays in full.
          SELECT CASE WHEN source.expires_at IS NOT NULL
                           AND source.advance_applied = source.total
                      THEN greatest(
                          (source.period_end + 1)::timestamp AT TIME ZONE source.timezone,
                          now() + make_interval(days => source.min_validity_days))
                 END AS new_expiry
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
           package_name, lines, subtotal, discount, vat, vat_rate, vat_inclusive, total,
           advance_applied, advance_applied,
           CASE WHEN advance_applied = total THEN 'paid'
                WHEN advance_applied > 0 THEN 'partially_paid'
                ELSE 'unpaid' END,
           '', %(user_id)s
      FROM fresh
    RETURNING id, tenant_id, operator_id, customer_id, total, vat, advance_applied, status
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
           expires_at = CASE WHEN f.extends THEN f.new_expiry ELSE cu.expires_at END
      FROM bills JOIN fresh f ON f.customer_id = bills.customer_id
     WHERE cu.id = bills.customer_id AND (bills.advance_applied > 0 OR f.extends)
    RETURNING cu.id, f.extends AS extended
), totals AS (
    SELECT count(*) AS count, coalesce(sum(total), 0) AS total,
           coalesce(sum(advance_applied), 0) AS applied, array_agg(id) AS ids
      FROM bills
), bump AS (
    UPDATE billing_invoicecounter n
       SET last_number = n.last_number + totals.count
      FROM totals
     WHERE n.tenant_id = %(tenant)s AND totals.count > 0
    RETURNING 1
), skipped AS (
    SELECT skip, count(*) AS count FROM source WHERE skip IS NOT NULL GROUP BY skip
), operators AS (
    -- What the ledger posts of a run's batch, summed here rather than read back.
    SELECT operator_id, sum(total)::text AS total, sum(vat)::text AS vat,
           sum(advance_applied)::text AS applied, count(*) AS count
      FROM bills GROUP BY operator_id
)
SELECT totals.count, totals.total, totals.applied,
       (SELECT coalesce(jsonb_object_agg(skip, count), '{{}}') FROM skipped),
       (SELECT count(*) FROM debits) + (SELECT count(*) FROM advance) + (SELECT count(*) FROM bump),
       totals.ids,
       (SELECT array_agg(id) FROM advance WHERE extended),
       (SELECT coalesce(jsonb_agg(operators ORDER BY operator_id), '[]') FROM operators)
  FROM totals
"""

# Price and issue in one statement (a bill made by hand, bulk issuing).
ISSUE_SQL = f"""
WITH {PRICED_SQL},
source AS NOT MATERIALIZED (SELECT ready.*, {LINES_SQL} AS lines FROM ready),
{ISSUE_TAIL}"""

# A run's batch priced ahead into its own unlogged table (``{stage}``), committed, for the
# issuing lane (``STAGED_ISSUE_SQL``).
STAGE_SQL = f"""
CREATE UNLOGGED TABLE {{stage}} AS
WITH {PRICED_SQL}
SELECT ready.*, {LINES_SQL} AS lines FROM ready"""

# Issue a staged batch. A customer whose row changed since it was priced (a payment, a
# package or status change, a void giving back its advance: any update gives the row a new
# ``xmin``) is priced again here, under the counter; so is the whole batch when
# ``%(recheck)s`` says another writer issued bills since (a bill made by hand in between).
STAGED_ISSUE_SQL = f"""
WITH stale AS MATERIALIZED (
    SELECT s.customer_id FROM {{stage}} s
      LEFT JOIN customers_customer cu ON cu.id = s.customer_id
     WHERE %(recheck)s OR cu.xmin IS DISTINCT FROM s.customer_version
), {PRICED_SQL},
source AS NOT MATERIALIZED (
    SELECT s.* FROM {{stage}} s WHERE s.customer_id NOT IN (SELECT customer_id FROM stale)
    UNION ALL
    SELECT ready.*, {LINES_SQL} AS lines FROM ready
),
{ISSUE_TAIL}"""

STAGED_WHERE = "cu.id IN (SELECT customer_id FROM stale)"

# pg_advisory_lock(RUN_LOCK_CLASS, tenant id): held by a run for its whole length, so two
# runs of one ISP take turns (the second finds the first one's customers billed).
RUN_LOCK_CLASS = 7302


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


def lock_counters(tenant_id: int) -> int:
    """Take the ISP's invoice counter (created on first use): writers of bills queue here.
    Returns the last number issued."""
    InvoiceCounter.objects.get_or_create(tenant_id=tenant_id)
    return InvoiceCounter.objects.select_for_update().get(tenant_id=tenant_id).last_number


def preview(customer: Any, *, at: dt.datetime | None = None) -> Preview:
    """The bill ``customer`` would get for the period holding ``at`` (default now)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(PRICING_SETTINGS)
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
    """Price and issue the bills of the customers ``where`` selects (the caller holds the
    ISP's counter); returns count, total, advance applied, skipped by reason, bill ids."""
    return _issue(ISSUE_SQL.format(where=where), params)


def _issue(
    sql: str, params: dict[str, Any]
) -> tuple[int, Decimal, Decimal, dict[str, int], list[int]]:
    with connection.cursor() as cursor:
        cursor.execute(PRICING_SETTINGS)
        cursor.execute(sql, params)
        count, total, applied, skipped, _writes, ids, extended, operators = cursor.fetchone()
    # Extended expiries reach RADIUS (the Expiration item) in the same transaction: only the
    # rows a customer's status and expiry decide are compared and the differing ones written
    # (no password decrypted, as rewriting all of a customer's rows would).
    provision_status(extended or [])
    events.emit(
        "bills.issued",
        bill_ids=list(ids or []),
        run_id=params.get("run_id"),
        operator_sums=json.loads(operators),
    )
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


@dataclass(frozen=True)
class _Staged:
    """A batch priced ahead: its table, customers and the counter its snapshot saw."""

    table: str
    last: int
    customers: int
    counter: int


def _stage_prefix(tenant_id: int) -> str:
    return f"billing_stage_{int(tenant_id)}_"


def _price_ahead(
    *, tenant_id: int, run_id: int, at: dt.datetime, after: int, batch: int, number: int
) -> _Staged | None:
    """Price the ``batch`` customers after id ``after`` into an unlogged table, reading the
    ISP's counter in the same snapshot; None when no customer is left. Commits on its own
    connection (the pricing lane), or joins the caller's transaction (one lane)."""
    table = f"{_stage_prefix(tenant_id)}{int(run_id)}_{int(number)}"
    lane = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if lane:  # one snapshot for the prices and the counter
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute(PRICING_SETTINGS)
        cursor.execute(
            "SELECT min(id), max(id), count(*) FROM (SELECT id FROM customers_customer "
            "WHERE tenant_id = %s AND id > %s ORDER BY id LIMIT %s) ids",
            [tenant_id, after, batch],
        )
        first, last, customers = cursor.fetchone()
        if not customers:
            return None
        cursor.execute(
            STAGE_SQL.format(stage=table, where="cu.id BETWEEN %(first)s AND %(last)s"),
            {"first": first, "last": last, "tenant": tenant_id, "at": at, "run": True},
        )
        cursor.execute(
            "SELECT last_number FROM billing_invoicecounter WHERE tenant_id = %s", [tenant_id]
        )
        counter = cursor.fetchone()[0]
    return _Staged(table=table, last=last, customers=customers, counter=counter)


def _pricing_lane(
    out: "queue.Queue[_Staged | BaseException | None]",
    stop: threading.Event,
    **batch: Any,
) -> None:
    """The second lane: price batch after batch ahead of the issuing lane (at most one
    waiting), on this thread's own database connection."""

    def hand_over(item: _Staged | BaseException | None) -> None:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    try:
        after, number = 0, 0
        while not stop.is_set():
            staged = _price_ahead(after=after, number=number, **batch)
            hand_over(staged)
            if staged is None:
                return
            after, number = staged.last, number + 1
    except BaseException as exc:  # handed to the issuing lane, which raises it
        hand_over(exc)
    finally:
        connection.close()


def _drop_stages(tenant_id: int) -> None:
    """Drop the ISP's staged batches left over (a killed run, or this one's on failure)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND starts_with(tablename, %s)",
            [_stage_prefix(tenant_id)],
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f'DROP TABLE IF EXISTS "{table}"')


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

    Two lanes on two connections: one prices the next batch into an unlogged table while
    this one numbers and inserts the previous under the ISP's invoice counter (inside a
    caller's transaction, one lane does both in turn). Each batch commits on its own, so a
    run killed mid-way is resumed by running again: customers billed for the period are
    skipped ("already billed"), nobody is billed twice (a unique constraint backs that up),
    and the invoice numbers stay gapless because every batch takes the counter. Two runs of
    one ISP take turns (a session advisory lock). docs/adr/0008-billing-run-two-lanes.md.
    """
    at = at or timezone.now()
    root = Operator.objects.get(tenant_id=tenant_id, parent__isnull=True)
    require(actor, "billing.add", root)
    run = functools.partial(
        _run_locked,
        tenant_id=tenant_id,
        at=at,
        actor=actor,
        batch=batch,
        progress=progress,
        job_run_id=job_run_id,
        run_date=timezone.localtime(at, zoneinfo.ZoneInfo(root.tenant.timezone)).date(),
        root=root,
    )
    if connection.in_atomic_block:  # one lane: the lock goes with the caller's transaction
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [RUN_LOCK_CLASS, tenant_id])
        return run()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [RUN_LOCK_CLASS, tenant_id])
    try:
        return run()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [RUN_LOCK_CLASS, tenant_id])


def _run_locked(
    *,
    tenant_id: int,
    at: dt.datetime,
    actor: Any,
    batch: int,
    progress: Progress | None,
    job_run_id: int | None,
    run_date: dt.date,
    root: Operator,
) -> BillingRun:
    _drop_stages(tenant_id)
    InvoiceCounter.objects.get_or_create(tenant_id=tenant_id)  # the pricing lane reads it
    run = BillingRun.objects.create(
        tenant_id=tenant_id,
        operator=root,
        run_date=run_date,
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
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_customer WHERE tenant_id = %s", [tenant_id])
        customers = cursor.fetchone()[0]
    pricing: dict[str, Any] = {"tenant_id": tenant_id, "run_id": run.pk, "at": at, "batch": batch}
    lanes = not connection.in_atomic_block
    handed: queue.Queue[_Staged | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()
    pricer = threading.Thread(
        target=_pricing_lane, args=(handed, stop), kwargs=pricing, name="billing-pricing"
    )
    # The counter before and after this run's last batch: bills issued in between by anyone
    # else mean a staged batch's "already billed" may be out of date.
    previous: tuple[int, int] | None = None
    done, after, number = 0, 0, 0
    try:
        if lanes:
            pricer.start()
        while True:
            with transaction.atomic():
                if lanes:
                    staged = handed.get()
                    if isinstance(staged, BaseException):
                        raise staged
                    counter = lock_counters(tenant_id)
                else:
                    counter = lock_counters(tenant_id)
                    staged = _price_ahead(after=after, number=number, **pricing)
                if staged is None:
                    break
                recheck = counter != staged.counter and not (
                    previous is not None and (staged.counter, counter) == previous
                )
                count, batch_total, batch_applied, skipped, _bills = _issue(
                    STAGED_ISSUE_SQL.format(stage=staged.table, where=STAGED_WHERE),
                    {
                        "tenant": tenant_id,
                        "at": at,
                        "run": True,
                        "run_id": run.pk,
                        "user_id": getattr(actor, "pk", None),
                        "recheck": recheck,
                    },
                )
                with connection.cursor() as cursor:
                    cursor.execute(f'DROP TABLE "{staged.table}"')
                previous = (counter, counter + count)
                summary["billed"] += count
                total += batch_total
                applied += batch_applied
                for reason, amount in skipped.items():
                    summary["skipped"][reason] = summary["skipped"].get(reason, 0) + amount
                summary["total"], summary["advance_applied"] = str(total), str(applied)
                run.summary = summary
                run.save(update_fields=["summary", "updated_at"])
            after, number = staged.last, number + 1
            done += staged.customers
            if progress is not None:
                progress.update(done, customers)
    except BaseException:
        _stop_lane(pricer, handed, stop)
        if lanes:
            _drop_stages(tenant_id)
        BillingRun.objects.filter(pk=run.pk).update(
            status=BillingRun.Status.FAILED, finished_at=timezone.now()
        )
        raise
    _stop_lane(pricer, handed, stop)
    run.status = BillingRun.Status.SUCCEEDED
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at", "updated_at"])
    audit.record(actor, "billing.run", run, changes={"summary": [None, summary]})
    return run


def _stop_lane(
    pricer: threading.Thread,
    handed: "queue.Queue[_Staged | BaseException | None]",
    stop: threading.Event,
) -> None:
    stop.set()
    while pricer.is_alive():
        try:
            handed.get(timeout=0.2)
        except queue.Empty:
            continue
    if pricer.ident is not None:
        pricer.join()


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
