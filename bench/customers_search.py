"""Benchmark: customer search in a tenant of a million customers, panel list and API.

Run from the project root:

    .venv/bin/python bench/customers_search.py --customers 1000000 [--requests 60] [--explain]

With DATABASE_URL set it uses that PostgreSQL (ISPBILLS_SECRET_KEY and
ISPBILLS_FIELD_ENCRYPTION_KEYS must be set too, as for the app); without it, it starts the
embedded PostgreSQL in var/ like ``ispbills run`` does. It applies migrations, then seeds N
customers into the bench ISP "Bench Broadband" with ``ispbills.demo.customers.seed_customers``
(printing the seconds and rows/s), or reuses them when they are already there. Then, logged in
as the ISP's group admin, it times each request server-side (``time.perf_counter()`` around
``django.test.Client().get``) for four kinds of search term, each with varied terms: username
prefix (c01234), mobile prefix (01711, +88017, Bangla digits), English and Bangla name
fragment. It prints p50/p95 per kind for:

  core   search_customers(Customer.objects.restrict(admin), term) first page of 50 and the
         next keyset page, evaluated: the database cost both entry points share;
  panel  GET /customers/?q=…         (skipped while the URL does not resolve);
  api    GET /api/v1/customers/?search=…  (skipped while the URL does not resolve);

the rows the core returned (median), the SQL statements of one request, the verdict against
the target p95 <= 100 ms and the slowest term; --explain adds the plan of one term per kind.
The bench ISP and its customers stay for the next run; --drop deletes the customers.
"""

import argparse
import os
import random
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from database import on_database  # noqa: E402  (bench/, beside this script)

TARGET_P95_MS = 100.0
SLUG = "bench-customers"
ADMIN = "bench-admin"
BANGLA_DIGITS = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")


def bench_isp() -> tuple[Any, Any]:
    """The bench ISP (a Dhaka reseller tree like the demo's) and its group admin."""
    from ispbills.demo.customers import seed_catalog
    from ispbills.demo.seed import generate_password
    from ispbills.tenancy import services
    from ispbills.tenancy.models import Operator, Tenant, User
    from ispbills.tenancy.roles import Role

    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        tenant = services.create_tenant(actor=None, name="Bench Broadband", slug=SLUG, is_demo=True)
        root = services.root_operator(tenant)
        mirpur = services.create_operator(
            actor=None, parent=root, name="Mirpur Link", account_type=Operator.AccountType.CREDIT
        )
        services.create_operator(actor=None, parent=mirpur, name="Pallabi Point")
        services.create_operator(actor=None, parent=root, name="Uttara Broadband")
        services.create_staff_user(
            actor=None,
            operator=root,
            username=ADMIN,
            password=generate_password(),
            role=Role.GROUP_ADMIN,
        )
        services.create_staff_user(
            actor=None,
            operator=root,
            username="bench-manager",
            password=generate_password(),
            role=Role.MANAGER,
        )
        seed_catalog(tenant)
    return tenant, User.objects.get(username=ADMIN)


def ensure_customers(tenant: Any, wanted: int) -> int:
    """Seed up to ``wanted`` customers; returns how many the bench ISP holds."""
    from ispbills.customers.models import Customer
    from ispbills.demo.customers import seed_customers

    have = Customer.objects.filter(tenant=tenant).count()
    if have >= wanted:
        print(f"Seeding: reusing the {have:,} customers of the bench ISP (no seeding).")
        return have
    missing = wanted - have
    print(f"Seeding {missing:,} customers …", flush=True)
    started = time.perf_counter()
    seed_customers(tenant, missing)
    seconds = time.perf_counter() - started
    print(f"Seeding: {missing:,} customers in {seconds:.1f} s ({missing / seconds:,.0f} rows/s)")
    return wanted


def search_terms(rng: random.Random, total: int, per_kind: int) -> dict[str, list[str]]:
    """Varied terms per kind, as staff type them; most match some customers."""
    from ispbills.demo.customers import (
        FAMILY_ANY,
        FAMILY_MEN,
        FAMILY_WOMEN,
        MEN,
        WOMEN,
        seeded_mobile,
        seeded_username,
    )

    def username() -> str:
        return seeded_username(rng.randint(1, total))[: rng.choice([5, 6, 7, 8])]

    def mobile() -> str:
        local = "0" + seeded_mobile(rng.randint(1, total))[4:]
        prefix = local[: rng.randint(5, 11)]
        shape = rng.random()
        if shape < 0.3:
            return "+88" + prefix
        if shape < 0.4:
            return prefix.translate(BANGLA_DIGITS)
        return prefix

    given = MEN + WOMEN
    family = FAMILY_MEN + FAMILY_ANY + FAMILY_WOMEN

    def name(script: int) -> str:
        first, last = rng.choice(given)[script], rng.choice(family)[script]
        shape = rng.random()
        if shape < 0.35:
            return last
        if shape < 0.55:
            return first
        if shape < 0.8:
            return f"{first} {last}"
        return last[: max(3, len(last) - 2)].lower()

    fixed_mobiles = ["01711", "+88017", "01812", "+8801911", "০১৭১১"]
    return {
        "username prefix": [username() for _ in range(per_kind)],
        "mobile prefix": fixed_mobiles + [mobile() for _ in range(per_kind - len(fixed_mobiles))],
        "name (English)": [name(0) for _ in range(per_kind)],
        "name (Bangla)": [name(1) for _ in range(per_kind)],
    }


