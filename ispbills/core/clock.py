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


def is_valid_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True
