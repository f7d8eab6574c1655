"""The generated FreeRADIUS configuration and the `ispbills radius config` command."""

import shutil
import stat
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ispbills.core.testing.plugin import require_binary
from ispbills.radius.server import (
    RadiusConfigError,
    RadiusOptions,
    conninfo,
    quote,
    radius_secret,
    write_config,
)
from ispbills.radius.services import expiration_value
from ispbills.radius.tests.conftest import free_udp_ports

SECRET = "0123456789abcdef-secret"
TCP_DATABASE = {
    "NAME": "isp's db",
    "HOST": "db.example.net",
    "PORT": "5433",
    "USER": "radius",
    "PASSWORD": "pa:ss\\word${x}",
    "OPTIONS": {"sslmode": "require", "server_side_binding": True},
}


def test_builds_a_libpq_connection_string_without_the_password():
    text = conninfo(TCP_DATABASE, Path("/etc/raddb/pgpass"))

    assert text == (
        "dbname='isp\\'s db' host='db.example.net' port='5433' user='radius' "
        "passfile='/etc/raddb/pgpass' sslmode='require' connect_timeout='5'"
    )


def test_keeps_the_database_password_in_a_private_pgpass_file(tmp_path):
    out = write_config(tmp_path / "raddb", TCP_DATABASE, RadiusOptions(secret=SECRET))

    pgpass = out / "pgpass"
    assert pgpass.read_text() == "*:*:*:*:pa\\:ss\\\\word${x}\n"
    assert stat.S_IMODE(pgpass.stat().st_mode) == 0o600
    sql = (out / "mods-enabled" / "sql").read_text()
    assert f"passfile='{pgpass}'" in sql
    assert "pa:ss" not in sql


def test_writes_every_template_without_a_placeholder_left(tmp_path):
    out = write_config(
        tmp_path / "raddb",
        {"NAME": "ispbills", "HOST": "/run/pg", "USER": "postgres"},
        RadiusOptions(secret=SECRET, auth_port=11812, acct_port=11813, reject_delay=2),
    )

    files = sorted(str(path.relative_to(out)) for path in out.rglob("*") if path.is_file())
    assert files == [
        "clients.conf",
        "mods-config/attr_filter/access_reject",
        "mods-config/sql/queries.conf",
        "mods-enabled/always",
        "mods-enabled/attr_filter",
        "mods-enabled/chap",
        "mods-enabled/expiration",
        "mods-enabled/expr",
        "mods-enabled/mschap",
        "mods-enabled/pap",
        "mods-enabled/sql",
        "policy.d/ispbills",
        "radiusd.conf",
        "sites-enabled/dynamic_clients",
        "sites-enabled/ispbills",
    ]
    assert not [path for path in out.rglob("*") if path.is_file() and "@@" in path.read_text()]
    site = (out / "sites-enabled" / "ispbills").read_text()
    assert site.count("ipaddr = 127.0.0.1") == 2
    assert "port = 11812" in site
    assert "port = 11813" in site
    assert "\tsql\n" in site
    assert "-sql" not in site
    assert "reject_delay = 2" in (out / "radiusd.conf").read_text()
    clients = (out / "clients.conf").read_text()
    assert f'secret = "{SECRET}"' in clients
    assert "require_message_authenticator = yes" in clients
    assert clients.count("dynamic_clients = dynamic_clients") == 2
    assert clients.count("lifetime = 60") == 2
    assert (
        "radius_db = \"dbname='ispbills' host='/run/pg' user='postgres'"
        in (out / "mods-enabled" / "sql").read_text()
    )
    assert stat.S_IMODE((out / "clients.conf").stat().st_mode) == 0o640


def test_never_stores_the_attempted_password_in_radpostauth(tmp_path):
    out = write_config(tmp_path / "raddb", {"NAME": "ispbills"}, RadiusOptions(secret=SECRET))

    queries = (out / "mods-config" / "sql" / "queries.conf").read_text()
    post_auth = queries.split("\npost-auth {", 1)[1]
    assert "User-Password" not in post_auth
    assert "Chap-Password" not in post_auth
    assert "VALUES ('%{User-Name}', NULL," in post_auth


