"""The ``ispbills`` command: run the whole stack, or any single part, or any manage.py command.

ispbills run                 migrate, seed the demo if empty, start web + worker (+ scheduler),
                             the fake payment gateways, and FreeRADIUS when it is installed
ispbills web                 the web server (gunicorn)
ispbills worker              the job worker; it also runs the periodic scheduler
ispbills demo                seed the demo ISP (see --help)
ispbills createadmin         create a platform super admin or an ISP's first group admin
ispbills token create USER   print a new API token once
ispbills db start|stop|status   the embedded PostgreSQL (when DATABASE_URL is unset)
ispbills radius config|serve    write the FreeRADIUS configuration / run FreeRADIUS
ispbills <command>           any Django management command (migrate, shell, …)
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ispbills.core.embedded_db import EmbeddedPostgres

BASE_DIR = Path(__file__).resolve().parent.parent


def _data_dir() -> Path:
    return Path(os.environ.get("ISPBILLS_DATA_DIR", str(BASE_DIR / "var"))).resolve()


def _embedded() -> "EmbeddedPostgres | None":
    if os.environ.get("DATABASE_URL"):
        return None
    from ispbills.core.embedded_db import EmbeddedPostgres

    return EmbeddedPostgres(_data_dir())


def _django(argv: Sequence[str]) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["ispbills", *argv])
    return 0


def _with_database(argv: Sequence[str]) -> int:
    """Run a manage command; start the embedded server for it and stop it after if we did."""
    server = _embedded()
    started = server.start() if server else False
    try:
        return _django(argv)
    finally:
        if started and server:
            server.stop()


def _print_banner(url: str, credentials: list[str]) -> None:
    line = "─" * 64
    print(f"\n{line}\n  ispbills is running at {url}\n")
    for row in credentials:
        print(f"  {row}")
    print(f"\n  Press Ctrl-C to stop everything.\n{line}\n", flush=True)


def run(argv: Sequence[str]) -> int:
    """Everything for a local panel: database, migrations, demo, web, worker, scheduler."""
    import argparse

    parser = argparse.ArgumentParser(prog="ispbills run")
    parser.add_argument("--host", default=os.environ.get("ISPBILLS_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("ISPBILLS_PORT", "8000")))
    parser.add_argument("--password", help="password for the demo logins (else generated)")
    parser.add_argument("--no-demo", action="store_true", help="do not seed the demo ISP")
    parser.add_argument("--no-radius", action="store_true", help="do not start FreeRADIUS")
    args = parser.parse_args(argv)

    server = _embedded()
    started = False
    children: list[subprocess.Popen[bytes]] = []
    radius: tuple[subprocess.Popen[bytes], str] | None = None

    def stop(*_args: object) -> None:
        # Stop once: a second Ctrl-C or SIGTERM must not cut the clean shutdown short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    # Both, explicitly: a shell that starts us in the background leaves SIGINT ignored.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        if server:
            print(f"Starting the embedded PostgreSQL in {server.pgdata} …", flush=True)
            started = server.start()
        fakes_url = os.environ.get(
            "ISPBILLS_FAKE_GATEWAYS_URL", f"http://127.0.0.1:{args.port + 10}"
        )
        env = {
            **os.environ,
            "ISPBILLS_SITE_URL": f"http://{args.host}:{args.port}",
            "ISPBILLS_FAKE_GATEWAYS_URL": fakes_url,
        }
        exe = [sys.executable, "-m", "ispbills.cli"]
        subprocess.run([*exe, "migrate", "--no-input", "-v", "0"], check=True, env=env)
        subprocess.run([*exe, "collectstatic", "--no-input", "-v", "0"], check=True, env=env)
        demo_args = ["demo", "--if-empty", "--print-logins"]
        if args.password:
            demo_args += ["--password", args.password]
        credentials = []
        if not args.no_demo:
            output = subprocess.run(
                [*exe, *demo_args], check=True, env=env, capture_output=True, text=True
            ).stdout
            credentials = [line for line in output.splitlines() if line.strip()]
        children.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    "--bind",
                    f"{args.host}:{args.port}",
                    "--workers",
                    "2",
                    "--threads",
                    "4",
                    "--log-level",
                    "warning",
                ],
                env=env,
                start_new_session=True,
            )
        )
        children.append(subprocess.Popen([*exe, "worker"], env=env, start_new_session=True))
        # The demo's payment gateways are fakes of the real providers, served offline.
        children.append(subprocess.Popen([*exe, "fake_gateways"], env=env, start_new_session=True))
        radius = None if args.no_radius else _start_radius(exe, env)
        if radius is not None:
            credentials.append(radius[1])
        _print_banner(f"http://{args.host}:{args.port}/", credentials)
        radius_warned = False
        while all(child.poll() is None for child in children):
            if radius is not None and radius[0].poll() is not None and not radius_warned:
                radius_warned = True  # the panel stays up; FreeRADIUS is optional here
                print(f"FreeRADIUS stopped; see {_data_dir() / 'radius.log'}", flush=True)
            time.sleep(0.5)
        print("A process stopped; shutting down.", flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nStopping …", flush=True)
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"Start-up step failed: {' '.join(map(str, exc.cmd))}", file=sys.stderr)
        if exc.stderr:
            print(exc.stderr, file=sys.stderr)
        return 1
    finally:
        _stop_children(children + ([radius[0]] if radius is not None else []))
        if started and server:
            server.stop()
            print("Embedded PostgreSQL stopped.", flush=True)


def _start_radius(
    exe: list[str], env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str] | None:
    """FreeRADIUS on this database when it is installed (ports from ISPBILLS_RADIUS_*_PORT)."""
    if not (shutil.which("freeradius") or shutil.which("radiusd")):
        return None
    auth = os.environ.get("ISPBILLS_RADIUS_AUTH_PORT", "1812")
    acct = os.environ.get("ISPBILLS_RADIUS_ACCT_PORT", "1813")
    log = (_data_dir() / "radius.log").open("ab")
    process = subprocess.Popen(
        [*exe, "radius", "serve", "--auth-port", auth, "--acct-port", acct],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return (
        process,
        f"FreeRADIUS: 127.0.0.1 ports {auth}/{acct}, log in {_data_dir() / 'radius.log'}",
    )


def _stop_children(children: list["subprocess.Popen[bytes]"]) -> None:
    for child in children:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def web(argv: Sequence[str]) -> int:
    """The web server alone (production: put it behind nginx; see docs/deploy.md)."""
    bind = os.environ.get("ISPBILLS_BIND", "127.0.0.1:8000")
    workers = os.environ.get("ISPBILLS_WEB_WORKERS", "2")
    server = _embedded()
    started = server.start() if server else False
    try:
        return subprocess.call(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                bind,
                "--workers",
                workers,
                *argv,
            ]
        )
    except KeyboardInterrupt:
        return 0
    finally:
        if started and server:
            server.stop()


def db(argv: Sequence[str]) -> int:
    server = _embedded()
    if server is None:
        print("DATABASE_URL is set: the database is external.", file=sys.stderr)
        return 2
    action = argv[0] if argv else "status"
    if action == "start":
        server.start()
        print(f"running; socket in {server.socket_dir}")
    elif action == "stop":
        server.stop()
        print("stopped")
    elif action == "status":
        print("running" if server.is_running() else "stopped")
    else:
        print("usage: ispbills db start|stop|status", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(BASE_DIR))
    command = args[0] if args else "help"
    if command in {"help", "-h", "--help"}:
        print(__doc__)
        return 0
    if command == "run":
        return run(args[1:])
    if command == "web":
        return web(args[1:])
    if command == "db":
        return db(args[1:])
    if command == "worker":
        return _with_database(["procrastinate", "worker", *args[1:]])
    if command == "manage":
        args = args[1:]
    return _with_database(args)


if __name__ == "__main__":
    sys.exit(main())
