"""Benchmark: suspend 100,000 overdue customers with their RADIUS rows and queued disconnects.

Run from the project root:

    .venv/bin/python bench/billing_suspension.py [--customers 100000] [--online 10] [--drop]

With DATABASE_URL set it uses that PostgreSQL (ISPBILLS_SECRET_KEY and
ISPBILLS_FIELD_ENCRYPTION_KEYS must be set too, as for the app); without it, it starts the
embedded PostgreSQL in var/ like ``ispbills run`` does. It applies migrations, seeds the bench
ISP "Bench billing" with the demo seeder (reused when already there), then, untimed: makes its
live customers active with a validity well ahead, gives the first ``--customers`` of them an
unpaid bill due 40 days ago (one set-based insert), opens an accounting session for
``--online`` percent of those, and syncs the ISP's RADIUS rows. It then times
``billing.automation.suspend_overdue()`` (one transaction: the suspension with its audit rows,
the RADIUS rows re-provisioned, a disconnect request per online customer) and prints seconds
against the target of 100,000 customers in 10 s or less, after checking that every one was
suspended, rejected by RADIUS and, when online, has a pending disconnect, and that the ISP's
RADIUS rows are exactly what full provisioning would write (``radius check``). The reset
removes the previous run's disconnects with their jobs and audit rows, compacts the customer
and RADIUS tables (VACUUM FULL) and ends with a CHECKPOINT, so runs start alike.
``--drop`` deletes the bench ISP's bills, customers and rows.
"""

import argparse
import os
import sys
import time
from io import StringIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from database import on_database  # noqa: E402  (bench/, beside this script)

TARGET_SECONDS = 10.0
SLUG = "bench-billing"


def bench_isp() -> Any:
    from ispbills.demo.customers import seed_catalog
    from ispbills.tenancy import services
    from ispbills.tenancy.models import Tenant

    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        tenant = services.create_tenant(actor=None, name="Bench billing", slug=SLUG, is_demo=True)
        seed_catalog(tenant)
    return tenant


def ensure_customers(tenant: Any, wanted: int) -> None:
    """Enough seeded customers that ``wanted`` of them are live with a package."""
    from ispbills.customers.models import Customer
    from ispbills.demo.customers import seed_customers

    live = Customer.objects.filter(tenant=tenant, package__isnull=False).exclude(
        status__in=["deleted", "disabled"]
    )
    have = live.count()
    if have >= wanted:
        print(f"Seeding: reusing the customers of the bench ISP ({have:,} live).")
        return
    missing = int((wanted - have) / 0.8) + 1000  # the seeder's mix is ~87 % live
    started = time.perf_counter()
    seed_customers(tenant, missing)
    print(f"Seeding: {missing:,} customers in {time.perf_counter() - started:.1f} s")


def prepare(tenant: Any, wanted: int, online_percent: int) -> int:
    """Reset the bench ISP to: ``wanted`` active customers each with an overdue unpaid bill,
    ``online_percent`` % of them online, RADIUS rows in sync. Returns how many are online."""
    from django.core.management import call_command
    from django.db import connection, transaction

    started = time.perf_counter()
    params = {"t": tenant.pk, "wanted": wanted, "pct": online_percent}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM radacct WHERE username IN "
            "(SELECT username FROM customers_customer WHERE tenant_id = %(t)s)",
            params,
        )
        # The previous run's disconnects, their jobs (no worker ran them) and audit rows.
        cursor.execute(
            "DELETE FROM procrastinate_jobs WHERE task_name = %(task)s AND status = 'todo' "
            "AND (args ->> 'disconnect_id')::bigint IN "
            "(SELECT id FROM radius_disconnect WHERE tenant_id = %(t)s)",
            {**params, "task": "ispbills.radius.tasks.process_disconnect_task"},
        )
        cursor.execute("DELETE FROM radius_disconnect WHERE tenant_id = %(t)s", params)
        cursor.execute(
            "DELETE FROM core_auditevent WHERE tenant_id = %(t)s AND verb = 'customer.suspended'",
            params,
        )
        cursor.execute("DELETE FROM billing_reminder WHERE tenant_id = %(t)s", params)
        cursor.execute("DELETE FROM billing_bill WHERE tenant_id = %(t)s", params)
        cursor.execute(
            """
            UPDATE customers_customer
               SET status = 'active', status_reason = '', is_trial = false,
                   expires_at = now() + interval '30 days'
             WHERE tenant_id = %(t)s AND package_id IS NOT NULL
               AND status IN ('active', 'fup', 'suspended')
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO billing_bill (
                tenant_id, operator_id, created_at, updated_at, number, kind, customer_id,
                period_start, period_end, issued_on, due_on, package_id, description, lines,
                subtotal, discount, vat, vat_rate, vat_inclusive, total, advance_applied,
                paid_amount, status, void_reason)
            SELECT tenant_id, operator_id, now(), now(), row_number() OVER (ORDER BY id),
                   'invoice', id, current_date - 40, current_date - 11, current_date - 40,
                   current_date - 40, package_id, 'Bench package',
                   '[{"kind": "package", "amount": "800.00"}]', 800, 0, 0, 0, false, 800, 0,
                   0, 'unpaid', ''
              FROM (SELECT * FROM customers_customer
                     WHERE tenant_id = %(t)s AND status = 'active'
                     ORDER BY id LIMIT %(wanted)s) c
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO radacct (acctsessionid, acctuniqueid, username, nasipaddress,
                                 acctstarttime)
            SELECT 'bench-' || c.id, 'bench-' || c.id, c.username, '10.0.0.1', now()
              FROM billing_bill b JOIN customers_customer c ON c.id = b.customer_id
             WHERE b.tenant_id = %(t)s AND b.number %% 100 < %(pct)s
            """,
            params,
        )
        online = cursor.rowcount
    call_command("radius", "sync", "--tenant", SLUG, stdout=StringIO())
    with connection.cursor() as cursor:  # outside the transaction: VACUUM needs that
        # Resetting rewrote every customer and RADIUS row: compact those tables and their
        # indexes (customers at their fillfactor), so each run starts from the same state
        # rather than from the bloat of the runs before it.
        cursor.execute("VACUUM FULL customers_customer, radcheck, radreply, radusergroup")
        cursor.execute(
            "VACUUM ANALYZE customers_customer, billing_bill, radacct, radcheck, radreply, "
            "radusergroup, radius_disconnect, core_auditevent, procrastinate_jobs"
        )
        # The reset wrote about a gigabyte of WAL: without a checkpoint now, one would start
        # at some point of the timed run, or not, depending on the runs before.
        cursor.execute("CHECKPOINT")
    print(
        f"Setup: {wanted:,} overdue customers, {online:,} online, RADIUS in sync "
        f"({time.perf_counter() - started:.1f} s, not timed)"
    )
    return online


