"""Settings readers and database URLs fail at start with a clear message."""

from pathlib import Path

import pytest

from config.database import from_url
from config.env import ConfigError, env_bool, env_int, env_list, env_str, local_secret

pytestmark = pytest.mark.smoke


def test_env_readers_parse_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a, b,,c ")
    assert env_bool("X_BOOL") is True
    assert env_int("X_INT", 1) == 42
    assert env_list("X_LIST") == ["a", "b", "c"]
    assert env_str("X_MISSING", "d") == "d"
    assert env_bool("X_MISSING", True) is True


@pytest.mark.parametrize(
    ("name", "value", "reader"),
    [
        ("X_BOOL", "maybe", lambda: env_bool("X_BOOL")),
        ("X_INT", "4two", lambda: env_int("X_INT", 0)),
    ],
)
def test_env_readers_refuse_bad_values(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, reader: object
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        reader()  # type: ignore[operator]


def test_file_variant_reads_secrets_from_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("X_KEY_FILE", str(secret))
    assert env_str("X_KEY") == "s3cret"
    monkeypatch.setenv("X_KEY_FILE", str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match="X_KEY_FILE"):
        env_str("X_KEY")


def test_local_secret_is_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    first = local_secret(path)
    assert len(first) > 40
    assert path.stat().st_mode & 0o777 == 0o600
    assert local_secret(path) == first


def test_database_url_is_parsed_with_options() -> None:
    config = from_url("postgresql://app:p%40ss@db.example:6432/isp?sslmode=require")
    assert config["NAME"] == "isp"
    assert config["USER"] == "app"
    assert config["PASSWORD"] == "p@ss"
    assert config["HOST"] == "db.example"
    assert config["PORT"] == "6432"
    assert config["OPTIONS"] == {"sslmode": "require", "options": "-c jit=off"}


def test_session_options_of_the_url_are_kept_after_ours() -> None:
    config = from_url("postgresql://app@db/isp?options=-c%20statement_timeout%3D5000")

    assert config["OPTIONS"]["options"] == "-c jit=off -c statement_timeout=5000"


@pytest.mark.django_db
def test_connections_run_without_jit() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_database_url_with_a_socket_host() -> None:
    assert from_url("postgresql://postgres@/isp?host=/run/postgresql")["HOST"] == "/run/postgresql"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/isp", "PostgreSQL only"),
        ("postgresql://localhost:5432/", "names no database"),
        ("postgresql://localhost:port/isp", "port"),
    ],
)
def test_database_url_errors_are_clear(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_url(url)
