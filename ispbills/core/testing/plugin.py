"""pytest plugin of the suite: database, service checks, the cast and its clients.

Without DATABASE_URL the suite runs on the embedded PostgreSQL (started here, stopped after).
Tests that need a system package call ``require_service()``: they skip with a reason on a
developer machine and fail when ISPBILLS_REQUIRE_SERVICES=1 (CI).
"""

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("ISPBILLS_SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault(
    "ISPBILLS_FIELD_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWZlcm5ldC1rZXktMzItYnl0ZXMhISE="
)
# Worker threads in tests close their connections after each job, so teardown can drop the DB.
os.environ.setdefault("ISPBILLS_DB_CONN_MAX_AGE", "0")

_started_server: Any = None


def pytest_configure(config: pytest.Config) -> None:
    global _started_server
    if os.environ.get("DATABASE_URL") or hasattr(config, "workerinput"):
        return
    from ispbills.core.embedded_db import EmbeddedPostgres

    data_dir = Path(os.environ.get("ISPBILLS_DATA_DIR", Path(__file__).parents[3] / "var"))
    server = EmbeddedPostgres(data_dir)
    if server.start():
        _started_server = server


def pytest_unconfigure(config: pytest.Config) -> None:
    if _started_server is not None:
        _started_server.stop()


def require_service(name: str, available: bool, how: str) -> None:
    """Skip (developer machine) or fail (CI) when a real service the test needs is missing."""
    if available:
        return
    message = f"{name} is not available: {how}"
    if os.environ.get("ISPBILLS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (ISPBILLS_REQUIRE_SERVICES=1 makes this a failure)")
    pytest.skip(message)


def require_binary(binary: str, package: str) -> str:
    path = shutil.which(binary)
    require_service(binary, path is not None, f"install the Debian package {package}")
    return str(path)


@pytest.fixture(autouse=True)
def _english(settings: Any) -> Any:
    """Every test starts in English: a request in Bangla must not leak into the next test."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    """Argon2 costs ~50 ms a hash; tests that check hashing opt back in."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def cast(db: Any) -> Any:
    """The fixed test cast: Acme (with its reseller tree and staff) and Globex."""
    from ispbills.core.testing.cast import build_cast

    return build_cast()


@pytest.fixture
def home(cast: Any) -> Any:
    """Acme's "Home 20" package (20/5 Mbit/s, ৳800); a test module may define its own."""
    from ispbills.catalog.services import save_package

    return save_package(
        actor=None,
        operator=cast.acme_root,
        name="Home 20",
        download_kbps=20000,
        upload_kbps=5000,
        price="800",
    )


@pytest.fixture
def register(cast: Any, home: Any) -> Any:
    """``register(**fields)``: a customer of Acme North on ``home``, numbered user100, …"""
    from ispbills.customers.services import register_customer

    counter = iter(range(100, 10_000))

    def make(**fields: Any) -> Any:
        number = next(counter)
        values = {
            "username": f"user{number}",
            "name": f"Customer {number}",
            "mobile": f"0171100{number:04d}",
            "service_password": "s3cret-pw",
            "package": home,
            **fields,
        }
        return register_customer(actor=None, operator=cast.north, **values)

    return make


@pytest.fixture
def api_for(db: Any) -> Any:
    """``api_for(user)``: a DRF APIClient sending a fresh bearer token of that user."""
    from rest_framework.test import APIClient

    from ispbills.tenancy.services import create_api_token

    def make(user: Any) -> APIClient:
        _token, plain = create_api_token(actor=None, user=user, name="test")
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
        return api

    return make