def verify(tenant: Any, wanted: int, online: int) -> list[str]:
    from django.db import connection

    from ispbills.radius import provisioning

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT count(*) FROM customers_customer c JOIN billing_bill b
                       ON b.customer_id = c.id
                     WHERE b.tenant_id = %(t)s AND c.status = 'suspended'),
                   (SELECT count(*) FROM radcheck r JOIN customers_customer c USING (username)
                     JOIN billing_bill b ON b.customer_id = c.id
                     WHERE b.tenant_id = %(t)s AND r.attribute = 'Auth-Type'
                       AND r.value = 'Reject'),
                   (SELECT count(*) FROM radius_disconnect
                     WHERE tenant_id = %(t)s AND status = 'pending' AND kind = 'disconnect')
            """,
            {"t": tenant.pk},
        )
        suspended, rejected, disconnects = cursor.fetchone()
    problems = []
    if suspended != wanted:
        problems.append(f"{suspended:,} suspended, expected {wanted:,}")
    if rejected != wanted:
        problems.append(f"{rejected:,} rejected by RADIUS, expected {wanted:,}")
    if disconnects != online:
        problems.append(f"{disconnects:,} disconnects queued, expected {online:,}")
    drifted = provisioning.drift(tenant_id=tenant.pk)
    if drifted:
        problems.append(
            f"RADIUS rows differ from what provisioning would write: "
            f"{len(drifted.users):,} usernames, {len(drifted.groups):,} groups"
        )
    return problems


def drop(tenant: Any) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for table in ("radacct", "radcheck", "radreply", "radusergroup"):
            cursor.execute(
                f"DELETE FROM {table} WHERE username IN "
                "(SELECT username FROM customers_customer WHERE tenant_id = %s)",
                [tenant.pk],
            )
        for table in ("radius_disconnect", "billing_reminder", "billing_bill"):
            cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.pk])
        cursor.execute("DELETE FROM customers_customer WHERE tenant_id = %s", [tenant.pk])
    print("Dropped the bench ISP's bills, customers and their rows.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--online", type=int, default=10, help="percent of them online")
    parser.add_argument("--drop", action="store_true")
    args = parser.parse_args()

    return on_database(lambda: run(args))


def run(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command

    from ispbills.billing.automation import suspend_overdue

    call_command("migrate", verbosity=0)
    tenant = bench_isp()
    if args.drop:
        drop(tenant)
        return 0
    ensure_customers(tenant, args.customers)
    online = prepare(tenant, args.customers, args.online)

    started = time.perf_counter()
    counts = suspend_overdue()
    seconds = time.perf_counter() - started

    problems = verify(tenant, args.customers, online)
    print(
        f"suspend_overdue: {counts['unpaid']:,} suspended for unpaid bills, "
        f"{counts['expired']:,} for validity, {online:,} disconnects queued in {seconds:.2f} s "
        f"({counts['unpaid'] / seconds:,.0f} customers/s)"
    )
    for problem in problems:
        print(f"WRONG: {problem}")
    target = TARGET_SECONDS * args.customers / 100_000
    within = seconds <= target
    print(
        f"target: {args.customers:,} customers in <= {target:.0f} s → "
        f"{'met' if within else 'MISSED'}"
    )
    return 0 if within and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
