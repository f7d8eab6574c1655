"""The FreeRADIUS configuration for this database, and running FreeRADIUS on it.

The configuration is rendered from the templates in ``ispbills/radius/freeradius/`` into one
self-contained directory, runnable as ``freeradius -f -d DIR``. Placeholders in the templates
are written ``@@NAME@@``; FreeRADIUS's own ``${...}`` and ``%{...}`` stay as they are.
"""

import grp
import ipaddress
import os
import pwd
import re
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ispbills.core.errors import DomainError

TEMPLATE_DIR = Path(__file__).resolve().parent / "freeradius"
FREERADIUS_USER = "freerad"
LOG_DESTINATIONS = ("files", "stdout", "stderr", "syslog")
_LIBDIRS = (
    "/usr/lib/freeradius",
    "/usr/lib64/freeradius",
    "/usr/lib/x86_64-linux-gnu/freeradius",
    "/usr/lib/aarch64-linux-gnu/freeradius",
    "/usr/local/lib/freeradius",
)
_PLACEHOLDER = re.compile(r"@@[A-Z_]+@@")
# Django connection options that are not libpq parameters.
_DJANGO_ONLY_OPTIONS = {
    "isolation_level",
    "server_side_binding",
    "assume_role",
    "pool",
    "cursor_factory",
    "prepare_threshold",
}


class RadiusConfigError(DomainError):
    """The FreeRADIUS configuration cannot be written as asked."""


@dataclass(frozen=True)
class RadiusOptions:
    """What the generated configuration listens on and how it behaves."""

    secret: str
    auth_port: int = 1812
    acct_port: int = 1813
    listen: str = "127.0.0.1"
    reject_delay: int = 1
    run_as: str | None = None
    log_destination: str = "files"
    # Seconds a router added to the nas table after start stays defined before it is looked
    # up again (so a changed secret or a deleted row takes effect within it).
    client_lifetime: int = 60

    def check(self) -> None:
        errors: dict[str, list[str]] = {}
        for name in ("auth_port", "acct_port"):
            port = getattr(self, name)
            if not 1 <= port <= 65535:
                errors[name] = [f"{port} is not a UDP port (1-65535)."]
        if self.auth_port == self.acct_port:
            errors["acct_port"] = ["Authentication and accounting need different ports."]
        if self.listen != "*":
            try:
                ipaddress.ip_address(self.listen)
            except ValueError:
                errors["listen"] = [f"{self.listen!r} is not an IP address (or * for all)."]
        if not 0 <= self.reject_delay <= 5:
            errors["reject_delay"] = ["FreeRADIUS accepts a reject delay of 0 to 5 seconds."]
        if not 1 <= self.client_lifetime <= 86400:
            errors["client_lifetime"] = ["Keep dynamic clients for 1 to 86,400 seconds."]
        if self.log_destination not in LOG_DESTINATIONS:
            errors["log_destination"] = [f"Choose one of {', '.join(LOG_DESTINATIONS)}."]
        if len(self.secret) < 16:
            errors["secret"] = ["The RADIUS secret needs at least 16 characters."]
        if errors:
            message = " ".join(f"{key}: {' '.join(value)}" for key, value in errors.items())
            raise RadiusConfigError(message, fields=errors)


def quote(value: str) -> str:
    """A FreeRADIUS double-quoted string holding ``value`` literally."""
    if "${" in value or any(ord(char) < 32 for char in value):
        # FreeRADIUS expands ${...} inside double quotes; control characters end lines.
        raise RadiusConfigError(
            "A value in the FreeRADIUS configuration may not contain '${' or control "
            f"characters: {value[:3]}…"
        )
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _libpq_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def conninfo(database: Mapping[str, Any], passfile: Path | None = None) -> str:
    """A libpq connection string for a Django ``DATABASES`` entry (TCP or unix socket).

    The password is not part of it (FreeRADIUS logs the string when it connects): it goes
    into ``passfile``, a pgpass file the string points to.
    """
    params: dict[str, str] = {"dbname": str(database["NAME"])}
    for key, name in (("HOST", "host"), ("PORT", "port"), ("USER", "user")):
        if database.get(key):
            params[name] = str(database[key])
    if passfile is not None:
        params["passfile"] = str(passfile)
    for key, value in (database.get("OPTIONS") or {}).items():
        if key not in _DJANGO_ONLY_OPTIONS and isinstance(value, str | int):
            params[key] = str(value)
    params.setdefault("connect_timeout", "5")
    return " ".join(f"{key}={_libpq_value(value)}" for key, value in params.items())


