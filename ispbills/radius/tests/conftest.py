"""A real FreeRADIUS on the test database, and radclient to talk to it.

FreeRADIUS is a separate process with its own connections: tests that use it need
``@pytest.mark.django_db(transaction=True)`` so the rows they write are committed.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ispbills.core.testing.plugin import require_binary
from ispbills.radius.tests.fake_nas import FakeNas

SECRET = "test-only-radius-secret"


@dataclass
class Reply:
    """What radclient received: the packet type and the attributes, values unquoted."""

    code: str
    attributes: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        values = self.attributes.get(name)
        return values[0] if values else None


@dataclass
class FreeRadius:
    """A running FreeRADIUS: where it listens and with which secret."""

    auth_port: int
    acct_port: int
    secret: str
    config_dir: Path
    process: "subprocess.Popen[bytes]"
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def request(
        self,
        kind: str,
        attributes: Sequence[tuple[str, str]],
        *,
        message_authenticator: bool = True,
        timeout: float = 2.0,
    ) -> Reply | None:
        """Send one packet with radclient (``kind``: auth, acct or status); None: no reply."""
        port = self.acct_port if kind == "acct" else self.auth_port
        lines = [f"{name} = {value}" for name, value in attributes]
        if message_authenticator and kind != "acct":
            lines.append("Message-Authenticator = 0x00")
        server = f"127.0.0.1:{port}"
        result = subprocess.run(
            ["radclient", "-x", "-r", "1", "-t", str(timeout), server, kind, self.secret],
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            timeout=timeout * 3 + 5,
            check=False,
        )
        return parse_radclient(result.stdout)

    def auth(self, username: str, password: str, *, chap: bool = False) -> Reply | None:
        password_attribute = "CHAP-Password" if chap else "User-Password"
        return self.request(
            "auth", [("User-Name", quoted(username)), (password_attribute, quoted(password))]
        )


def quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_radclient(output: str) -> Reply | None:
    reply: Reply | None = None
    for line in output.splitlines():
        if line.startswith("Received "):
            reply = Reply(code=line.split()[1])
        elif reply is not None and line.startswith("\t") and " = " in line:
            name, value = line.strip().split(" = ", 1)
            reply.attributes.setdefault(name, []).append(value.strip('"'))
    return reply


def free_udp_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _stop(process: "subprocess.Popen[bytes]") -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="module")
def freeradius(django_db_setup: Any) -> Iterator[FreeRadius]:
    """FreeRADIUS from a freshly generated configuration, on the test database."""
    binary = require_binary("freeradius", "freeradius")
    require_binary("radclient", "freeradius-utils")
    from django.db import connection

    from ispbills.radius.server import RadiusOptions, default_run_as, write_config

    database = dict(connection.settings_dict)  # the test database, after django_db_setup
    auth_port, acct_port = free_udp_ports(2)
    # Outside pytest's private temporary tree: FreeRADIUS reads it after switching users.
    config_dir = Path(tempfile.mkdtemp(prefix="ispbills-radius-")) / "raddb"
    os.chmod(config_dir.parent, 0o711)
    options = RadiusOptions(
        secret=SECRET,
        auth_port=auth_port,
        acct_port=acct_port,
        reject_delay=0,
        run_as=default_run_as(database),
    )
    write_config(config_dir, database, options)
    log_path = config_dir.parent / "freeradius.out"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [binary, "-f", "-l", "stdout", "-d", str(config_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = FreeRadius(auth_port, acct_port, SECRET, config_dir, process, log_path)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                pytest.fail(f"FreeRADIUS exited with {process.returncode}:\n{server.log()}")
            if server.request("status", [], timeout=0.3) is not None:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"FreeRADIUS did not answer within 20 s:\n{server.log()}")
        yield server
    finally:
        _stop(process)
        shutil.rmtree(config_dir.parent, ignore_errors=True)


@pytest.fixture
def fake_nas() -> Iterator[Callable[..., FakeNas]]:
    """Start fake routers: ``fake_nas(mode="liar", accounting=...)``; stopped after the test.

    The secret defaults to the FreeRADIUS fixture's, so a fake NAS's accounting reaches it.
    """
    started: list[FakeNas] = []

    def start(secret: str = SECRET, **options: Any) -> FakeNas:
        nas = FakeNas(secret, **options).start()
        started.append(nas)
        return nas

    yield start
    for nas in started:
        nas.stop()