def core_query(admin: Any) -> Callable[[str], int]:
    """The list's database work: first page of 50 newest matches, then the next keyset page."""
    from ispbills.customers.filtersets import search_customers
    from ispbills.customers.models import Customer

    def run(term: str) -> int:
        live = Customer.objects.restrict(admin).exclude(status=Customer.Status.DELETED)
        matches = search_customers(live, term).order_by("-pk")
        page = list(matches[:50])
        if len(page) == 50:
            page += list(matches.filter(pk__lt=page[-1].pk)[:50])
        return len(page)

    return run


def url_query(client: Any, path: str, param: str, **headers: str) -> Callable[[str], int] | None:
    """A timed GET of ``path``, or None while the URL is not routed yet."""
    from django.urls import Resolver404, resolve

    try:
        resolve(path)
    except Resolver404:
        return None

    def run(term: str) -> int:
        response = client.get(path, {param: term}, **headers)
        if response.status_code != 200:
            raise SystemExit(f"GET {path}?{param}={term} answered {response.status_code}")
        return 1

    return run


def percentile(samples: list[float], pct: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[pct - 1]


class Result(NamedTuple):
    p50: float
    p95: float
    rows: int  # median rows the core query returned
    statements: int  # SQL statements of one request
    slowest: tuple[float, str]


def measure(run: Callable[[str], int], terms: list[str]) -> Result:
    """Time one request per term (after a warm-up) and summarise."""
    from django.db import connection

    statements: list[str] = []

    def count(execute: Any, sql: str, *args: Any) -> Any:
        statements.append(sql)
        return execute(sql, *args)

    with connection.execute_wrapper(count):  # survives the reset at each request's start
        run(terms[0])
    for term in terms[1:3]:
        run(term)  # warm caches and connections; not counted
    timings, rows = [], []
    for term in terms:
        started = time.perf_counter()
        rows.append(run(term))
        timings.append((time.perf_counter() - started) * 1000)
    return Result(
        percentile(timings, 50),
        percentile(timings, 95),
        int(statistics.median(rows)),
        len(statements),
        max(zip(timings, terms, strict=True)),
    )


def explain(admin: Any, terms: dict[str, list[str]]) -> None:
    from django.db import connection

    from ispbills.customers.filtersets import search_customers
    from ispbills.customers.models import Customer

    for kind, values in terms.items():
        live = Customer.objects.restrict(admin).exclude(status=Customer.Status.DELETED)
        queryset = search_customers(live, values[-1]).order_by("-pk")[:50]
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            plan = "\n".join(f"    {line}" for (line,) in cursor.fetchall())
        print(f"\n{kind}: {values[-1]!r}\n{plan}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=60, help="terms per kind (at least 50)")
    parser.add_argument("--seed", type=int, default=7, help="random seed for the terms")
    parser.add_argument("--explain", action="store_true", help="print one plan per kind")
    parser.add_argument(
        "--drop", action="store_true", help="delete the bench customers (the next run seeds)"
    )
    args = parser.parse_args()

    return on_database(lambda: run(args))


def run(args: argparse.Namespace) -> int:
    import django

    warnings.filterwarnings("ignore", message="No directory at")  # static files not collected
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from ispbills.tenancy.services import create_api_token

    call_command("migrate", verbosity=0)
    if args.drop:
        return drop_bench_customers()
    tenant, admin = bench_isp()
    total = ensure_customers(tenant, args.customers)

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    panel = Client()
    panel.force_login(admin)
    _token, plain = create_api_token(actor=None, user=admin, name="bench")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {plain}"}
    runners = {
        "core": core_query(admin),
        "panel": url_query(panel, "/customers/", "q"),
        "api": url_query(Client(), "/api/v1/customers/", "search", **bearer),
    }
    terms = search_terms(random.Random(args.seed), total, max(args.requests, 50))

    print(f"\nSearch over {total:,} customers; {len(terms['username prefix'])} terms per kind.")
    print(
        f"{'':6} {'kind':<16} {'p50 ms':>7} {'p95 ms':>7} {'rows':>5} {'SQL':>4}"
        f"  {'p95<=100':<8}  slowest term"
    )
    worst = 0.0
    for where, runner in runners.items():
        if runner is None:
            print(f"{where:6} not routed yet, skipped")
            continue
        for kind, values in terms.items():
            result = measure(runner, values)
            worst = max(worst, result.p95)
            rows = f"{result.rows:>5}" if where == "core" else f"{'':>5}"
            verdict = "ok" if result.p95 <= TARGET_P95_MS else "TOO SLOW"
            slow_ms, slow_term = result.slowest
            print(
                f"{where:6} {kind:<16} {result.p50:7.1f} {result.p95:7.1f} {rows}"
                f" {result.statements:>4}  {verdict:<8}  {slow_term!r} {slow_ms:.0f} ms"
            )
    overall = "meets" if worst <= TARGET_P95_MS else "misses"
    print(f"\nWorst p95 {worst:.1f} ms: {overall} the target of {TARGET_P95_MS:.0f} ms.")
    if args.explain:
        explain(admin, terms)
    return 0 if worst <= TARGET_P95_MS else 1


def drop_bench_customers() -> int:
    """Delete the bench ISP's customers in one statement; the ISP and its catalog stay."""
    from django.db import connection

    from ispbills.tenancy.models import Tenant

    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        print("No bench ISP.")
        return 0
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM customers_customer WHERE tenant_id = %s", [tenant.pk])
        print(f"Deleted {cursor.rowcount:,} bench customers.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
