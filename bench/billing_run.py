"""Benchmark: a monthly billing run for 1,000,000 customers, against a naive loop and COPY.

Run from the project root:

    .venv/bin/python bench/billing_run.py [--customers 1000000] [--naive-sample 2000]

Database as for the other benchmarks (DATABASE_URL, or the embedded PostgreSQL in var/). It
seeds the bench ISP "Bench Billing" with the demo seeder (reused when already there), gives
three customers in ten an advance balance, removes the ISP's bills, then:

1. times ``run_billing()`` for the ISP (batches of 50,000, each committed): every bill priced
   and numbered, the advance auto-debited on the customers and an ``AdvanceDebit`` row written
   for the ledger;
2. times a naive per-customer ORM loop (price in Python, ``Bill.objects.create``, the
   customer's advance saved, an ``AdvanceDebit`` created) on ``--naive-sample`` customers,
   rolled back;
3. times a client COPY of the same bill rows into a copy of the bill table with the same
   indexes: the physical limit of writing them.

It prints bills/s for each, the ratio run/naive (goal >= 30) and run/COPY (goal: within 3x),
and the verdict against **1,000,000 customers in 20 s or less**.
"""

import argparse
import datetime as dt
import io
import os
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from database import on_database  # noqa: E402  (bench/, beside this script)

SLUG = "bench-billing"
TARGET_SECONDS = 20.0
AT = dt.datetime(2026, 12, 2, 6, 0, tzinfo=dt.UTC)  # 2 Dec, noon in Dhaka


def bench_isp(customers: int) -> Any:
    from ispbills.customers.models import Customer
    from ispbills.demo.customers import seed_catalog, seed_customers
    from ispbills.tenancy import services
    from ispbills.tenancy.models import Tenant

    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        tenant = services.create_tenant(actor=None, name="Bench Billing", slug=SLUG, is_demo=True)
        seed_catalog(tenant)
    have = Customer.objects.filter(tenant=tenant).count()
    if have < customers:
        started = time.perf_counter()
        seed_customers(tenant, customers - have)
        print(f"seeding: {customers - have:,} customers in {time.perf_counter() - started:.1f} s")
    else:
        print(f"seeding: reusing the {have:,} customers of the bench ISP")
    return tenant


