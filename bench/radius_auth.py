"""Benchmark: authentications per second through FreeRADIUS, our queries against the stock ones.

Run from the project root:

    .venv/bin/python bench/radius_auth.py [--users 1000000] [--seconds 30] [--warmup 5]
        [--concurrency 16] [--clients 1] [--rounds 2] [--reseed] [--drop]

A quick run: ``--users 100000 --seconds 10 --rounds 1``.

With DATABASE_URL set it uses that PostgreSQL server (ISPBILLS_SECRET_KEY and
ISPBILLS_FIELD_ENCRYPTION_KEYS must be set too, as for the app); without it, the embedded
PostgreSQL in var/. It uses two databases of its own beside the configured one, named after it:
``<name>_authbench`` on our schema (created by ``migrate``) and ``<name>_authbench_stock`` on
FreeRADIUS's stock schema (``mods-config/sql/main/postgresql/schema.sql`` of the installed
package). Both get the same subscribers, set-based (INSERT … SELECT from generate_series), as
provisioning writes them: a password, ``Simultaneous-Use := 1`` and an ``Expiration`` for
everyone, a MAC binding for one in ten, a static address for one in twenty, ``Auth-Type :=
Reject`` (suspended) for one in fifty, and one package group each with its rate limit and
interim interval. They are reused by later runs with the same ``--users`` (``--reseed`` seeds
again; ``--drop`` drops both databases).

FreeRADIUS then runs twice from ``ispbills radius config`` (reject delay 0), once on each
database: ours with the generated queries, stock with the package's stock ``queries.conf``
and ``read_groups`` on. Everything else (site, policies, modules) is the same. The load is the
same for both: an asyncio UDP client (``--clients`` processes, ``--concurrency`` requests in
flight in all) sends PAP Access-Requests with Message-Authenticator for random subscribers
with their password and MAC, as a router would, checks every reply's authenticator and its
outcome (accept, or reject for the suspended), and records the latency of each. After
``--warmup`` seconds it measures for ``--seconds``. It prints, for each run: authentications
per second, p50 and p99 latency, SQL statements per request (transactions counted by
PostgreSQL), the CPU time FreeRADIUS and its PostgreSQL backends spent per request, the CPU the
load generator used and how idle the machine stayed (0 % idle: the server side is saturated,
and the generator's share shows it is not what limits). Runs alternate stock and ours
``--rounds`` times, so a busy moment of a shared machine hits both; the run with the median
rate of each counts. Last come the ratio ours/stock and the verdict against the goals: at least
1.5 times the stock rate, p99 at most 20 ms. It exits non-zero when a goal is missed or an
answer was not the expected one.
"""

import argparse
import asyncio
import hashlib
import hmac
import multiprocessing
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from database import on_database  # noqa: E402  (bench/, beside this script)

STOCK_DIR = Path("/etc/freeradius/3.0/mods-config/sql/main/postgresql")
SECRET = "bench-only-radius-secret"
GOAL_RATIO = 1.5
GOAL_P99_MS = 20.0
PACKAGES = 20
SUSPENDED_EVERY = 50  # Auth-Type := Reject
MAC_EVERY = 10  # Calling-Station-Id == …
STATIC_IP_EVERY = 20  # Framed-IP-Address := …
TIMEOUT = 2.0

SEED_SQL = [
    """
    TRUNCATE radcheck, radreply, radusergroup, radgroupcheck, radgroupreply, radpostauth,
        radacct, nasreload
    """,
    """
    INSERT INTO radgroupreply (groupname, attribute, op, value)
    SELECT kind || p, a.attribute, ':=', a.value
    FROM generate_series(1, %(packages)s::int) p
    CROSS JOIN (VALUES ('pkg-'), ('fup-')) k(kind)
    CROSS JOIN LATERAL (VALUES
        ('Mikrotik-Rate-Limit', (p * 1000) || 'k/' || (p * 4000) || 'k'),
        ('Acct-Interim-Interval', '300')) a(attribute, value)
    ORDER BY 1
    """,
    """
    INSERT INTO radcheck (username, attribute, op, value)
    SELECT 'u' || i, a.attribute, a.op, a.value
    FROM generate_series(1, %(users)s::int) i
    CROSS JOIN LATERAL (VALUES
        (1, 'Cleartext-Password', ':=', 'pw-' || i),
        (2, 'Simultaneous-Use', ':=', '1'),
        (3, 'Calling-Station-Id', '==', CASE WHEN i %% %(mac_every)s = 0 THEN
            upper(regexp_replace(lpad(to_hex(i), 8, '0'), '(..)(..)(..)(..)',
                                 '02:00:\\1:\\2:\\3:\\4')) END),
        (4, 'Expiration', ':=', %(expiration)s),
        (5, 'Auth-Type', ':=', CASE WHEN i %% %(suspended_every)s = 0 THEN 'Reject' END)
    ) a(n, attribute, op, value)
    WHERE a.value IS NOT NULL
    """,
    """
    INSERT INTO radreply (username, attribute, op, value)
    SELECT 'u' || i, 'Framed-IP-Address', ':=',
        '10.' || (i / 65536) %% 256 || '.' || (i / 256) %% 256 || '.' || i %% 256
    FROM generate_series(%(static_every)s::int, %(users)s::int, %(static_every)s::int) i
    """,
    """
    INSERT INTO radusergroup (username, groupname, priority)
    SELECT 'u' || i, 'pkg-' || (1 + i %% %(packages)s), 1
    FROM generate_series(1, %(users)s::int) i
    """,
]


