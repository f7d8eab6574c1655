"""Benchmark: payments applied per second through the full pipeline, 50 concurrent clients,
and the ledger posting them.

Run from the project root:

    .venv/bin/python bench/payments.py [--customers 20000] [--processes 10] [--threads 5]
                                       [--replays 10] [--poster during|after] [--batch 1000]

Database as for the other benchmarks (DATABASE_URL, or the embedded PostgreSQL in var/). It
seeds the bench ISP "Bench payments" with the demo seeder (reused when already there), then,
untimed: removes the ISP's payments, gives each live customer one unpaid bill of 800.00 and no
advance. It then starts ``--processes`` times ``--threads`` clients (50 by default), each on its own
database connection, that pay their share of the customers through
``payments.services.receive_payment()`` (one cash payment of 800.00 each, with its own
reference), and send ``--replays`` percent of the references a second time, which must be
refused. It prints payments/s against the goal of **500/s or more** and then checks the
outcome exactly once: one payment per customer, every bill paid, no advance left, every
replay refused, allocations equal to payments.

The ledger: each payment owes its entry through the accounting outbox, and a poster (one
process, as a worker runs it) drains it in batches of ``--batch`` with
``accounting.services.drain_postings()``: ``--poster during`` (the default) runs it alongside
the clients, as in production; ``after`` starts it when the last client is done. It prints the
posting rate and the time until every payment is posted, then checks exactly once: every
payment has exactly one entry of its amount, the outbox is empty, and every account of the ISP
has a cached balance equal to the sum of its lines and to its last running balance.
"""

import argparse
import multiprocessing
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from database import on_database  # noqa: E402  (bench/, beside this script)

SLUG = "bench-payments"
GOAL = 500.0


def bench_isp(customers: int) -> Any:
    from ispbills.customers.models import Customer
    from ispbills.demo.customers import seed_catalog, seed_customers
    from ispbills.tenancy import services
    from ispbills.tenancy.models import Tenant

    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        tenant = services.create_tenant(actor=None, name="Bench payments", slug=SLUG, is_demo=True)
        seed_catalog(tenant)
    have = Customer.objects.filter(tenant=tenant).count()
    if have < customers:
        seed_customers(tenant, customers - have)
    return tenant


def reset(tenant: Any, customers: int) -> list[int]:
    """No payments; ``customers`` live customers with one unpaid 800.00 bill each, no advance.
    Returns their ids."""
    from django.db import connection, transaction

    params = {"t": tenant.pk, "n": customers}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM payments_allocation WHERE payment_id IN "
            "(SELECT id FROM payments_payment WHERE tenant_id = %(t)s)",
            params,
        )
        cursor.execute(
            "UPDATE payments_payment SET reverses_id = NULL WHERE tenant_id = %(t)s", params
        )
        cursor.execute("DELETE FROM payments_payment WHERE tenant_id = %(t)s", params)
        cursor.execute("DELETE FROM accounting_pendingposting WHERE tenant_id = %(t)s", params)
        cursor.execute(
            "DELETE FROM procrastinate_jobs WHERE queueing_lock = 'ledger-posting' "
            "AND status = 'todo'"
        )
        cursor.execute(
            "DELETE FROM billing_advancedebit WHERE bill_id IN "
            "(SELECT id FROM billing_bill WHERE tenant_id = %(t)s)",
            params,
        )
        cursor.execute("DELETE FROM billing_reminder WHERE tenant_id = %(t)s", params)
        cursor.execute("DELETE FROM billing_bill WHERE tenant_id = %(t)s", params)
        cursor.execute(
            """
            UPDATE customers_customer
               SET status = 'active', status_reason = '', is_trial = false, expires_at = NULL,
                   advance_balance = 0
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
                   'invoice', id, current_date - 5, current_date + 24, current_date - 5,
                   current_date - 5, package_id, 'Bench package',
                   '[{"kind": "package", "amount": "800.00"}]', 800, 0, 0, 0, false, 800, 0,
                   0, 'unpaid', ''
              FROM (SELECT * FROM customers_customer
                     WHERE tenant_id = %(t)s AND status = 'active'
                     ORDER BY id LIMIT %(n)s) c
            RETURNING customer_id
            """,
            params,
        )
        ids = sorted(row[0] for row in cursor.fetchall())
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE customers_customer, billing_bill, payments_payment, payments_allocation"
        )
    return ids


