"""Online payment gateways: one module per provider, registered by its code.

A provider module (``ispbills/payments/gateways/<code>.py``) defines a ``PaymentGateway``
subclass and decorates it with ``@register``; modules in this package are discovered on first
use, so adding a provider touches no shared file. See docs/gateways.md.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from typing import TypeVar

from ispbills.payments.gateways.base import PaymentGateway

# Modules of this package that are framework, not providers.
FRAMEWORK_MODULES = frozenset({"base", "http", "services", "fakes", "links", "tasks"})

_REGISTRY: dict[str, type[PaymentGateway]] = {}
_discovered = False
_lock = threading.Lock()

G = TypeVar("G", bound=type[PaymentGateway])


def register(cls: G) -> G:
    """Class decorator: make an adapter known under its ``code``."""
    code = cls.code
    existing = _REGISTRY.get(code)
    if existing is not None and existing is not cls:
        raise RuntimeError(f"Two payment gateways registered as {code!r}.")
    _REGISTRY[code] = cls
    return cls


def autodiscover() -> None:
    """Import every provider module of this package once."""
    global _discovered
    if _discovered:
        return
    with _lock:
        if _discovered:
            return
        for module in pkgutil.iter_modules(__path__):
            if module.name.startswith("_") or module.name in FRAMEWORK_MODULES:
                continue
            importlib.import_module(f"{__name__}.{module.name}")
        _discovered = True


def gateway_class(code: str) -> type[PaymentGateway]:
    """The adapter registered as ``code``; ``KeyError`` for an unknown provider."""
    autodiscover()
    return _REGISTRY[code]


def gateway_classes() -> list[type[PaymentGateway]]:
    """Every registered adapter, by name."""
    autodiscover()
    return sorted(_REGISTRY.values(), key=lambda cls: cls.name.lower())


def provider_choices() -> list[tuple[str, str]]:
    """(code, name) of every provider, for forms and filters."""
    return [(cls.code, cls.name) for cls in gateway_classes()]