def mac_of(user: int) -> str:
    return "02:00:" + ":".join(f"{(user >> shift) & 0xFF:02X}" for shift in (24, 16, 8, 0))


# --- the load generator ---------------------------------------------------------------------


def _attribute(kind: int, value: bytes) -> bytes:
    return bytes((kind, len(value) + 2)) + value


@dataclass
class LoadResult:
    """What one load process saw."""

    sent: int = 0
    answered: int = 0
    measured: int = 0
    timeouts: int = 0
    wrong: int = 0
    latencies: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0


class AccessRequests(asyncio.DatagramProtocol):
    """Keeps ``in_flight`` PAP Access-Requests outstanding on one UDP socket."""

    def __init__(
        self, secret: bytes, users: int, in_flight: int, result: LoadResult, seed: int
    ) -> None:
        self.secret = secret
        self.users = users
        self.in_flight = in_flight
        self.result = result
        self.random = random.Random(seed)
        self.free_ids = list(range(256))
        self.pending: dict[int, tuple[int, bytes, float]] = {}
        self.measure_from = float("inf")
        self.measure_until = float("inf")
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        for _ in range(self.in_flight):
            self.send()

    def send(self) -> None:
        ident = self.free_ids.pop()
        user = self.random.randint(1, self.users)
        authenticator = self.random.randbytes(16)
        password = f"pw-{user}".encode().ljust(16, b"\0")
        key = hashlib.md5(self.secret + authenticator).digest()
        hidden = bytes(a ^ b for a, b in zip(password, key, strict=True))
        attributes = b"".join(
            (
                _attribute(1, f"u{user}".encode()),
                _attribute(2, hidden),
                _attribute(4, b"\x7f\x00\x00\x01"),
                _attribute(6, b"\x00\x00\x00\x02"),  # Service-Type = Framed-User
                _attribute(7, b"\x00\x00\x00\x01"),  # Framed-Protocol = PPP
                _attribute(30, b"pppoe-bench"),
                _attribute(31, mac_of(user).encode()),
                _attribute(61, b"\x00\x00\x00\x0f"),  # NAS-Port-Type = Ethernet
            )
        )
        length = 20 + len(attributes) + 18
        header = struct.pack("!BBH", 1, ident, length) + authenticator
        signature = hmac.new(
            self.secret, header + attributes + b"\x50\x12" + b"\0" * 16, "md5"
        ).digest()
        self.pending[ident] = (user, authenticator, time.perf_counter())
        self.transport.sendto(header + attributes + b"\x50\x12" + signature)
        self.result.sent += 1

    def datagram_received(self, data: bytes, addr: Any) -> None:
        now = time.perf_counter()
        if len(data) < 20 or data[1] not in self.pending:
            return
        user, authenticator, sent_at = self.pending[data[1]]
        check = hashlib.md5(data[:4] + authenticator + data[20:] + self.secret).digest()
        if check != data[4:20]:
            return  # not the answer to this request
        del self.pending[data[1]]
        self.free_ids.append(data[1])
        self.result.answered += 1
        expected = 3 if user % SUSPENDED_EVERY == 0 else 2
        if data[0] != expected:
            self.result.wrong += 1
        if self.measure_from <= sent_at and now <= self.measure_until:
            self.result.measured += 1
            self.result.latencies.append(now - sent_at)
        if now < self.measure_until:
            self.send()

    def expire(self, now: float) -> None:
        for ident, (_, _, sent_at) in list(self.pending.items()):
            if now - sent_at > TIMEOUT:
                del self.pending[ident]
                self.free_ids.append(ident)
                self.result.timeouts += 1
                if now < self.measure_until:
                    self.send()


