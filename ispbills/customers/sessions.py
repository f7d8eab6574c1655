"""What RADIUS accounting says about one customer: its sessions, usage and presence.

Reads only. Sessions are those of the customer's username while it is the username's
claimant (``claimant_id``); usage and presence are kept per customer by the rollup job.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ispbills.core import clock
from ispbills.customers.models import Customer, claimant_id
from ispbills.radius.accounting import MB, cycle_bounds, usage_by_day
from ispbills.radius.models import Presence, RadAcct, SessionHistory, UsageDaily

SESSIONS_PER_PAGE = 25
CHART_DAYS = 30


@dataclass
class SessionPage:
    """One page of a customer's sessions, open ones first, then by stop time, newest first."""

    rows: list[Any]
    number: int
    has_next: bool
    claimed: bool  # False: another ISP's customer holds the username; no sessions are shown

    @property
    def has_previous(self) -> bool:
        return self.number > 1


# Pages beyond this are not served: each page reads every session before it.
MAX_PAGE = 400


def page_number(raw: Any) -> int:
    """A ``?page=`` value as a page from 1 to ``MAX_PAGE``; anything else is page 1."""
    text = str(raw or "")
    number = int(text) if text.isascii() and text.isdigit() else 1
    return min(max(number, 1), MAX_PAGE)


def sessions_of(
    customer: Customer, page: int = 1, per_page: int = SESSIONS_PER_PAGE
) -> SessionPage:
    """A page of the customer's sessions from ``radacct`` and the archive.

    Each source is read by its username index, newest first, only as deep as the page needs
    (no join over the archive); the two are merged here.
    """
    page = min(max(page, 1), MAX_PAGE)
    if claimant_id(customer.username) != customer.pk:
        return SessionPage([], 1, False, claimed=False)
    depth = page * per_page + 1
    live: list[Any] = list(
        RadAcct.objects.filter(username=customer.username).order_by("-id")[:depth]
    )
    archived = list(
        SessionHistory.objects.filter(username=customer.username).order_by("-stop_time", "-id")[
            :depth
        ]
    )
    far_past = dt.datetime.min.replace(tzinfo=dt.UTC)

    def newest_first(row: Any) -> tuple[bool, dt.datetime, dt.datetime]:
        return (row.stop_time is None, row.stop_time or far_past, row.start_time or far_past)

    merged = sorted(live + archived, key=newest_first, reverse=True)
    start = (page - 1) * per_page
    return SessionPage(
        merged[start : start + per_page], page, len(merged) > start + per_page, claimed=True
    )


def open_sessions_of(customer: Customer) -> list[RadAcct]:
    """The customer's open sessions (none unless it claims its username)."""
    if claimant_id(customer.username) != customer.pk:
        return []
    return list(
        RadAcct.objects.filter(username=customer.username, stop_time__isnull=True).order_by("-id")
    )


@dataclass
class Usage:
    """A customer's traffic by day and in the current usage cycle (bytes)."""

    days: list[UsageDaily]
    since: dt.date
    until: dt.date
    cycle_start: dt.date
    cycle_end: dt.date  # the cycle's last day
    cycle_upload: int
    cycle_download: int
    limit_bytes: int | None

    @property
    def cycle_total(self) -> int:
        return self.cycle_upload + self.cycle_download

    @property
    def limit_percent(self) -> int | None:
        if not self.limit_bytes:
            return None
        return min(100, round(100 * self.cycle_total / self.limit_bytes))

    def chart(self) -> dict[str, Any]:
        """Chart.js data: one bar pair per day (MB), days without traffic as zero."""
        by_day = {row.day: row for row in self.days}
        labels, upload, download = [], [], []
        day = self.since
        while day <= self.until:
            row = by_day.get(day)
            labels.append(day.isoformat())
            upload.append(round((row.upload if row else 0) / MB, 2))
            download.append(round((row.download if row else 0) / MB, 2))
            day += dt.timedelta(days=1)
        return {"labels": labels, "upload": upload, "download": download}


def usage_of(
    customer: Customer, since: dt.date | None = None, until: dt.date | None = None
) -> Usage:
    """Daily usage from ``since`` to ``until`` (default: the last 30 days of the tenant's
    calendar) and the current cycle (billing profile's due day) against the package limit."""
    today = clock.local_today(customer.tenant.timezone)
    until = until or today
    since = since or until - dt.timedelta(days=CHART_DAYS - 1)
    due_day = customer.billing_profile.due_day if customer.billing_profile else None
    start, after = cycle_bounds(today, due_day)
    cycle = UsageDaily.objects.filter(customer_id=customer.pk, day__gte=start, day__lt=after)
    limit = customer.package.data_limit_mb if customer.package else None
    return Usage(
        days=usage_by_day(customer.pk, since, until),
        since=since,
        until=until,
        cycle_start=start,
        cycle_end=after - dt.timedelta(days=1),
        cycle_upload=sum(row.upload for row in cycle),
        cycle_download=sum(row.download for row in cycle),
        limit_bytes=limit * MB if limit else None,
    )


def presence_of(customer: Customer) -> Presence | None:
    """When accounting last heard of the customer."""
    return Presence.objects.filter(customer_id=customer.pk).first()
