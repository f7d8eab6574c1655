"""Benchmark: posting to the double-entry ledger, and an account's ledger page at depth.

Run from the project root:

    .venv/bin/python bench/ledger.py [--entries 1000000] [--hot-lines 1000000]
        [--measure 200000] [--singles 3000]

Database as for the other benchmarks (DATABASE_URL, or the embedded PostgreSQL in var/). It
makes the bench ISP "Bench Ledger" (a root and 20 resellers) and seeds it, unless that was
done by an earlier run (the journal is append-only, so runs add to it): ``--entries``
bill-like entries (Dr receivables, Cr revenue, Cr VAT payable, the operators in turn), and
payment-like entries (Dr gateway clearing, Cr customer advances) on the root's accounts until
its clearing account has ``--hot-lines`` lines, with ``post_many()`` in batches of 5,000, each
committed. Then it measures, every time:

1. ``--measure`` more bill-like entries posted the same way: entries/s and lines/s, the rate
   a billing run handing its bills to the ledger would see;
2. ``--singles`` entries posted one ``post()`` a transaction on the two hot accounts (what
   each payment pays for its entry), committed, then rolled back: entries/s and p50/p95 ms;
3. one batch of 5,000 bill-like entries with and without the database's balance trigger
   (both rolled back): the cost of the guarantee;
4. the hot account's ledger page (50 lines, newest first, with the running balance) at the
   top and at half depth: as stored (``balance_after``, what the panel and API read) against
   window functions computing it, summing the lines from the account's first one or walking
   back from its cached balance; p50 of 20 reads each, and the panel page itself
   (GET /accounts/<id>/, server-side) for the group admin.
"""

import argparse
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from database import on_database  # noqa: E402  (bench/, beside this script)

SLUG = "bench-ledger"
BATCH = 5_000
RESELLERS = 20

# The two ways of computing a page's running balance without storing it: summing the account's
# lines from its first one, or walking back from its cached balance from its newest one.
WINDOW_PAGE = """
SELECT id, debit, credit, running FROM (
    SELECT l.id, l.debit, l.credit,
           sum(l.debit - l.credit) OVER (ORDER BY l.id) AS running
      FROM accounting_journalline l
     WHERE l.account_id = %s
) ledger
 WHERE id < %s
 ORDER BY id DESC
 LIMIT 51
"""

BACKWARD_PAGE = """
SELECT id, debit, credit, running FROM (
    SELECT l.id, l.debit, l.credit,
           %s - coalesce(sum(l.debit - l.credit) OVER (
               ORDER BY l.id DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
           AS running
      FROM accounting_journalline l
     WHERE l.account_id = %s
) ledger
 WHERE id < %s
 ORDER BY id DESC
 LIMIT 51
"""


def bench_isp() -> tuple[Any, list[Any], Any]:
    """The bench ISP, its operators (root first) and its group admin."""
    from ispbills.tenancy import services
    from ispbills.tenancy.models import Operator, Tenant

    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        tenant = services.create_tenant(actor=None, name="Bench Ledger", slug=SLUG, is_demo=True)
        root = services.root_operator(tenant)
        for number in range(RESELLERS):
            services.create_operator(actor=None, parent=root, name=f"Reseller {number + 1}")
        services.create_staff_user(
            actor=None,
            operator=root,
            username="bench-ledger-admin",
            password="x" * 12,
            role="group_admin",
        )
    operators = list(Operator.objects.filter(tenant=tenant).order_by("pk"))
    from ispbills.tenancy.models import User

    return tenant, operators, User.objects.get(username="bench-ledger-admin")


