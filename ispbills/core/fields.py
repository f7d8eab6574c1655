"""Secrets at rest: a text field encrypted with Fernet (keys from ISPBILLS_FIELD_ENCRYPTION_KEYS).

The first key encrypts; every key decrypts, so keys can be rotated by putting a new one first.
A local install without keys keeps a generated key in its data dir (like its secret key).
"""

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        raise ImproperlyConfigured(
            "Set ISPBILLS_FIELD_ENCRYPTION_KEYS (Fernet keys) to store secrets at rest."
        )
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"A field encryption key is not a Fernet key: {exc}") from exc


def encrypt(plain: str) -> str:
    return PREFIX + _fernet().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise ImproperlyConfigured("A secret column holds a value that was not encrypted.")
    try:
        return _fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("No configured key decrypts a stored secret.") from exc


class EncryptedTextField(models.TextField):
    """Stores ``fernet:<token>``; Python code sees the plain text."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None or value == "" else decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        if value is None or value == "":
            return value
        return encrypt(str(value))