def pgpass_line(password: str) -> str:
    """A pgpass entry giving ``password`` to any connection made with the file."""
    return "*:*:*:*:" + password.replace("\\", "\\\\").replace(":", "\\:") + "\n"


def find_libdir() -> str:
    """Where the installed FreeRADIUS keeps its modules (Debian: /usr/lib/freeradius)."""
    for candidate in _LIBDIRS:
        if (Path(candidate) / "rlm_sql_postgresql.so").exists():
            return candidate
    return _LIBDIRS[0]


def _can_traverse(path: Path, user: pwd.struct_passwd) -> bool:
    """Whether ``user`` may reach entries of ``path`` (search permission on every parent)."""
    groups = {user.pw_gid} | {g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem}
    for directory in [path, *path.parents]:
        try:
            info = directory.stat()
        except OSError:
            return False
        if info.st_uid == user.pw_uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid in groups:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return False
    return True


def default_run_as(database: Mapping[str, Any]) -> str | None:
    """The user FreeRADIUS switches to after start, or None to stay who started it.

    Only root can switch. It switches to Debian's ``freerad`` user, unless the database is
    reached through a unix socket that user cannot reach (the embedded cluster keeps its
    socket inside its private data directory): then to the owner of the socket directory.
    """
    if os.geteuid() != 0:
        return None
    try:
        freerad = pwd.getpwnam(FREERADIUS_USER)
    except KeyError:
        freerad = None
    host = str(database.get("HOST") or "")
    if host.startswith("/"):
        socket_dir = Path(host)
        if freerad is not None and _can_traverse(socket_dir, freerad):
            return freerad.pw_name
        owner = pwd.getpwuid(socket_dir.stat().st_uid)
        return None if owner.pw_uid == 0 else owner.pw_name
    return freerad.pw_name if freerad is not None else None


def _listen_line(listen: str) -> str:
    if listen == "*":
        return "ipaddr = *"
    address = ipaddress.ip_address(listen)
    return f"ipv6addr = {address}" if address.version == 6 else f"ipaddr = {address}"


def _user_group_lines(run_as: str | None) -> str:
    if not run_as:
        return ""
    entry = pwd.getpwnam(run_as)
    group = grp.getgrgid(entry.pw_gid).gr_name
    return f"\tuser = {run_as}\n\tgroup = {group}\n"


