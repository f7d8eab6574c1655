"""Benchmark: generating a batch of recharge cards, and redemptions per second with 50
concurrent clients, exactly once.

Run from the project root:

    .venv/bin/python bench/cards.py [--cards 100000] [--customers 5000] [--processes 10]
                                    [--threads 5] [--replays 10]

Database as for the other benchmarks (DATABASE_URL, or the embedded PostgreSQL in var/). It
seeds the bench ISP "Bench cards" with the demo seeder (reused when already there) and a card
distributor, then, untimed, removes the previous run's cards, payments and attempts and sets
the customers' advance to zero.

1. **Generation**: ``cards.services.generate_batch()`` of ``--cards`` value cards of 500.00
   issued to the distributor, with 2 % commission on use (random PINs, HMAC hashes, Fernet
   encryption, COPY and one ``INSERT … SELECT``), timed; prints cards/s.
2. **Redemption**: ``--processes`` times ``--threads`` clients (50 by default), each on its own
   database connection and acting as the distributor, redeem one card each for their share of
   the customers through ``cards.services.redeem_card()`` (which pays through the payment
   pipeline), and send ``--replays`` percent of the PINs a second time, which must be refused.
   Prints redemptions/s.
3. **One PIN, 50 clients**: the same clients all redeem one fresh card at once; exactly one
   must succeed.

Then it checks the outcome exactly once: one used card and one card payment of 500.00 per
customer, every replay refused, every used card linked to its payment, one commission per
used card, and (after posting them) the distributor's payable equal to the commissions.
"""

import argparse
import datetime as dt
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

SLUG = "bench-cards"
DISTRIBUTOR = "bench-cards-seller"


def bench_isp(customers: int) -> tuple[Any, Any]:
    from ispbills.customers.models import Customer
    from ispbills.demo.customers import seed_catalog, seed_customers
    from ispbills.tenancy import services
    from ispbills.tenancy.models import Tenant, User
    from ispbills.tenancy.roles import Role

    tenant = Tenant.objects.filter(slug=SLUG).first()
    if tenant is None:
        tenant = services.create_tenant(actor=None, name="Bench cards", slug=SLUG, is_demo=True)
        seed_catalog(tenant)
    have = Customer.objects.filter(tenant=tenant).count()
    if have < customers:
        seed_customers(tenant, customers - have)
    seller = User.objects.filter(username=DISTRIBUTOR).first()
    if seller is None:
        seller = services.create_staff_user(
            actor=None,
            operator=services.root_operator(tenant),
            username=DISTRIBUTOR,
            password="Vouchers-Sold-9981",
            role=Role.CARD_DISTRIBUTOR,
        )
    return tenant, seller


def reset(tenant: Any, customers: int) -> list[int]:
    """No cards, card payments or attempts; ``customers`` live customers with no advance.
    Returns their ids."""
    from django.db import connection, transaction

    params = {"t": tenant.pk, "n": customers}
    with transaction.atomic(), connection.cursor() as cursor:
        for table in ("cards_commission", "cards_redemptionattempt", "cards_card"):
            cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %(t)s", params)
        cursor.execute("DELETE FROM cards_distributorpayment WHERE tenant_id = %(t)s", params)
        cursor.execute("DELETE FROM cards_cardbatch WHERE tenant_id = %(t)s", params)
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
            """
            UPDATE customers_customer SET advance_balance = 0
             WHERE tenant_id = %(t)s AND status <> 'deleted'
            """,
            params,
        )
        cursor.execute(
            """
            SELECT id FROM customers_customer
             WHERE tenant_id = %(t)s AND status IN ('active', 'fup', 'suspended')
             ORDER BY id LIMIT %(n)s
            """,
            params,
        )
        ids = [row[0] for row in cursor.fetchall()]
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE customers_customer, payments_payment, cards_card")
    return ids


def client(
    jobs: list[tuple[int, str]], replay_every: int, seller_id: int, start: Any, out: Any
) -> None:
    """Redeem each (customer, PIN) once; send every ``replay_every``-th PIN again."""
    from django.db import connection

    from ispbills.cards.services import redeem_card
    from ispbills.core.errors import ConflictError
    from ispbills.customers.models import Customer
    from ispbills.tenancy.models import User

    seller = User.objects.select_related("membership__operator__tenant").get(pk=seller_id)
    customers = Customer.objects.in_bulk([pk for pk, _pin in jobs])
    done = refused = failed = replays = 0
    start.wait()
    for n, (pk, pin) in enumerate(jobs):
        attempts = 2 if replay_every and n % replay_every == 0 else 1
        replays += attempts - 1
        for _ in range(attempts):
            try:
                redeem_card(actor=seller, customer=customers[pk], pin=pin)
                done += 1
            except ConflictError:
                refused += 1
            except Exception as exc:
                failed += 1
                if failed < 3:
                    print(f"client error: {type(exc).__name__}: {exc}")
    # One PIN, every client at once.
    storm = out_storm = 0
    start.wait()
    try:
        storm_customer = customers[jobs[0][0]] if jobs else Customer.objects.get(pk=STORM_FOR)
        redeem_card(actor=seller, customer=storm_customer, pin=STORM_PIN.value.decode())
        storm = 1
    except ConflictError:
        out_storm = 1
    except Exception:
        failed += 1
    connection.close()
    out.put((done, refused, failed, replays, storm, out_storm))


STORM_PIN: Any = None
STORM_FOR = 0