def test_authorizes_with_two_prepared_statements_and_no_group_queries(tmp_path):
    out = write_config(tmp_path / "raddb", {"NAME": "ispbills"}, RadiusOptions(secret=SECRET))

    sql = (out / "mods-enabled" / "sql").read_text()
    queries = (out / "mods-config" / "sql" / "queries.conf").read_text()
    assert "read_groups = no" in sql
    assert "PREPARE ispbills_check (text) AS ${check_statement};" in queries
    assert "PREPARE ispbills_reply (text) AS ${reply_statement};" in queries
    assert "authorize_check_query = \"EXECUTE ispbills_check('%{SQL-User-Name}')\"" in queries
    assert "authorize_reply_query = \"EXECUTE ispbills_reply('%{SQL-User-Name}')\"" in queries
    assert "authorize_group_check_query" not in queries
    assert "authorize_group_reply_query" not in queries


def test_listens_on_an_ipv6_address(tmp_path):
    out = write_config(
        tmp_path / "raddb", {"NAME": "ispbills"}, RadiusOptions(secret=SECRET, listen="::1")
    )

    assert (out / "sites-enabled" / "ispbills").read_text().count("ipv6addr = ::1") == 2


def test_refuses_options_freeradius_cannot_use(tmp_path):
    options = RadiusOptions(
        secret="short",
        auth_port=1812,
        acct_port=1812,
        listen="eth0",
        reject_delay=9,
        client_lifetime=0,
    )

    with pytest.raises(RadiusConfigError) as error:
        write_config(tmp_path / "raddb", {"NAME": "ispbills"}, options)

    assert error.value.fields == {
        "acct_port": ["Authentication and accounting need different ports."],
        "client_lifetime": ["Keep dynamic clients for 1 to 86,400 seconds."],
        "listen": ["'eth0' is not an IP address (or * for all)."],
        "reject_delay": ["FreeRADIUS accepts a reject delay of 0 to 5 seconds."],
        "secret": ["The RADIUS secret needs at least 16 characters."],
    }
    assert not (tmp_path / "raddb").exists()


def test_quotes_values_for_freeradius_and_refuses_expansions():
    assert quote('a"b\\c') == '"a\\"b\\\\c"'
    with pytest.raises(RadiusConfigError):
        quote("abc${confdir}")


def test_generates_the_radius_secret_of_a_local_install_once(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("ISPBILLS_RADIUS_SECRET", raising=False)
    settings.EMBEDDED_DATABASE = True
    settings.DATA_DIR = tmp_path

    first = radius_secret()
    second = radius_secret()

    assert first == second
    assert len(first) >= 40
    assert stat.S_IMODE((tmp_path / "radius_secret").stat().st_mode) == 0o600


def test_requires_the_radius_secret_with_an_external_database(settings, monkeypatch):
    monkeypatch.delenv("ISPBILLS_RADIUS_SECRET", raising=False)
    settings.EMBEDDED_DATABASE = False

    with pytest.raises(RadiusConfigError, match="ISPBILLS_RADIUS_SECRET is not set"):
        radius_secret()


def test_writes_expiration_as_seconds_since_the_epoch():
    assert expiration_value(datetime(2026, 1, 1, tzinfo=UTC)) == "1767225600"
    with pytest.raises(ValueError, match="aware datetime"):
        expiration_value(datetime(2026, 1, 1))  # noqa: DTZ001


def test_config_command_refuses_the_same_port_twice(tmp_path, monkeypatch):
    monkeypatch.setenv("ISPBILLS_RADIUS_SECRET", SECRET)

    with pytest.raises(CommandError, match="different ports"):
        call_command(
            "radius", "config", "--out", str(tmp_path / "x"), "--auth-port", "1", "--acct-port", "1"
        )


@pytest.fixture
def shared_dir():
    """A directory FreeRADIUS can reach after switching users (pytest's tmp_path is private)."""
    path = Path(tempfile.mkdtemp(prefix="ispbills-radius-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.django_db
def test_config_command_writes_a_configuration_freeradius_accepts(shared_dir, monkeypatch, capsys):
    binary = require_binary("freeradius", "freeradius")
    monkeypatch.setenv("ISPBILLS_RADIUS_SECRET", SECRET)
    out = shared_dir / "raddb"
    auth_port, acct_port = (str(port) for port in free_udp_ports(2))

    call_command(
        "radius", "config", "--out", str(out), "--auth-port", auth_port, "--acct-port", acct_port
    )

    assert capsys.readouterr().out == f"Wrote {out}. Run: freeradius -f -d {out}\n"
    check = subprocess.run(
        [binary, "-C", "-l", "stdout", "-d", str(out)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
