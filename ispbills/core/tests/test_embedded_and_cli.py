"""The embedded PostgreSQL and `ispbills run`: up with demo data, down with nothing left."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from ispbills.core.embedded_db import EmbeddedPostgres, server_settings

pytestmark = pytest.mark.smoke
ROOT = Path(__file__).resolve().parents[3]


def test_embedded_server_inits_starts_and_stops(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "data")

    assert server.start() is True
    try:
        assert server.is_running()
        assert (server.socket_dir / ".s.PGSQL.5432").exists()
        assert server._psql("SELECT datname FROM pg_database WHERE datname = 'ispbills'") == (
            "ispbills"
        )
        wanted = server_settings()
        assert server._psql("SHOW shared_buffers") == wanted["shared_buffers"]
        assert server._psql("SHOW max_wal_size") == "8GB"
        assert server._psql("SHOW checkpoint_timeout") == "15min"
        assert server._psql("SHOW wal_compression") == "pglz"
        assert server.start() is False  # already running: reused, not restarted
    finally:
        server.stop()
    assert not server.is_running()


@pytest.mark.parametrize(
    ("memory_gb", "buffers", "cache"),
    [
        (0.25, "128MB", "128MB"),
        (4, "1024MB", "2048MB"),
        (24, "6144MB", "12288MB"),
        (64, "8192MB", "32768MB"),
    ],
)
def test_server_memory_settings_follow_the_machine(
    memory_gb: float, buffers: str, cache: str
) -> None:
    settings = server_settings(int(memory_gb * 1024**3))

    assert (settings["shared_buffers"], settings["effective_cache_size"]) == (buffers, cache)


def test_socket_dir_moves_to_tmp_when_the_path_is_too_long(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 90)
    assert EmbeddedPostgres(deep).socket_dir != deep / "pgdata"
    assert len(str(EmbeddedPostgres(deep).socket_dir / ".s.PGSQL.5432")) <= 100


def _radius_of(tmp_path: Path) -> list[psutil.Process]:
    """FreeRADIUS processes serving the configuration under this data dir."""
    return [
        p
        for p in psutil.process_iter(["name", "cmdline"])
        if p.info["name"] in {"freeradius", "radiusd"}
        and str(tmp_path) in " ".join(p.info["cmdline"] or [])
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_brings_up_the_panel_with_demo_logins_and_leaves_nothing_behind(tmp_path: Path) -> None:
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env |= {
        "ISPBILLS_DATA_DIR": str(tmp_path / "var"),
        "PYTHONUNBUFFERED": "1",
        "ISPBILLS_RADIUS_AUTH_PORT": str(_free_port()),
        "ISPBILLS_RADIUS_ACCT_PORT": str(_free_port()),
    }
    with_radius = shutil.which("freeradius") is not None
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ispbills.cli",
            "run",
            "--port",
            str(port),
            "--password",
            "Demo-pass-2026",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline() if process.stdout else ""
            output.append(line)
            if "Press Ctrl-C" in line or process.poll() is not None:
                break
        banner = "".join(output)
        assert f"running at http://127.0.0.1:{port}/" in banner, banner
        assert re.search(r"admin\s+Group admin", banner)
        assert "password for all: Demo-pass-2026" in banner
        if with_radius:
            assert f"ports {env['ISPBILLS_RADIUS_AUTH_PORT']}/" in banner
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not _radius_of(tmp_path):
                time.sleep(0.2)
            assert _radius_of(tmp_path), "FreeRADIUS should run beside the panel"
        children = psutil.Process(process.pid).children(recursive=True)
        postgres = [
            p
            for p in psutil.process_iter(["cmdline"])
            if str(tmp_path) in " ".join(p.info["cmdline"] or [])
        ]
        assert postgres, "the embedded PostgreSQL should be running"

        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        for _ in range(50):
            try:
                page = client.get("/login/")
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert page.status_code == 200
        token = client.cookies["csrftoken"]
        login = client.post(
            "/login/",
            data={"username": "noc", "password": "Demo-pass-2026", "csrfmiddlewaretoken": token},
        )
        assert login.status_code == 302
        dashboard = client.get("/")
        assert "Background jobs" in dashboard.text
        assert "Audit log" not in dashboard.text
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(60)

    gone = [p for p in [*children, *postgres] if p.is_running() and p.status() != "zombie"]
    assert gone == []
    assert _radius_of(tmp_path) == []
    assert "Embedded PostgreSQL stopped." in (process.stdout.read() if process.stdout else "")
