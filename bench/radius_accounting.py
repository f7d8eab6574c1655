"""Benchmark: sustained accounting Interim-Updates per second through FreeRADIUS, rollups running.

Run from the project root:

    .venv/bin/python bench/radius_accounting.py [--sessions 20000] [--seconds 30] [--window 512]

Database as for the other benchmarks (DATABASE_URL, or the embedded PostgreSQL in var/). It
reuses the bench ISP of bench/radius_sync.py ("Bench RADIUS", seeded with the demo seeder when
it has fewer customers than sessions), writes a FreeRADIUS configuration for this database on
free loopback ports and starts FreeRADIUS (Debian's package). Then:

1. opens one session per customer with Accounting Start (not timed);
2. for ``--seconds``, sends Interim-Updates round the sessions with growing 64-bit counters
   (Gigawords past 4 GiB), ``--window`` requests in flight, while a thread runs the usage
   rollup (``rollup_usage``) back to back, as the periodic job would under load;
3. prints accepted updates/s, latency p50/p99, the rollups done, and the verdict against the
   target of **2,000 interim updates/s**; then rolls up once more and checks that the daily
   usage of every session equals the last counters it sent (deltas, not sums).

The load generator is one asyncio process with its own sockets (Accounting-Request built
here: Request Authenticator = MD5 over the packet and the secret, RFC 2866 §3); its CPU time
is printed, so one can see it is not the bottleneck.
"""

import argparse
import asyncio
import hashlib
import os
import random
import resource
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from database import on_database  # noqa: E402  (bench/, beside this script)

TARGET_PER_SECOND = 2000
SECRET = "bench-accounting-secret"
NAS_IP = "10.99.0.1"
START, STOP, INTERIM = 1, 2, 3


def attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("!BB", kind, len(value) + 2) + value


def integer(kind: int, value: int) -> bytes:
    return attribute(kind, struct.pack("!I", value & 0xFFFFFFFF))


def accounting_request(
    identifier: int, status: int, username: str, session_id: str, octets: tuple[int, int] = (0, 0)
) -> bytes:
    """An Accounting-Request with the RFC 2866 Request Authenticator."""
    up, down = octets
    body = b"".join(
        [
            integer(40, status),  # Acct-Status-Type
            attribute(1, username.encode()),  # User-Name
            attribute(44, session_id.encode()),  # Acct-Session-Id
            attribute(4, socket.inet_aton(NAS_IP)),  # NAS-IP-Address
            integer(46, 300),  # Acct-Session-Time
            integer(42, up),  # Acct-Input-Octets
            integer(52, up >> 32),  # Acct-Input-Gigawords
            integer(43, down),  # Acct-Output-Octets
            integer(53, down >> 32),  # Acct-Output-Gigawords
            integer(55, int(time.time())),  # Event-Timestamp
        ]
    )
    header = struct.pack("!BBH", 4, identifier, 20 + len(body))
    authenticator = hashlib.md5(header + bytes(16) + body + SECRET.encode()).digest()
    return header + authenticator + body


class Client(asyncio.DatagramProtocol):
    """Requests on one socket, at most 256 in flight (one per Identifier)."""

    def __init__(self) -> None:
        self.waiting: dict[int, tuple[float, asyncio.Future[float]]] = {}
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if len(data) >= 20 and data[0] == 5:  # Accounting-Response
            pending = self.waiting.pop(data[1], None)
            if pending and not pending[1].done():
                pending[1].set_result(time.perf_counter() - pending[0])

    async def send(self, identifier: int, packet: bytes, timeout: float) -> float | None:
        future = asyncio.get_running_loop().create_future()
        self.waiting[identifier] = (time.perf_counter(), future)
        self.transport.sendto(packet)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            self.waiting.pop(identifier, None)
            return None


