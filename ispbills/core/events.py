"""Domain events: a service emits, subscribed jobs are deferred in the same transaction.

Subscribers are ``*_task`` jobs registered with ``@subscribe("customer.status_changed")`` in an
app's ``tasks.py`` (loaded in web and worker processes alike). Payloads carry ids and plain
values only.
"""

from collections.abc import Callable
from typing import Any

SUBSCRIBERS: dict[str, list[Any]] = {}


def subscribe(event: str) -> Callable[[Any], Any]:
    def register(job: Any) -> Any:
        SUBSCRIBERS.setdefault(event, []).append(job)
        return job

    return register


def emit(event: str, **payload: Any) -> int:
    """Defer every subscriber of ``event``; returns how many were deferred."""
    jobs = SUBSCRIBERS.get(event, [])
    for job in jobs:
        job.defer(event=event, **payload)
    return len(jobs)
