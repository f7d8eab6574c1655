"""Database settings: an external PostgreSQL from DATABASE_URL, or the embedded one."""

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from config.env import ConfigError, env_int

# Every connection runs without PostgreSQL's JIT compiler. Its cost model takes the set-based
# statements of billing runs, suspensions and RADIUS provisioning for long analytical
# queries and compiles them for a second or more before running them in a fraction of that
# (docs/adr/0009-embedded-postgres-tuned.md).
SESSION_OPTIONS = "-c jit=off"


def _options(given: str | None) -> str:
    return f"{SESSION_OPTIONS} {given}" if given else SESSION_OPTIONS


def from_url(url: str) -> dict[str, Any]:
    """Django DATABASES entry for a ``postgresql://user:pass@host:port/name?opt=v`` URL."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ConfigError(
            f"DATABASE_URL must start with postgresql:// (ispbills runs on PostgreSQL only), "
            f"got {parts.scheme or 'no scheme'!r}"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ConfigError("DATABASE_URL names no database (postgresql://user@host:5432/NAME)")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    host = query.pop("host", None) or unquote(parts.hostname or "")
    query["options"] = _options(query.get("options"))
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("DATABASE_URL has a port that is not a number") from None
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(port or ""),
        "OPTIONS": query,
        "CONN_MAX_AGE": env_int("ISPBILLS_DB_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
    }


def embedded(data_dir: Path) -> dict[str, Any]:
    """Django DATABASES entry for the embedded server kept under ``data_dir``."""
    from ispbills.core.embedded_db import EmbeddedPostgres

    server = EmbeddedPostgres(data_dir)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "ispbills",
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(server.socket_dir),
        "PORT": "",
        "OPTIONS": {"options": SESSION_OPTIONS},
        "CONN_MAX_AGE": env_int("ISPBILLS_DB_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"NAME": "test_ispbills"},
    }