async def drive(
    port: int, sessions: list[str], status: int, seconds: float | None, window: int
) -> tuple[list[float], int, dict[str, tuple[int, int]]]:
    """Send requests for ``sessions`` (once each, or round them for ``seconds``)."""
    loop = asyncio.get_running_loop()
    clients = []
    for _ in range((window + 255) // 256):
        _, client = await loop.create_datagram_endpoint(Client, remote_addr=("127.0.0.1", port))
        clients.append(client)
    latencies: list[float] = []
    lost = 0
    counters: dict[str, tuple[int, int]] = {}
    cursor = 0
    deadline = None if seconds is None else time.perf_counter() + seconds
    rng = random.Random(7)

    def next_session() -> str | None:
        nonlocal cursor
        if deadline is None:
            if cursor >= len(sessions):
                return None
        elif time.perf_counter() >= deadline:
            return None
        username = sessions[cursor % len(sessions)]
        cursor += 1
        return username

    async def worker(client: Client, identifier: int) -> None:
        nonlocal lost
        while (username := next_session()) is not None:
            up, down = counters.get(username, (0, 0))
            if status == INTERIM:
                # Steps of up to ~1.5 GB: counters cross 4 GiB within the run.
                up, down = up + rng.randrange(10**8), down + rng.randrange(15 * 10**8)
            packet = accounting_request(identifier, status, username, f"s-{username}", (up, down))
            latency = await client.send(identifier, packet, 2.0)
            if latency is None:
                lost += 1  # the update did not land: the NAS would resend it
                continue
            counters[username] = (up, down)
            latencies.append(latency)

    per_client = min(256, window)
    await asyncio.gather(
        *(
            worker(client, identifier)
            for number, client in enumerate(clients)
            for identifier in range(min(per_client, window - number * 256))
        )
    )
    for client in clients:
        client.transport.close()
    return latencies, lost, counters


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def free_ports() -> tuple[int, int]:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = tuple(sock.getsockname()[1] for sock in sockets)
    for sock in sockets:
        sock.close()
    return ports  # type: ignore[return-value]


def start_freeradius(directory: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    from django.db import connection

    from ispbills.radius.server import RadiusOptions, default_run_as, find_freeradius, write_config

    binary = find_freeradius()
    if binary is None:
        raise SystemExit("FreeRADIUS is not installed (apt-get install freeradius ...).")
    auth_port, acct_port = free_ports()
    database = dict(connection.settings_dict)
    options = RadiusOptions(
        secret=SECRET,
        auth_port=auth_port,
        acct_port=acct_port,
        reject_delay=0,
        run_as=default_run_as(database),
        log_destination="stdout",
    )
    out = write_config(directory / "raddb", database, options)
    log = directory / "freeradius.out"
    with log.open("wb") as stream:
        process = subprocess.Popen(
            [binary, "-f", "-l", "stdout", "-d", str(out)],
            stdout=stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, acct_port, log


def wait_until_answering(port: int, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        probe = accounting_request(1, STOP, "bench-probe", "probe")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.3)
            sock.sendto(probe, ("127.0.0.1", port))
            try:
                if sock.recv(4096)[0] == 5:
                    return
            except TimeoutError:
                continue
    raise SystemExit(f"FreeRADIUS did not answer:\n{log.read_text(errors='replace')[-3000:]}")


def rollups_running(stop: threading.Event, done: list[int]) -> None:
    from django.db import connection

    from ispbills.radius.accounting import rollup_usage

    try:
        while not stop.is_set():
            rollup_usage()
            done.append(1)
    finally:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--window", type=int, default=512, help="requests in flight")
    args = parser.parse_args()

    return on_database(lambda: run(args))


def run(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from radius_sync import bench_isp, ensure_customers

    from ispbills.radius.accounting import rollup_usage

    call_command("migrate", verbosity=0)
    tenant = bench_isp()
    ensure_customers(tenant, args.sessions)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, username FROM customers_customer WHERE tenant_id = %s "
            "AND status <> 'deleted' ORDER BY id LIMIT %s",
            [tenant.pk, args.sessions],
        )
        customers = cursor.fetchall()
        cursor.execute("DELETE FROM radacct WHERE nasipaddress = %s", [NAS_IP])
        cursor.execute(
            "DELETE FROM radius_usage_daily WHERE customer_id = ANY(%s)",
            [[pk for pk, _ in customers]],
        )
    usernames = [username for _, username in customers]
    directory = Path(tempfile.mkdtemp(prefix="ispbills-bench-acct-"))
    os.chmod(directory, 0o711)
    process, port, log = start_freeradius(directory)
    try:
        wait_until_answering(port, log)
        started = time.perf_counter()
        latencies, lost, _ = asyncio.run(drive(port, usernames, START, None, args.window))
        print(
            f"start: {len(latencies):,} sessions opened in {time.perf_counter() - started:.1f} s "
            f"({lost} lost)"
        )
        rollup_usage()  # count the starts

        stop, rollups = threading.Event(), []
        roller = threading.Thread(target=rollups_running, args=(stop, rollups))
        roller.start()
        cpu_before = resource.getrusage(resource.RUSAGE_SELF).ru_utime
        started = time.perf_counter()
        latencies, lost, counters = asyncio.run(
            drive(port, usernames, INTERIM, args.seconds, args.window)
        )
        elapsed = time.perf_counter() - started
        generator_cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu_before
        stop.set()
        roller.join()

        rate = len(latencies) / elapsed
        print(
            f"interim: {len(latencies):,} updates in {elapsed:.1f} s = {rate:,.0f}/s, "
            f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, {lost} unanswered; "
            f"{len(rollups)} rollups ran meanwhile; load generator CPU {generator_cpu:.1f} s"
        )
        print(
            f"target: >= {TARGET_PER_SECOND:,}/s -> "
            f"{'met' if rate >= TARGET_PER_SECOND else 'MISSED'} "
            f"(ratio {rate / TARGET_PER_SECOND:.2f})"
        )

        rollup_usage()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.username, sum(u.upload), sum(u.download) FROM radius_usage_daily u "
                "JOIN customers_customer c ON c.id = u.customer_id "
                "WHERE u.customer_id = ANY(%s) GROUP BY c.username",
                [[pk for pk, _ in customers]],
            )
            counted = {name: (int(up), int(down)) for name, up, down in cursor.fetchall()}
        wrong = [name for name, sent in counters.items() if counted.get(name) != sent]
        print(
            f"usage check: {len(counters):,} sessions, "
            + (f"{len(wrong)} WRONG (e.g. {wrong[:3]})" if wrong else "every total exact")
        )
        return 0 if rate >= TARGET_PER_SECOND and not wrong else 1
    finally:
        os.killpg(process.pid, 15)
        process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
