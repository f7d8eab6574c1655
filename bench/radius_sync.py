"""Benchmark: provision 100,000 customers into the FreeRADIUS tables with `ispbills radius sync`.

Run from the project root:

    .venv/bin/python bench/radius_sync.py [--customers 100000] [--unique-passwords] [--drop]

With DATABASE_URL set it uses that PostgreSQL (ISPBILLS_SECRET_KEY and
ISPBILLS_FIELD_ENCRYPTION_KEYS must be set too, as for the app); without it, it starts the
embedded PostgreSQL in var/ like ``ispbills run`` does. It applies migrations, seeds the bench
ISP "Bench RADIUS" with the demo seeder (``ispbills.demo.customers.seed_customers``; reused
when already there), empties the RADIUS rows of that ISP's customers, then times
``ispbills radius sync --tenant bench-radius`` (every batch committed, as in production) and
prints seconds and rows/s against the target of 100,000 customers in 10 s or less. It then
times ``ispbills radius check``, which must find no drift.

The seeder gives every customer the same encrypted password; ``--unique-passwords`` first
re-encrypts each one separately (not timed) so the sync pays one Fernet decryption per
customer, as it does on real data. ``--drop`` deletes the bench ISP's customers and rows.
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
SLUG = "bench-radius"


def bench_isp() -> Any:
    from ispbills.demo.customers import seed_catalog
    from ispbills.tenancy import services
    from ispbills.tenancy.models import Tenant

    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        tenant = services.create_tenant(actor=None, name="Bench RADIUS", slug=SLUG, is_demo=True)
        seed_catalog(tenant)
    return tenant


def ensure_customers(tenant: Any, wanted: int) -> int:
    from ispbills.customers.models import Customer
    from ispbills.demo.customers import seed_customers

    have = Customer.objects.filter(tenant=tenant).count()
    if have >= wanted:
        print(f"Seeding: reusing the {have:,} customers of the bench ISP.")
        return have
    started = time.perf_counter()
    seed_customers(tenant, wanted - have)
    print(f"Seeding: {wanted - have:,} customers in {time.perf_counter() - started:.1f} s")
    return wanted


def unique_passwords(tenant: Any) -> None:
    """Give every password-holding customer a token of its own (setup, not timed)."""
    from django.db import connection, transaction

    from ispbills.core.fields import encrypt

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM customers_customer WHERE tenant_id = %s AND service_password <> ''",
            [tenant.pk],
        )
        ids = [row[0] for row in cursor.fetchall()]
        tokens = [encrypt(f"pw-{pk}") for pk in ids]
        cursor.execute(
            "UPDATE customers_customer c SET service_password = t.token "
            "FROM unnest(%s::bigint[], %s::text[]) AS t(id, token) WHERE c.id = t.id",
            [ids, tokens],
        )
    print(f"Passwords: {len(ids):,} re-encrypted in {time.perf_counter() - started:.1f} s")


def clear_rows(tenant: Any) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for table in ("radcheck", "radreply", "radusergroup"):
            cursor.execute(
                f"DELETE FROM {table} WHERE username IN "
                "(SELECT username FROM customers_customer WHERE tenant_id = %s)",
                [tenant.pk],
            )
    with connection.cursor() as cursor:  # outside the transaction: VACUUM needs that
        cursor.execute("VACUUM ANALYZE radcheck, radreply, radusergroup, radgroupreply")


def drop(tenant: Any) -> None:
    from django.db import connection, transaction

    clear_rows(tenant)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM customers_customer WHERE tenant_id = %s", [tenant.pk])
    print("Dropped the bench ISP's customers and their RADIUS rows.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--unique-passwords", action="store_true")
    parser.add_argument("--drop", action="store_true")
    args = parser.parse_args()

    return on_database(lambda: run(args))


def run(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import CommandError, call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    tenant = bench_isp()
    if args.drop:
        drop(tenant)
        return 0
    customers = ensure_customers(tenant, args.customers)
    if args.unique_passwords:
        unique_passwords(tenant)
    clear_rows(tenant)

    out = StringIO()
    started = time.perf_counter()
    call_command("radius", "sync", "--tenant", SLUG, stdout=out)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM radcheck r JOIN customers_customer c USING (username)"
            "         WHERE c.tenant_id = %(t)s)"
            "     + (SELECT count(*) FROM radreply r JOIN customers_customer c USING (username)"
            "         WHERE c.tenant_id = %(t)s)"
            "     + (SELECT count(*) FROM radusergroup r JOIN customers_customer c USING (username)"
            "         WHERE c.tenant_id = %(t)s)",
            {"t": tenant.pk},
        )
        rows = cursor.fetchone()[0]
    print(out.getvalue().splitlines()[-1])
    print(
        f"sync: {customers:,} customers, {rows:,} rows in {seconds:.2f} s "
        f"({rows / seconds:,.0f} rows/s, {customers / seconds:,.0f} customers/s)"
    )
    target = TARGET_SECONDS * customers / 100_000
    within = seconds <= target
    print(f"target: {customers:,} customers in <= {target:.0f} s → {'met' if within else 'MISSED'}")

    started = time.perf_counter()
    drifted = False
    try:
        call_command("radius", "check", "--tenant", SLUG, stdout=StringIO())
    except CommandError:
        drifted = True
    print(
        f"check: {time.perf_counter() - started:.2f} s, "
        + ("DRIFT found (unexpected)" if drifted else "no drift")
    )
    return 0 if within and not drifted else 1


if __name__ == "__main__":
    sys.exit(main())
