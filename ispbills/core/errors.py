"""Domain errors raised by services and shown the same way in panel, API and CLI."""

from typing import Any


class DomainError(Exception):
    """A business rule refused the request; nothing was written."""

    code = "invalid"
    status = 400

    def __init__(
        self, message: str, *, fields: dict[str, list[str]] | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "fields": self.fields}


class NotAllowedError(DomainError):
    """The actor may not do this (role, permission or scope)."""

    code = "permission_denied"
    status = 403


class ConflictError(DomainError):
    """The request clashes with existing data (duplicate, stale state)."""

    code = "conflict"
    status = 409