def render(text: str, values: Mapping[str, str]) -> str:
    """Replace ``@@NAME@@`` placeholders; an unknown one is a bug in the templates."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(0).strip("@")
        if name not in values:
            raise KeyError(f"no value for the template placeholder {match.group(0)}")
        return values[name]

    return _PLACEHOLDER.sub(replace, text)


def write_config(out_dir: Path, database: Mapping[str, Any], options: RadiusOptions) -> Path:
    """Write the FreeRADIUS configuration for ``database`` into ``out_dir``; return its path.

    Files FreeRADIUS would refuse (world-writable) or that hold secrets are written 0640,
    directories 0750; when FreeRADIUS will switch users, they belong to that user's group.
    """
    options.check()
    out_dir = Path(out_dir).resolve()
    run_as = pwd.getpwnam(options.run_as) if options.run_as and os.geteuid() == 0 else None
    if run_as is not None and not _can_traverse(out_dir.parent, run_as):
        raise RadiusConfigError(
            f"FreeRADIUS switches to the user {run_as.pw_name}, which cannot reach "
            f"{out_dir.parent}. Write the configuration where that user can read it."
        )
    password = str(database.get("PASSWORD") or "")
    passfile = out_dir / "pgpass" if password else None
    values = {
        "RADDB": str(out_dir),
        "LIBDIR": find_libdir(),
        "LOG_DESTINATION": options.log_destination,
        "USER_GROUP": _user_group_lines(options.run_as),
        "REJECT_DELAY": str(options.reject_delay),
        "SECRET": quote(options.secret),
        "RADIUS_DB": quote(conninfo(database, passfile)),
        "LISTEN": _listen_line(options.listen),
        "AUTH_PORT": str(options.auth_port),
        "ACCT_PORT": str(options.acct_port),
        "CLIENT_LIFETIME": str(options.client_lifetime),
    }
    if out_dir.exists():
        # Only our own layout is replaced; anything else in the directory stays.
        for name in ("mods-enabled", "mods-config", "policy.d", "sites-enabled"):
            shutil.rmtree(out_dir / name, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(out_dir, 0o750)
    written: list[Path] = [out_dir]
    for source in sorted(TEMPLATE_DIR.rglob("*")):
        target = out_dir / source.relative_to(TEMPLATE_DIR)
        if source.is_dir():
            target.mkdir(exist_ok=True)
            os.chmod(target, 0o750)
        else:
            target.write_text(render(source.read_text(), values))
            os.chmod(target, 0o640)
        written.append(target)
    for name in ("log", "run"):
        (out_dir / name).mkdir(exist_ok=True)
        os.chmod(out_dir / name, 0o750)
        written.append(out_dir / name)
    owned_by_server = {out_dir / "log", out_dir / "run"}
    if passfile is not None:
        # libpq ignores a pgpass file that its group or others may read.
        fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(pgpass_line(password))
        os.chmod(passfile, 0o600)
        written.append(passfile)
        owned_by_server.add(passfile)
    elif (out_dir / "pgpass").exists():
        (out_dir / "pgpass").unlink()
    if run_as is not None:
        for path in written:
            # The server reads its modules' files and writes its log and pid file after
            # switching users: it owns those, and reads the rest through its group.
            uid = run_as.pw_uid if path in owned_by_server else 0
            os.chown(path, uid, run_as.pw_gid)
    return out_dir


def radius_secret() -> str:
    """The secret of the local client: ISPBILLS_RADIUS_SECRET, or one kept in the data dir.

    A local install (embedded database) generates it on first use, like its secret key; with
    an external database it must be set.
    """
    from django.conf import settings

    from config.env import env_str, local_secret

    value = env_str("ISPBILLS_RADIUS_SECRET")
    if value:
        return value
    if settings.EMBEDDED_DATABASE:
        return local_secret(Path(settings.DATA_DIR) / "radius_secret")
    raise RadiusConfigError(
        "ISPBILLS_RADIUS_SECRET is not set. With an external database (DATABASE_URL) set it "
        "to a random string of 16 or more characters (or ISPBILLS_RADIUS_SECRET_FILE to a "
        "file holding one)."
    )


def find_freeradius() -> str | None:
    """The FreeRADIUS binary (Debian names it freeradius, other systems radiusd)."""
    return shutil.which("freeradius") or shutil.which("radiusd")


def missing_tables() -> list[str]:
    """The FreeRADIUS tables not yet created in the database (run migrate to create them)."""
    from django.db import connection

    from ispbills.radius import models

    wanted = [
        model._meta.db_table
        for model in (
            models.RadCheck,
            models.RadReply,
            models.RadGroupCheck,
            models.RadGroupReply,
            models.RadUserGroup,
            models.RadAcct,
            models.NasReload,
            models.RadPostAuth,
            models.Nas,
        )
    ]
    existing = set(connection.introspection.table_names())
    return [table for table in wanted if table not in existing]