async def _load(
    port: int, users: int, in_flight: int, warmup: float, seconds: float, seed: int
) -> LoadResult:
    result = LoadResult()
    loop = asyncio.get_running_loop()
    sockets = max(1, -(-in_flight // 200))
    protocols = []
    for number in range(sockets):
        share = in_flight // sockets + (1 if number < in_flight % sockets else 0)
        _, protocol = await loop.create_datagram_endpoint(
            lambda share=share, number=number: AccessRequests(
                SECRET.encode(), users, share, result, seed * 1000 + number
            ),
            remote_addr=("127.0.0.1", port),
        )
        protocols.append(protocol)
    started = time.perf_counter()
    for protocol in protocols:
        protocol.measure_from = started + warmup
        protocol.measure_until = started + warmup + seconds
    cpu_at_start = 0.0
    while True:
        await asyncio.sleep(0.05)
        now = time.perf_counter()
        if not cpu_at_start and now >= started + warmup:
            cpu_at_start = time.process_time()
        for protocol in protocols:
            protocol.expire(now)
        if now >= started + warmup + seconds:
            result.cpu_seconds = time.process_time() - cpu_at_start
            break
    await asyncio.sleep(0.2)  # let the last answers in, outside the measured window
    for protocol in protocols:
        protocol.transport.close()
    return result


def _load_process(queue: Any, *args: Any) -> None:
    queue.put(asyncio.run(_load(*args)))


def run_load(
    port: int, users: int, concurrency: int, clients: int, warmup: float, seconds: float
) -> LoadResult:
    """The load of ``clients`` processes together, ``concurrency`` requests in flight."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = []
    for number in range(clients):
        share = concurrency // clients + (1 if number < concurrency % clients else 0)
        process = context.Process(
            target=_load_process, args=(queue, port, users, share, warmup, seconds, number + 1)
        )
        process.start()
        processes.append(process)
    total = LoadResult()
    for _ in processes:
        part = queue.get(timeout=warmup + seconds + 60)
        total.sent += part.sent
        total.answered += part.answered
        total.measured += part.measured
        total.timeouts += part.timeouts
        total.wrong += part.wrong
        total.latencies.extend(part.latencies)
        total.cpu_seconds += part.cpu_seconds
    for process in processes:
        process.join()
    return total


def status_server(port: int, timeout: float = 0.3) -> bool:
    """Whether FreeRADIUS answers a Status-Server on ``port``."""
    secret = SECRET.encode()
    authenticator = os.urandom(16)
    header = struct.pack("!BBH", 12, 1, 38) + authenticator
    signature = hmac.new(secret, header + b"\x50\x12" + b"\0" * 16, "md5").digest()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(header + b"\x50\x12" + signature, ("127.0.0.1", port))
        try:
            return bool(sock.recv(4096))
        except OSError:
            return False


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) each live process of ``pids`` has used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return used


def backend_pids(database: dict[str, Any]) -> list[int]:
    """The PostgreSQL backends serving FreeRADIUS on ``database``."""
    with connect(database, "postgres") as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database["NAME"]],
        ).fetchall()
    return [row[0] for row in rows]


def cpu_idle() -> tuple[int, int]:
    """(idle, total) jiffies of the whole machine so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return values[3] + values[4], sum(values)


# --- databases --------------------------------------------------------------------------------


def connect(database: dict[str, Any], name: str | None = None, autocommit: bool = True) -> Any:
    import psycopg

    params = {
        "dbname": name or database["NAME"],
        "host": database.get("HOST") or None,
        "port": database.get("PORT") or None,
        "user": database.get("USER") or None,
        "password": database.get("PASSWORD") or None,
    }
    options = {k: v for k, v in (database.get("OPTIONS") or {}).items() if k == "sslmode"}
    return psycopg.connect(
        autocommit=autocommit, **{k: v for k, v in params.items() if v}, **options
    )


def ensure_database(server: dict[str, Any], name: str) -> bool:
    """Create database ``name`` unless it exists; True when it was created."""
    with connect(server, "postgres") as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        conn.execute(f'CREATE DATABASE "{name}"')
    return True


def drop_database(server: dict[str, Any], name: str) -> None:
    with connect(server, "postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seeded_users(database: dict[str, Any]) -> int:
    with connect(database) as conn:
        row = conn.execute("SELECT count(*) FROM radusergroup WHERE username LIKE 'u%'").fetchone()
    return int(row[0])


def seed(database: dict[str, Any], users: int) -> float:
    started = time.perf_counter()
    expiration = str(int(time.time()) + 90 * 86400)
    params = {
        "users": users,
        "packages": PACKAGES,
        "mac_every": MAC_EVERY,
        "static_every": STATIC_IP_EVERY,
        "suspended_every": SUSPENDED_EVERY,
        "expiration": expiration,
    }
    with connect(database, autocommit=False) as conn:
        for statement in SEED_SQL:
            conn.execute(statement, params)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE radcheck, radreply, radusergroup, radgroupreply")
    return time.perf_counter() - started


def reset_logs(database: dict[str, Any]) -> None:
    with connect(database) as conn:
        conn.execute("TRUNCATE radpostauth, radacct")
        conn.execute("VACUUM ANALYZE radpostauth, radacct")


def transactions(database: dict[str, Any]) -> int:
    with connect(database, "postgres") as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            [database["NAME"]],
        ).fetchone()
    return int(row[0])


# --- FreeRADIUS -------------------------------------------------------------------------------


def write_radius_config(directory: Path, database: dict[str, Any], port: int, stock: bool) -> Path:
    from ispbills.radius.server import RadiusOptions, default_run_as, write_config

    options = RadiusOptions(
        secret=SECRET,
        auth_port=port,
        acct_port=port + 1,
        reject_delay=0,
        run_as=default_run_as(database),
    )
    out = write_config(directory / "raddb", database, options)
    if stock:
        shutil.copyfile(STOCK_DIR / "queries.conf", out / "mods-config" / "sql" / "queries.conf")
        module = out / "mods-enabled" / "sql"
        text = module.read_text()
        for line in ("\tread_groups = no\n", "\tread_profiles = no\n"):
            text = text.replace(line, "")
        module.write_text(text)
    return out


def free_port_pair() -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port < 65535:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                try:
                    sock.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port


@dataclass
class Figures:
    """The measured figures of one FreeRADIUS run."""

    label: str
    rate: float
    p50_ms: float
    p99_ms: float
    statements: float
    server_us: float
    database_us: float
    generator_cpu: float
    idle: float
    load: LoadResult


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(label: str, database: dict[str, Any], args: argparse.Namespace, stock: bool) -> Figures:
    binary = shutil.which("freeradius") or shutil.which("radiusd")
    if binary is None:
        raise SystemExit("FreeRADIUS is not installed (Debian: freeradius freeradius-postgresql).")
    reset_logs(database)
    directory = Path(tempfile.mkdtemp(prefix="ispbills-authbench-"))
    os.chmod(directory, 0o711)  # FreeRADIUS reads it after switching users
    port = free_port_pair()
    config = write_radius_config(directory, database, port, stock)
    log = (directory / "freeradius.out").open("wb")
    process = subprocess.Popen(
        [binary, "-f", "-l", "stdout", "-d", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not status_server(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"FreeRADIUS ({label}) did not start:\n"
                    + (directory / "freeradius.out").read_text(errors="replace")[-3000:]
                )
        before = transactions(database)
        idle_before = cpu_idle()
        server_before = cpu_seconds([process.pid])
        backends_before = cpu_seconds(backend_pids(database))
        load = run_load(port, args.users, args.concurrency, args.clients, args.warmup, args.seconds)
        idle_after = cpu_idle()
        server_cpu = sum(cpu_seconds([process.pid]).values()) - sum(server_before.values())
        backends_after = cpu_seconds(backend_pids(database))
        database_cpu = sum(
            used - backends_before.get(pid, 0.0) for pid, used in backends_after.items()
        )
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(15)
        log.close()
    time.sleep(0.5)  # the server's backends report their counters as they exit
    requests = max(1, load.answered + load.timeouts)
    statements = (transactions(database) - before) / requests
    shutil.rmtree(directory, ignore_errors=True)
    idle = (idle_after[0] - idle_before[0]) / max(1, idle_after[1] - idle_before[1])
    return Figures(
        label=label,
        rate=load.measured / args.seconds,
        p50_ms=percentile(load.latencies, 0.50) * 1000,
        p99_ms=percentile(load.latencies, 0.99) * 1000,
        statements=statements,
        server_us=server_cpu / requests * 1e6,
        database_us=database_cpu / requests * 1e6,
        generator_cpu=load.cpu_seconds / (args.warmup + args.seconds),
        idle=idle,
        load=load,
    )


def median_run(runs: list[Figures]) -> Figures:
    """The run with the median rate (the lower middle one of an even number)."""
    return sorted(runs, key=lambda figures: figures.rate)[(len(runs) - 1) // 2]


def report(figures: Figures) -> None:
    load = figures.load
    print(
        f"{figures.label:>5}: {figures.rate:8,.0f} auth/s   p50 {figures.p50_ms:6.2f} ms   "
        f"p99 {figures.p99_ms:6.2f} ms   {figures.statements:4.2f} SQL statements/request\n"
        f"       CPU per request: FreeRADIUS {figures.server_us:4.0f} µs, PostgreSQL "
        f"{figures.database_us:4.0f} µs; load generator {figures.generator_cpu:.0%} of a core, "
        f"machine {figures.idle:.0%} idle   "
        f"({load.measured:,} measured, {load.timeouts} timeouts, {load.wrong} wrong answers)"
    )


# --- main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--clients", type=int, default=1, help="load generator processes")
    parser.add_argument("--rounds", type=int, default=2, help="stock/ours runs, alternated")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--drop", action="store_true")
    args = parser.parse_args()

    return on_database(lambda: run(args))


def run(args: argparse.Namespace) -> int:
    import django
    from django.conf import settings

    base = dict(settings.DATABASES["default"])
    ours = {**base, "NAME": f"{base['NAME']}_authbench"}
    stock = {**base, "NAME": f"{base['NAME']}_authbench_stock"}
    if args.drop:
        drop_database(base, ours["NAME"])
        drop_database(base, stock["NAME"])
        print(f"Dropped {ours['NAME']} and {stock['NAME']}.")
        return 0

    # Django works on our bench database: migrate creates the schema there.
    settings.DATABASES["default"]["NAME"] = ours["NAME"]
    django.setup()
    from django.core.management import call_command

    ensure_database(base, ours["NAME"])
    call_command("migrate", verbosity=0)
    if ensure_database(base, stock["NAME"]):
        with connect(stock) as conn:
            conn.execute((STOCK_DIR / "schema.sql").read_text())

    for database in (ours, stock):
        if args.reseed or seeded_users(database) != args.users:
            seconds = seed(database, args.users)
            print(f"Seeding {database['NAME']}: {args.users:,} subscribers in {seconds:.1f} s")
        else:
            print(f"Seeding {database['NAME']}: reusing its {args.users:,} subscribers")

    print(
        f"Load: {args.concurrency} requests in flight from {args.clients} process(es), "
        f"{args.warmup:g} s warm-up, then {args.seconds:g} s measured, on a machine of "
        f"{os.cpu_count()} cores shared by FreeRADIUS, PostgreSQL and the load generator."
    )
    runs: dict[str, list[Figures]] = {"stock": [], "ours": []}
    for _ in range(args.rounds):  # alternated, so a busy moment of the machine hits both
        for label, database in (("stock", stock), ("ours", ours)):
            figures = measure(label, database, args, stock=label == "stock")
            report(figures)
            runs[label].append(figures)
    stock_figures = median_run(runs["stock"])
    ours_figures = median_run(runs["ours"])
    if args.rounds > 1:
        print(f"median of {args.rounds} rounds (by rate):")
        report(stock_figures)
        report(ours_figures)

    ratio = ours_figures.rate / stock_figures.rate if stock_figures.rate else float("inf")
    rate_met = ratio >= GOAL_RATIO
    p99_met = ours_figures.p99_ms <= GOAL_P99_MS
    correct = not any(figures.load.wrong for label in runs for figures in runs[label])
    print(
        f"ratio ours/stock: {ratio:.2f} (goal ≥ {GOAL_RATIO}) → {'met' if rate_met else 'MISSED'}"
    )
    print(
        f"p99 ours: {ours_figures.p99_ms:.2f} ms (goal ≤ {GOAL_P99_MS:g} ms) → "
        f"{'met' if p99_met else 'MISSED'}"
    )
    if not correct:
        print("Some answers were not the expected accept/reject: the figures do not count.")
    return 0 if rate_met and p99_met and correct else 1


if __name__ == "__main__":
    sys.exit(main())
