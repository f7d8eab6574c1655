"""Protocol-faithful fake providers (the provider's real paths, fields, signatures and status
codes) for tests and the demo. Each ``fakes/<code>.py`` defines a ``FakeProvider`` subclass
decorated with ``@register_fake``; see ``fakes/base.py`` and docs/gateways.md."""

from __future__ import annotations

import importlib
import pkgutil
import threading
from typing import TypeVar

from ispbills.payments.gateways.fakes.base import FakeProvider

_FAKES: dict[str, type[FakeProvider]] = {}
_discovered = False
_lock = threading.Lock()

F = TypeVar("F", bound=type[FakeProvider])


def register_fake(cls: F) -> F:
    """Class decorator: make a fake known under its provider's ``code``."""
    _FAKES[cls.code] = cls
    return cls


def _autodiscover() -> None:
    global _discovered
    if _discovered:
        return
    with _lock:
        if _discovered:
            return
        for module in pkgutil.iter_modules(__path__):
            if module.name.startswith("_") or module.name in {"base", "server", "views"}:
                continue
            importlib.import_module(f"{__name__}.{module.name}")
        _discovered = True


def fake_class(code: str) -> type[FakeProvider]:
    """The fake registered for provider ``code``; ``KeyError`` if there is none."""
    _autodiscover()
    return _FAKES[code]


def fake_codes() -> list[str]:
    _autodiscover()
    return sorted(_FAKES)