def client(ids: list[int], replay_every: int, start: Any, out: Any) -> None:
    """Pay each customer of ``ids`` once; replay every ``replay_every``-th reference."""
    from django.db import connection

    from ispbills.core.errors import ConflictError
    from ispbills.customers.models import Customer
    from ispbills.payments.services import receive_payment

    paid = refused = failed = replays = 0
    start.wait()
    for n, pk in enumerate(ids):
        customer = Customer(pk=pk)
        attempts = 2 if replay_every and n % replay_every == 0 else 1
        replays += attempts - 1
        for _ in range(attempts):
            try:
                receive_payment(
                    actor=None,
                    customer=customer,
                    amount="800.00",
                    method="cash",
                    reference=f"bench-{pk}",
                )
                paid += 1
            except ConflictError:
                refused += 1
            except Exception:
                failed += 1
    connection.close()
    out.put((paid, refused, failed, replays))


def process(ids: list[int], threads: int, replay_every: int, start: Any, out: Any) -> None:
    import django

    django.setup()
    workers = [
        threading.Thread(target=client, args=(ids[i::threads], replay_every, start, out))
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def poster(batch: int, start: Any, paying: Any, out: Any) -> None:
    """Drain the outbox in batches until the clients are done and it is empty; report when
    each batch was posted and how many it took."""
    import django

    django.setup()
    from django.db import connection

    from ispbills.accounting.services import POLL, drain_postings

    start.wait()
    batches = []
    busy = 0.0
    while True:
        began = time.perf_counter()
        done = drain_postings(batch)
        if done:
            busy += time.perf_counter() - began
            batches.append((time.perf_counter(), done))
        elif not paying.is_set():
            break
        else:
            time.sleep(POLL)
    connection.close()
    out.put((batches, busy))


def verify(tenant: Any, ids: list[int]) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT count(*) FROM payments_payment WHERE tenant_id = %(t)s),
                   (SELECT count(DISTINCT customer_id) FROM payments_payment
                     WHERE tenant_id = %(t)s),
                   (SELECT count(*) FROM billing_bill WHERE tenant_id = %(t)s
                     AND status = 'paid' AND paid_amount = total),
                   (SELECT coalesce(sum(advance_balance), 0) FROM customers_customer
                     WHERE tenant_id = %(t)s),
                   (SELECT coalesce(sum(amount), 0) FROM payments_payment
                     WHERE tenant_id = %(t)s),
                   (SELECT coalesce(sum(a.amount), 0) FROM payments_allocation a
                     JOIN payments_payment p ON p.id = a.payment_id WHERE p.tenant_id = %(t)s)
            """,
            {"t": tenant.pk},
        )
        payments, customers, bills_paid, advance, received, allocated = cursor.fetchone()
    wanted = len(ids)
    problems = []
    if payments != wanted or customers != wanted:
        problems.append(f"{payments:,} payments for {customers:,} customers, expected {wanted:,}")
    if bills_paid != wanted:
        problems.append(f"{bills_paid:,} bills paid, expected {wanted:,}")
    if advance != 0:
        problems.append(f"advance left {advance}")
    if received != allocated or received != 800 * wanted:
        problems.append(f"received {received}, allocated {allocated}, expected {800 * wanted}")
    return problems + verify_ledger(tenant)


def verify_ledger(tenant: Any) -> list[str]:
    """Every payment has exactly one entry, of its amount; nothing is owed any more; every
    account's cached balance is the sum of its lines and its last running balance."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FILTER (WHERE e.n IS DISTINCT FROM 1),
                   count(*) FILTER (WHERE e.amount IS DISTINCT FROM p.amount)
              FROM payments_payment p
              LEFT JOIN (SELECT source_id, count(*) AS n, max(amount) AS amount
                           FROM accounting_journalentry
                          WHERE tenant_id = %(t)s AND source_type = 'payments.payment'
                          GROUP BY source_id) e ON e.source_id = p.id::text
             WHERE p.tenant_id = %(t)s
            """,
            {"t": tenant.pk},
        )
        not_once, wrong_amount = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM accounting_pendingposting WHERE tenant_id = %(t)s",
            {"t": tenant.pk},
        )
        (owed,) = cursor.fetchone()
        cursor.execute(
            """
            SELECT a.id, a.balance, s.total, last.balance_after
              FROM accounting_account a
              LEFT JOIN LATERAL (
                   SELECT coalesce(sum(CASE WHEN a.kind IN ('cash', 'bank', 'gateway_clearing',
                                        'receivable', 'operator_receivable', 'gateway_fees',
                                        'expenses') THEN l.debit - l.credit
                                        ELSE l.credit - l.debit END), 0) AS total
                     FROM accounting_journalline l WHERE l.account_id = a.id) s ON true
              LEFT JOIN LATERAL (
                   SELECT balance_after FROM accounting_journalline l
                    WHERE l.account_id = a.id ORDER BY l.id DESC LIMIT 1) last ON true
             WHERE a.tenant_id = %(t)s
               AND (a.balance <> s.total OR a.balance <> coalesce(last.balance_after, 0))
            """,
            {"t": tenant.pk},
        )
        wrong_balances = cursor.fetchall()
    problems = []
    if not_once:
        problems.append(f"{not_once:,} payments without exactly one entry")
    if wrong_amount:
        problems.append(f"{wrong_amount:,} entries not of their payment's amount")
    if owed:
        problems.append(f"{owed:,} entries still owed")
    for account, cached, total, last in wrong_balances:
        problems.append(f"account {account}: balance {cached}, lines {total}, last {last}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--processes", type=int, default=10)
    parser.add_argument("--threads", type=int, default=5)
    parser.add_argument("--replays", type=int, default=10, help="percent of references sent twice")
    parser.add_argument("--poster", choices=["during", "after"], default="during")
    parser.add_argument("--batch", type=int, default=1000, help="entries a poster batch takes")
    args = parser.parse_args()
    return on_database(lambda: run(args))


def run(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    tenant = bench_isp(args.customers)
    ids = reset(tenant, args.customers)
    clients = args.processes * args.threads
    print(f"setup: {len(ids):,} customers with an unpaid bill, {clients} clients")
    connection.close()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(clients + 1)
    out = context.Queue()
    replay_every = round(100 / args.replays) if args.replays else 0
    processes = [
        context.Process(
            target=process,
            args=(ids[i :: args.processes], args.threads, replay_every, start, out),
        )
        for i in range(args.processes)
    ]
    paying = context.Event()
    paying.set()
    poster_start = context.Barrier(2)
    posted = context.Queue()
    ledger = context.Process(target=poster, args=(args.batch, poster_start, paying, posted))
    ledger.start()
    for child in processes:
        child.start()
    start.wait()
    began = time.perf_counter()
    if args.poster == "during":
        poster_start.wait()
    results = [out.get() for _ in range(clients)]
    elapsed = time.perf_counter() - began
    for child in processes:
        child.join()
    paying.clear()
    if args.poster == "after":
        poster_start.wait()
    batches, busy = posted.get()
    ledger.join()
    paid = sum(r[0] for r in results)
    refused = sum(r[1] for r in results)
    failed = sum(r[2] for r in results)
    rate = paid / elapsed
    print(
        f"payments: {paid:,} applied in {elapsed:.1f} s = {rate:,.0f}/s "
        f"({refused:,} replays refused, {failed:,} failed)"
    )
    entries = sum(n for _at, n in batches)
    if batches:
        finished = batches[-1][0] - began
        during = sum(n for at, n in batches if at - began <= elapsed)
        rest = entries - during
        print(
            f"ledger: {entries:,} entries in {len(batches):,} batches of up to {args.batch:,} "
            f"({entries / busy:,.0f} entries/s of poster time, {busy:.1f} s); {during:,} "
            f"posted while the clients paid, the other {rest:,} in the "
            f"{finished - elapsed:.1f} s after the last payment "
            f"({rest / max(finished - elapsed, 1e-9):,.0f}/s); every payment posted "
            f"{finished:.1f} s after the start"
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE payments_payment, accounting_journalentry, accounting_account")
    problems = verify(tenant, ids)
    replays = sum(r[3] for r in results)
    if failed or refused != replays:
        problems.append(f"{failed} failed; {refused} of {replays} replays refused")
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    verdict = "met" if rate >= GOAL and not problems else "NOT met"
    print(f"verdict: {rate:,.0f} payments/s against >= {GOAL:,.0f}/s, exactly once: {verdict}")
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    sys.exit(main())