def process(
    jobs: list[tuple[int, str]],
    threads: int,
    replay_every: int,
    seller_id: int,
    start: Any,
    out: Any,
) -> None:
    import django

    django.setup()
    workers = [
        threading.Thread(
            target=client, args=(jobs[i::threads], replay_every, seller_id, start, out)
        )
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def verify(tenant: Any, ids: list[int], seller: Any) -> list[str]:
    from django.db import connection

    from ispbills.cards.services import post_commissions

    while post_commissions():
        pass
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT count(*) FROM payments_payment
                     WHERE tenant_id = %(t)s AND method = 'card'),
                   (SELECT count(DISTINCT customer_id) FROM payments_payment
                     WHERE tenant_id = %(t)s AND method = 'card'),
                   (SELECT coalesce(sum(amount), 0) FROM payments_payment
                     WHERE tenant_id = %(t)s AND method = 'card'),
                   (SELECT count(*) FROM cards_card WHERE tenant_id = %(t)s AND state = 'used'),
                   (SELECT count(*) FROM cards_card c JOIN payments_payment p
                        ON p.id = c.payment_id AND p.reference = c.serial
                       AND p.customer_id = c.customer_id
                     WHERE c.tenant_id = %(t)s AND c.state = 'used'),
                   (SELECT count(*) FROM cards_commission WHERE tenant_id = %(t)s),
                   (SELECT coalesce(sum(amount), 0) FROM cards_commission
                     WHERE tenant_id = %(t)s),
                   (SELECT coalesce(sum(balance), 0) FROM accounting_account
                     WHERE tenant_id = %(t)s AND kind = 'distributor_payable'
                       AND user_id = %(u)s),
                   (SELECT coalesce(sum(amount), 0) FROM cards_commission
                     WHERE tenant_id = %(t)s AND entry_id IS NOT NULL)
            """,
            {"t": tenant.pk, "u": seller.pk},
        )
        payments, customers, amount, used, linked, commissions, earned, payable, posted = (
            cursor.fetchone()
        )
    wanted = len(ids) + 1  # each customer's card, and the one PIN all clients tried
    problems = []
    if payments != wanted or used != wanted or linked != wanted:
        problems.append(
            f"{payments:,} card payments, {used:,} used cards, {linked:,} linked; "
            f"expected {wanted:,}"
        )
    if customers != len(ids):
        problems.append(f"{customers:,} customers paid, expected {len(ids):,}")
    if amount != 500 * wanted:
        problems.append(f"{amount} received, expected {500 * wanted}")
    if commissions != wanted or earned != 10 * wanted:
        problems.append(
            f"{commissions:,} commissions of {earned}, expected {wanted:,} of {10 * wanted}"
        )
    if payable < posted or posted != earned:
        problems.append(f"payable {payable}, commissions posted {posted} of {earned}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--processes", type=int, default=10)
    parser.add_argument("--threads", type=int, default=5)
    parser.add_argument("--replays", type=int, default=10, help="percent of PINs sent twice")
    args = parser.parse_args()
    return on_database(lambda: run(args))


def run(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from ispbills.cards import services
    from ispbills.cards.models import Card
    from ispbills.core import clock
    from ispbills.tenancy.models import Operator

    global STORM_PIN, STORM_FOR
    call_command("migrate", verbosity=0)
    tenant, seller = bench_isp(args.customers)
    ids = reset(tenant, args.customers)
    if args.cards < len(ids) + 1:
        print("--cards must exceed --customers")
        return 2
    root = Operator.objects.get(tenant=tenant, parent=None)
    began = time.perf_counter()
    batch = services.generate_batch(
        actor=None,
        operator=root,
        name="Bench cards",
        count=args.cards,
        value="500",
        expires_at=clock.now() + dt.timedelta(days=365),
        distributor=seller,
        commission_percent="2",
    )
    generated = time.perf_counter() - began
    print(
        f"generation: {args.cards:,} cards in {generated:.2f} s = "
        f"{args.cards / generated:,.0f} cards/s"
    )
    # The PINs, as printing reads them (untimed): one card per customer, and one more.
    pins = [
        card.pin for card in Card.objects.filter(batch=batch).order_by("serial")[: len(ids) + 1]
    ]
    jobs = list(zip(ids, pins, strict=False))
    clients = args.processes * args.threads
    print(f"setup: {len(ids):,} customers, {clients} clients")
    connection.close()
    context = multiprocessing.get_context("fork")
    STORM_PIN = context.Array("c", pins[-1].encode(), lock=False)
    STORM_FOR = ids[0]
    start = context.Barrier(clients + 1)
    out = context.Queue()
    replay_every = round(100 / args.replays) if args.replays else 0
    processes = [
        context.Process(
            target=process,
            args=(jobs[i :: args.processes], args.threads, replay_every, seller.pk, start, out),
        )
        for i in range(args.processes)
    ]
    for child in processes:
        child.start()
    start.wait()
    began = time.perf_counter()
    start.wait()  # the clients are done with their own cards when they all reach the storm
    elapsed = time.perf_counter() - began
    results = [out.get() for _ in range(clients)]
    for child in processes:
        child.join()
    done = sum(r[0] for r in results)
    refused = sum(r[1] for r in results)
    failed = sum(r[2] for r in results)
    replays = sum(r[3] for r in results)
    storm_won = sum(r[4] for r in results)
    storm_refused = sum(r[5] for r in results)
    print(
        f"redemption: {done:,} cards redeemed in {elapsed:.1f} s = {done / elapsed:,.0f}/s "
        f"with {clients} clients ({refused:,} replays refused, {failed:,} failed)"
    )
    print(f"one PIN, {clients} clients at once: {storm_won} redeemed, {storm_refused} refused")
    problems = verify(tenant, ids, seller)
    if failed or refused != replays:
        problems.append(f"{failed} failed; {refused} of {replays} replays refused")
    if storm_won != 1 or storm_refused != clients - 1:
        problems.append(f"one PIN: {storm_won} redeemed, {storm_refused} refused")
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    print(f"verdict: exactly once {'held' if not problems else 'BROKEN'}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
