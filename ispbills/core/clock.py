"""The one clock: aware UTC now, and dates in a tenant's zone."""

import datetime as dt
import zoneinfo

from django.utils import timezone


def now() -> dt.datetime:
    """Aware current time in UTC."""
    return timezone.now()


def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def local_now(tz_name: str) -> dt.datetime:
    """Current time in the given zone (e.g. a tenant's Asia/Dhaka)."""
    return now().astimezone(zone(tz_name))


def local_today(tz_name: str) -> dt.date:
    """Today's date in the given zone: billing dates are computed with this."""
    return local_now(tz_name).date()


def format_local(value: dt.datetime | None, fmt: str = "Y-m-d H:i") -> str:
    """An aware datetime shown in the active (tenant's) zone, in Django's date format."""
    from django.utils.dateformat import format as date_format

    if not value:
        return ""
    return date_format(timezone.localtime(value), fmt)


def is_valid_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True
