"""Template helpers for sessions: durations and traffic."""

import datetime as dt
from typing import Any

from django import template
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

register = template.Library()


@register.filter
def duration(value: Any) -> str:
    """Seconds (or a timedelta) as ``2d 03:04:05``; a start time as the time since then."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dt.datetime):
        value = timezone.now() - value
    seconds = int(value.total_seconds() if isinstance(value, dt.timedelta) else value)
    seconds = max(seconds, 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    return f"{days}d {clock}" if days else clock


@register.filter
def octets(value: Any) -> str:
    """A byte counter for people (binary units, as routers count)."""
    return "—" if value is None else str(filesizeformat(value))