def reset(tenant: Any) -> None:
    """No bills, fresh advances (three in ten customers hold 500.00), counter at zero, and
    the expiry dates the seeder gave (kept aside on the first run), so every run extends
    the validity of the prepaid customers its bills pay in full, as a month's run does."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_billing_expiry AS "
            "SELECT id, expires_at FROM customers_customer WHERE tenant_id = %s",
            [tenant.pk],
        )
        cursor.execute(
            "UPDATE customers_customer c SET expires_at = o.expires_at "
            "FROM bench_billing_expiry o WHERE c.id = o.id "
            "AND c.expires_at IS DISTINCT FROM o.expires_at"
        )
        for table in ("billing_advancedebit",):
            cursor.execute(
                f"DELETE FROM {table} WHERE bill_id IN "
                "(SELECT id FROM billing_bill WHERE tenant_id = %s)",
                [tenant.pk],
            )
        cursor.execute("DELETE FROM billing_bill WHERE tenant_id = %s", [tenant.pk])
        cursor.execute("DELETE FROM billing_billingrun WHERE tenant_id = %s", [tenant.pk])
        cursor.execute("DELETE FROM billing_invoicecounter WHERE tenant_id = %s", [tenant.pk])
        cursor.execute(
            "UPDATE customers_customer SET advance_balance = "
            "CASE WHEN id %% 10 < 3 THEN 500.00 ELSE 0 END, created_at = '2025-01-01' "
            "WHERE tenant_id = %s",
            [tenant.pk],
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE billing_bill, customers_customer")


def naive(tenant: Any, sample: int) -> float:
    """Bills per second of a per-customer ORM loop (rolled back)."""
    from django.db import transaction

    from ispbills.billing.models import AdvanceDebit, Bill, InvoiceCounter
    from ispbills.customers.models import Customer

    cent = Decimal("0.01")
    customers = list(
        Customer.objects.filter(tenant=tenant, status__in=["active", "fup"], is_trial=False)
        .select_related("package__vat_profile", "billing_profile")
        .order_by("pk")[:sample]
    )
    started = time.perf_counter()
    with transaction.atomic():
        InvoiceCounter.objects.get_or_create(tenant=tenant)
        for customer in customers:
            package = customer.package
            if package is None or package.billing_type != "monthly":
                continue
            price = customer.custom_price if customer.custom_price is not None else package.price
            profile = customer.billing_profile
            discount = Decimal("0")
            if profile and profile.discount_kind == "percent":
                discount = (price * profile.discount_value / 100).quantize(cent, ROUND_HALF_UP)
            elif profile and profile.discount_kind == "fixed":
                discount = min(profile.discount_value, price)
            vat_profile = package.vat_profile
            rate = vat_profile.rate if vat_profile else Decimal("0")
            vat = ((price - discount) * rate / 100).quantize(cent, ROUND_HALF_UP)
            total = price - discount + vat
            applied = min(max(customer.advance_balance, Decimal("0")), total)
            counter = InvoiceCounter.objects.select_for_update().get(tenant=tenant)
            counter.last_number += 1
            counter.save(update_fields=["last_number"])
            bill = Bill.objects.create(
                tenant=tenant,
                operator_id=customer.operator_id,
                number=counter.last_number,
                customer=customer,
                period_start=dt.date(2026, 12, 1),
                period_end=dt.date(2026, 12, 31),
                issued_on=dt.date(2026, 12, 2),
                due_on=dt.date(2026, 12, 1),
                package=package,
                description=package.name,
                lines=[{"kind": "package", "amount": str(price)}],
                subtotal=price,
                discount=discount,
                vat=vat,
                total=total,
                advance_applied=applied,
                paid_amount=applied,
                status="paid" if applied == total else "partially_paid" if applied else "unpaid",
            )
            if applied:
                customer.advance_balance -= applied
                customer.save(update_fields=["advance_balance"])
                AdvanceDebit.objects.create(bill=bill, customer_id=customer.pk, amount=applied)
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return len(customers) / seconds


def copy_limit(run_id: int) -> tuple[int, float]:
    """Seconds to COPY the run's bill rows into a same-shaped table with the same indexes."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bill_copy")
        cursor.execute("CREATE TABLE bench_bill_copy (LIKE billing_bill INCLUDING ALL)")
        buffer = io.BytesIO()
        with cursor.copy(
            f"COPY (SELECT * FROM billing_bill WHERE run_id = {int(run_id)}) TO STDOUT"
        ) as copy:
            for data in copy:
                buffer.write(data)
        rows = buffer.getvalue().count(b"\n")
        started = time.perf_counter()
        with cursor.copy("COPY bench_bill_copy FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_bill_copy")
    return rows, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--naive-sample", type=int, default=2000)
    args = parser.parse_args()
    return on_database(lambda: run(args))


def run(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command

    from ispbills.billing.services import run_billing

    call_command("migrate", verbosity=0)
    tenant = bench_isp(args.customers)
    reset(tenant)

    naive_rate = naive(tenant, args.naive_sample)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    billing = run_billing(tenant_id=tenant.pk, at=AT)
    seconds = time.perf_counter() - started
    print(f"load average (1 min) {load:.2f} before the run, {os.getloadavg()[0]:.2f} after")
    billed = billing.summary["billed"]
    rows, copy_seconds = copy_limit(billing.pk)

    rate = billed / seconds
    print(
        f"run: {billed:,} bills in {seconds:.2f} s = {rate:,.0f} bills/s "
        f"(advance applied {billing.summary['advance_applied']}, skipped "
        f"{billing.summary['skipped']})"
    )
    print(f"naive ORM loop: {naive_rate:,.0f} bills/s (sample of {args.naive_sample:,})")
    print(
        f"COPY of the same {rows:,} rows: {copy_seconds:.2f} s = {rows / copy_seconds:,.0f} rows/s"
    )
    print(
        f"ratio run/naive {rate / naive_rate:.1f} (goal >= 30); "
        f"run/COPY time {seconds / copy_seconds:.2f} (goal <= 3)"
    )
    target = TARGET_SECONDS * args.customers / 1_000_000
    met = seconds <= target and rate / naive_rate >= 30 and seconds / copy_seconds <= 3
    print(
        f"target: {args.customers:,} customers in <= {target:.0f} s → {'met' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
