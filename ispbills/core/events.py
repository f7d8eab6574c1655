"""Domain events: a service emits, subscribed jobs are deferred in the same transaction.

Subscribers are ``*_task`` jobs registered with ``@subscribe("customer.status_changed")`` in an
app's ``tasks.py`` (loaded in web and worker processes alike). Payloads carry ids and plain
values only.

A few reactions must commit or roll back with the change itself (an app above the emitter
rewriting rows derived from it, such as RADIUS groups derived from network profiles): they
register with ``@handle(event)`` instead and run inside ``emit()``, in the caller's transaction.
"""

from collections.abc import Callable
from typing import Any

SUBSCRIBERS: dict[str, list[Any]] = {}
HANDLERS: dict[str, list[Callable[..., Any]]] = {}


def subscribe(event: str) -> Callable[[Any], Any]:
    def register(job: Any) -> Any:
        SUBSCRIBERS.setdefault(event, []).append(job)
        return job

    return register


def handle(event: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function that ``emit()`` calls in the emitting transaction."""

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        HANDLERS.setdefault(event, []).append(function)
        return function

    return register


def emit(event: str, **payload: Any) -> int:
    """Run the in-transaction handlers of ``event``, then defer every subscriber; returns how
    many jobs were deferred."""
    for function in HANDLERS.get(event, []):
        function(event=event, **payload)
    jobs = SUBSCRIBERS.get(event, [])
    for job in jobs:
        job.defer(event=event, **payload)
    return len(jobs)
