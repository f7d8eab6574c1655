"""Benchmark: the financial reports over a month of an ISP's books, and the chart's snapshot.

Run from the project root:

    .venv/bin/python bench/reports.py [--customers 100000] [--runs 5]

Database as for the other benchmarks (DATABASE_URL, or the embedded PostgreSQL in var/). It
seeds the bench ISP "Bench reports" (20 resellers under the root, customers spread over them
by the demo seeder), then, once, untimed: bills every customer for this period (the billing
run) and posts the bills to the ledger, and gives every billed customer one cash payment
spread over the last 30 days (payment rows written set-based; their ledger entries posted in
batches through ``post_many``). Later runs reuse all of it.

Timed: the hourly snapshot job (``refresh_bills_vs_payments``), and each report's panel page
for the ISP's group admin over the last 30 days (median of ``--runs``). It prints each in ms
and the ratio it is judged by: the snapshot job against the chart page that reads it.
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from database import on_database  # noqa: E402  (bench/, beside this script)

SLUG = "bench-reports"
ADMIN = "bench-reports-admin"
RESELLERS = 20
BATCH = 5000


def bench_isp(customers: int) -> tuple[Any, Any]:
    """The bench ISP with its resellers, customers and group admin."""
    from ispbills.customers.models import Customer
    from ispbills.demo.customers import seed_catalog, seed_customers
    from ispbills.demo.seed import generate_password
    from ispbills.tenancy import services
    from ispbills.tenancy.models import Operator, Tenant, User
    from ispbills.tenancy.roles import Role

    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        tenant = services.create_tenant(actor=None, name="Bench reports", slug=SLUG, is_demo=True)
        root = services.root_operator(tenant)
        for number in range(RESELLERS):
            services.create_operator(
                actor=None,
                parent=root,
                name=f"Reseller {number:02d}",
                account_type=Operator.AccountType.CREDIT if number % 2 else "debit",
                credit_limit="50000",
            )
        services.create_staff_user(
            actor=None,
            operator=root,
            username=ADMIN,
            password=generate_password(),
            role=Role.GROUP_ADMIN,
        )
        seed_catalog(tenant)
    have = Customer.objects.filter(tenant=tenant).count()
    if have < customers:
        started = time.perf_counter()
        seed_customers(tenant, customers - have)
        print(f"seeding: {customers - have:,} customers in {time.perf_counter() - started:.1f} s")
    return tenant, User.objects.get(username=ADMIN)


def books(tenant: Any) -> None:
    """This period's bills (posted) and a payment per billed customer (posted), once."""
    from django.db import connection, transaction

    from ispbills.accounting import services as ledger
    from ispbills.accounting.models import Account
    from ispbills.billing.models import Bill
    from ispbills.billing.services import run_billing
    from ispbills.core import clock
    from ispbills.payments.models import Payment
    from ispbills.tenancy.models import Operator

    if Bill.objects.filter(tenant=tenant).exists():
        print("seeding: reusing the bench ISP's bills and payments")
        return
    started = time.perf_counter()
    run_billing(tenant_id=tenant.pk)
    ids = list(Bill.objects.filter(tenant=tenant).order_by("pk").values_list("pk", flat=True))
    for first in range(0, len(ids), BATCH):
        ledger.post_bills(ids[first : first + BATCH])
    print(f"seeding: {len(ids):,} bills issued and posted in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    now = clock.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO payments_payment
                (tenant_id, operator_id, created_at, updated_at, kind, customer_id, method,
                 reference, gateway, amount, charge, to_bills, to_advance, received_at,
                 note, status, reactivated)
            SELECT b.tenant_id, b.operator_id, %(now)s, %(now)s, 'payment', b.customer_id,
                   'cash', 'BENCH-' || b.id, '', b.total, 0, 0, b.total,
                   %(now)s - (b.id %% 30) * interval '1 day', '', 'applied', false
            FROM billing_bill b
            WHERE b.tenant_id = %(tenant)s AND b.total > 0
            """,
            {"now": now, "tenant": tenant.pk},
        )
    payments = list(
        Payment.objects.filter(tenant=tenant)
        .order_by("pk")
        .values_list("pk", "operator_id", "amount", "received_at")
    )
    operators = {operator.pk: operator for operator in Operator.objects.filter(tenant=tenant)}
    chart = ledger.Chart()
    for first in range(0, len(payments), BATCH):
        ledger.post_many(
            [
                ledger.Posting(
                    tenant_id=tenant.pk,
                    operator_id=operator_id,
                    memo=f"bench payment {pk}",
                    source_type="payments.payment",
                    source_id=str(pk),
                    purpose="received",
                    at=received_at,
                    lines=chart.legs(
                        operators[operator_id],
                        (Account.Kind.CASH, amount),
                        (Account.Kind.ADVANCES, -amount),
                    ),
                )
                for pk, operator_id, amount, received_at in payments[first : first + BATCH]
            ]
        )
    print(
        f"seeding: {len(payments):,} payments written and posted in "
        f"{time.perf_counter() - started:.1f} s"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE billing_bill, payments_payment, accounting_journalentry, "
            "accounting_journalline, accounting_account"
        )


def median_ms(run: Any, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    return on_database(lambda: run(args))


def run(args: argparse.Namespace) -> int:
    import django

    warnings.filterwarnings("ignore", message="No directory at")  # static files not collected
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from ispbills.accounting.models import JournalLine
    from ispbills.core import clock
    from ispbills.reports.services import refresh_bills_vs_payments

    call_command("migrate", verbosity=0)
    tenant, admin = bench_isp(args.customers)
    books(tenant)
    lines = JournalLine.objects.filter(entry__tenant=tenant).count()
    print(f"books: {lines:,} journal lines of the bench ISP")

    refresh = median_ms(refresh_bills_vs_payments, args.runs)
    print(f"snapshot job (every ISP, 30 days): {refresh:,.0f} ms")

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(admin)
    today = clock.now().astimezone(dt.timezone(dt.timedelta(hours=6))).date()
    period = {"start": str(today - dt.timedelta(days=29)), "end": str(today)}
    pages = {
        "receivable": {},
        "payable": {},
        "cash-daily": period,
        "cash-monthly": period,
        "income": period,
        "yearly": {"year": str(today.year)},
        "bills-vs-payments": {},
    }
    timings = {}
    for name, params in pages.items():

        def get(name: str = name, params: dict[str, str] = params) -> None:
            response = client.get(f"/reports/{name}/", params)
            if response.status_code != 200:
                raise SystemExit(f"/reports/{name}/ answered {response.status_code}")

        get()  # warm
        timings[name] = median_ms(get, args.runs)
        print(f"panel /reports/{name}/: {timings[name]:,.0f} ms")
    chart = timings["bills-vs-payments"]
    print(f"ratio snapshot job / chart page: {refresh / chart:,.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