def bill_postings(operators: list[Any], start: int, count: int) -> list[Any]:
    """``count`` bill-like entries (৳800 + 5% VAT), the operators in turn."""
    from ispbills.accounting import services

    charts = [
        (
            operator,
            services.account_for(operator, "receivable"),
            services.account_for(operator, "revenue"),
            services.account_for(operator, "vat_payable"),
        )
        for operator in operators
    ]
    postings = []
    for number in range(start, start + count):
        operator, receivable, revenue, vat = charts[number % len(charts)]
        postings.append(
            services.Posting(
                operator.tenant_id,
                operator.pk,
                f"bench bill {number}",
                "bench.bill",
                str(number),
                "issued",
                [
                    services.dr(receivable, Decimal("840.00")),
                    services.cr(revenue, Decimal("800.00")),
                    services.cr(vat, Decimal("40.00")),
                ],
            )
        )
    return postings


def payment_postings(root: Any, start: int, count: int) -> list[Any]:
    from ispbills.accounting import services

    clearing = services.account_for(root, "gateway_clearing")
    advances = services.account_for(root, "advances")
    return [
        services.Posting(
            root.tenant_id,
            root.pk,
            f"bench payment {number}",
            "bench.payment",
            str(number),
            "received",
            [
                services.dr(clearing, Decimal(500 + number % 700)),
                services.cr(advances, Decimal(500 + number % 700)),
            ],
        )
        for number in range(start, start + count)
    ]


def post_in_batches(make: Any, have: int, want: int, what: str) -> None:
    from django.db import transaction

    from ispbills.accounting.services import post_many

    if have >= want:
        print(f"{what}: reusing the {have:,} entries there")
        return
    started = time.perf_counter()
    for start in range(have, want, BATCH):
        postings = make(start, min(BATCH, want - start))
        with transaction.atomic():
            post_many(postings)
    seconds = time.perf_counter() - started
    entries = want - have
    lines = sum(len(p.lines) for p in make(0, 1)) * entries
    print(
        f"{what}: {entries:,} entries ({lines:,} lines) in {seconds:.1f} s = "
        f"{entries / seconds:,.0f} entries/s, {lines / seconds:,.0f} lines/s"
    )


def singles(root: Any, start: int, count: int) -> None:
    """One ``post()`` a transaction, committed; then as many each in a transaction rolled
    back (the statements a payment's own transaction pays for its entry, without a commit)."""
    from django.db import transaction

    from ispbills.accounting.services import post

    def one(posting: Any) -> float:
        began = time.perf_counter()
        post(
            tenant_id=posting.tenant_id,
            operator_id=posting.operator_id,
            memo=posting.memo,
            source_type=posting.source_type,
            source_id=posting.source_id,
            purpose=posting.purpose,
            lines=posting.lines,
        )
        return time.perf_counter() - began

    def rolled_back(posting: Any) -> float:
        with transaction.atomic():
            seconds = one(posting)
            transaction.set_rollback(True)
        return seconds

    committed = [one(posting) for posting in payment_postings(root, start, count)]
    inside = [rolled_back(posting) for posting in payment_postings(root, start + count, count)]
    for label, times in (("committed each", committed), ("rolled back each", inside)):
        cuts = statistics.quantiles(times, n=20)
        print(
            f"single post(), {label}: {count:,} = {count / sum(times):,.0f} entries/s, "
            f"p50 {statistics.median(times) * 1000:.2f} ms, p95 {cuts[18] * 1000:.2f} ms"
        )


def trigger_cost(operators: list[Any], start: int) -> None:
    """A batch with and without the balance trigger, in turn four times each (rolled back)."""
    from django.db import connection, transaction

    from ispbills.accounting.services import post_many

    seconds: dict[bool, list[float]] = {True: [], False: []}
    for enabled in (True, False) * 4:
        postings = bill_postings(operators, start, BATCH)
        with transaction.atomic():
            if not enabled:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "ALTER TABLE accounting_journalline "
                        "DISABLE TRIGGER accounting_journalline_balances"
                    )
            began = time.perf_counter()
            post_many(postings)
            seconds[enabled].append(time.perf_counter() - began)
            transaction.set_rollback(True)  # the ALTER goes with it
    on, off = statistics.median(seconds[True]), statistics.median(seconds[False])
    print(
        f"balance trigger: a batch of {BATCH:,} entries in {on * 1000:.0f} ms with it, "
        f"{off * 1000:.0f} ms without (median of 4 each: {(on - off) / off * 100:+.0f}%)"
    )


def ledger_pages(account: Any, admin: Any) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from ispbills.accounting.models import JournalLine

    ids = list(
        JournalLine.objects.filter(account=account).order_by("id").values_list("id", flat=True)
    )
    depths = {"top": ids[-1] + 1, "half depth": ids[len(ids) // 2]}

    def p50(run: Any) -> float:
        run()
        samples = []
        for _ in range(20):
            began = time.perf_counter()
            run()
            samples.append(time.perf_counter() - began)
        return statistics.median(samples) * 1000

    print(f"ledger page of an account with {len(ids):,} lines (50 lines, p50 of 20):")
    for label, cursor_id in depths.items():
        stored_rows: list[Any] = []
        window_rows: list[Any] = []
        backward_rows: list[Any] = []

        def stored(cursor_id: int = cursor_id, out: list[Any] = stored_rows) -> None:
            out[:] = list(
                account.ledger().filter(pk__lt=cursor_id).values_list("id", "balance_after")[:51]
            )

        def window(cursor_id: int = cursor_id, out: list[Any] = window_rows) -> None:
            with connection.cursor() as cursor:
                cursor.execute(WINDOW_PAGE, [account.pk, cursor_id])
                out[:] = [(row[0], row[3]) for row in cursor.fetchall()]

        def backward(cursor_id: int = cursor_id, out: list[Any] = backward_rows) -> None:
            with connection.cursor() as cursor:
                cursor.execute(BACKWARD_PAGE, [account.balance, account.pk, cursor_id])
                out[:] = [(row[0], row[3]) for row in cursor.fetchall()]

        stored_ms, window_ms, backward_ms = p50(stored), p50(window), p50(backward)
        assert stored_rows == window_rows == backward_rows, "running balances differ"
        print(
            f"  {label}: stored balance_after {stored_ms:.2f} ms; computed: summed from the "
            f"first line {window_ms:.1f} ms, back from the balance {backward_ms:.1f} ms "
            "(same balances)"
        )
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(admin)
    url = f"/accounts/{account.pk}/"

    def page(query: str = "") -> None:
        assert client.get(url + query).status_code == 200

    page_ms = p50(page)
    deep_ms = p50(lambda: page(f"?after={depths['half depth']}"))
    print(f"  panel GET {url}: {page_ms:.1f} ms at the top, {deep_ms:.1f} ms at half depth")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--hot-lines", type=int, default=1_000_000)
    parser.add_argument("--measure", type=int, default=200_000)
    parser.add_argument("--singles", type=int, default=3_000)
    args = parser.parse_args()
    return on_database(lambda: run(args))


def run(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from ispbills.accounting import services
    from ispbills.accounting.models import JournalEntry

    call_command("migrate", verbosity=0)
    tenant, operators, admin = bench_isp()
    root = operators[0]
    bills = JournalEntry.objects.filter(tenant=tenant, source_type="bench.bill").count()
    post_in_batches(
        lambda start, count: bill_postings(operators, start, count),
        bills,
        args.entries,
        "seeding bill-like entries, batches of 5,000",
    )
    bills = max(bills, args.entries)
    post_in_batches(
        lambda start, count: bill_postings(operators, start, count),
        bills,
        bills + args.measure,
        "bill-like entries added, batches of 5,000",
    )
    hot = services.account_for(root, "gateway_clearing")
    payments = JournalEntry.objects.filter(tenant=tenant, source_type="bench.payment").count()
    post_in_batches(
        lambda start, count: payment_postings(root, start, count),
        payments,
        max(payments, args.hot_lines),
        "seeding payment-like entries on one hot account, batches of 5,000",
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounting_journalline, accounting_journalentry")
    payments = JournalEntry.objects.filter(tenant=tenant, source_type="bench.payment").count()
    singles(root, payments, args.singles)
    trigger_cost(operators, bills + args.measure + 1)
    hot.refresh_from_db()
    ledger_pages(hot, admin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
