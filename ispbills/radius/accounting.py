"""Accounting after FreeRADIUS wrote it: usage rollups, stale sessions, archiving.

FreeRADIUS keeps ``radacct`` (live sessions and recently closed ones); the jobs here, each
one idempotent set-based statement, turn it into what the panel reads:

- ``rollup_usage()`` adds each session's counter *delta* since its last rollup to the
  customer's day in ``radius_usage_daily`` (the tenant's calendar day of the update) and
  refreshes ``radius_presence``; counters are cumulative per session, so an interim row is
  never summed, only differenced with what was already counted.
- ``close_stale_sessions()`` ends open sessions whose interim updates stopped coming.
- ``archive_sessions()`` moves closed, counted sessions into ``radacct_history``, a table
  partitioned by the month of the stop, creating partitions as needed.

The rules are in docs/radius.md ("Accounting").
"""

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ispbills.radius.models import SessionFields, UsageDaily
from ispbills.radius.provisioning import INTERIM_INTERVAL

# A username's owner: the live customer with that username, the lowest id first (the
# claimant rule of provisioning).
OWNER_JOIN = """
    JOIN LATERAL (
        SELECT c.id, c.tenant_id, t.timezone FROM customers_customer c
          JOIN tenancy_tenant t ON t.id = c.tenant_id
         WHERE upper(c.username) = upper(m.username) AND c.username = m.username
           AND c.status <> 'deleted'
         ORDER BY c.id LIMIT 1
    ) owner ON true
"""

# A session row whose counters and update time were all rolled up already.
COUNTED = (
    "(acctupdatetime IS NOT DISTINCT FROM counted_at"
    " AND coalesce(acctinputoctets, 0) = counted_input"
    " AND coalesce(acctoutputoctets, 0) = counted_output)"
)

ROLLUP_SQL = f"""
WITH pending AS (
    SELECT radacctid, username, acctupdatetime, nasipaddress, framedipaddress,
           acctinputoctets AS input, acctoutputoctets AS output,
           counted_input, counted_output
      FROM radacct
     WHERE NOT {COUNTED}
     ORDER BY radacctid
     LIMIT %(batch)s
       FOR UPDATE SKIP LOCKED
), marked AS (
    UPDATE radacct a
       SET counted_input = coalesce(p.input, 0), counted_output = coalesce(p.output, 0),
           counted_at = p.acctupdatetime
      FROM pending p
     WHERE a.radacctid = p.radacctid
    RETURNING a.radacctid
), delta AS (
    SELECT owner.id AS customer_id, owner.tenant_id,
           (coalesce(m.acctupdatetime, now()) AT TIME ZONE owner.timezone)::date AS day,
           greatest(coalesce(m.input, 0) - m.counted_input, 0) AS upload,
           greatest(coalesce(m.output, 0) - m.counted_output, 0) AS download,
           m.acctupdatetime, m.nasipaddress, m.framedipaddress
      FROM pending m {OWNER_JOIN}
), usage AS (
    INSERT INTO radius_usage_daily (tenant_id, customer_id, day, upload, download)
    SELECT tenant_id, customer_id, day, sum(upload), sum(download)
      FROM delta
     GROUP BY tenant_id, customer_id, day
    HAVING sum(upload) + sum(download) > 0
    ON CONFLICT (customer_id, day) DO UPDATE
       SET upload = radius_usage_daily.upload + EXCLUDED.upload,
           download = radius_usage_daily.download + EXCLUDED.download
    RETURNING 1
), seen AS (
    INSERT INTO radius_presence (customer_id, tenant_id, last_seen_at, last_nas, last_address)
    SELECT DISTINCT ON (customer_id) customer_id, tenant_id, acctupdatetime, nasipaddress,
           framedipaddress
      FROM delta
     WHERE acctupdatetime IS NOT NULL
     ORDER BY customer_id, acctupdatetime DESC
    ON CONFLICT (customer_id) DO UPDATE
       SET last_seen_at = EXCLUDED.last_seen_at, last_nas = EXCLUDED.last_nas,
           last_address = coalesce(EXCLUDED.last_address, radius_presence.last_address)
     WHERE radius_presence.last_seen_at <= EXCLUDED.last_seen_at
    RETURNING 1
)
SELECT (SELECT count(*) FROM marked), (SELECT count(*) FROM usage)
"""


def rollup_usage(*, batch: int = 50_000) -> int:
    """Count every session's new traffic into daily usage; returns sessions counted.

    Rows FreeRADIUS is writing at that moment are skipped (and counted next time), so the
    job never holds accounting up. Runs batches until nothing is pending.
    """
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(ROLLUP_SQL, {"batch": batch})
            sessions, _days = cursor.fetchone()
        total += sessions
        if sessions < batch:
            return total


def stale_after() -> dt.timedelta:
    """How long an open session may go without an update before it counts as ended."""
    return dt.timedelta(seconds=max(settings.RADIUS_STALE_AFTER, 2 * INTERIM_INTERVAL))


def close_stale_sessions(*, now: dt.datetime | None = None) -> int:
    """End open sessions whose updates stopped, at the last time they were heard of.

    A router that lost power sends no Stop; its sessions would block Simultaneous-Use
    re-logins forever (the zombie session). Returns sessions closed.
    """
    cutoff = (now or timezone.now()) - stale_after()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE radacct
               SET acctstoptime = coalesce(acctupdatetime, acctstarttime),
                   acctsessiontime = coalesce(acctsessiontime, greatest(0, extract(epoch FROM
                       coalesce(acctupdatetime, acctstarttime) - acctstarttime)::bigint)),
                   acctterminatecause = 'Stale-Session'
             WHERE acctstoptime IS NULL
               AND coalesce(acctupdatetime, acctstarttime) < %s
            """,
            [cutoff],
        )
        return cursor.rowcount


def _session_columns() -> str:
    return ", ".join(field.column for field in SessionFields._meta.concrete_fields)


def archive_sessions(
    *, older_than: dt.timedelta = dt.timedelta(hours=1), now: dt.datetime | None = None
) -> int:
    """Move sessions closed before ``older_than`` ago (and fully counted) to the history.

    Recently closed sessions stay in ``radacct`` a while: a late Start for a session whose
    Stop came first still finds its row. Returns sessions moved.
    """
    cutoff = (now or timezone.now()) - older_than
    columns = _session_columns()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT DISTINCT date_trunc('month', acctstoptime AT TIME ZONE 'UTC')
              FROM radacct
             WHERE acctstoptime < %s AND {COUNTED}
            """,
            [cutoff],
        )
        for (month,) in cursor.fetchall():
            ensure_history_partition(cursor, month.date())
        cursor.execute(
            f"""
            WITH gone AS (
                DELETE FROM radacct
                 WHERE acctstoptime < %s AND {COUNTED}
                RETURNING {columns}
            )
            INSERT INTO radacct_history ({columns}) SELECT {columns} FROM gone
            """,
            [cutoff],
        )
        return cursor.rowcount


def ensure_history_partition(cursor: object, month: dt.date) -> str:
    """Create the history partition of a month (UTC) if missing; returns its name."""
    first = month.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    name = f"radacct_history_{first:%Y_%m}"
    cursor.execute(  # type: ignore[attr-defined]
        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF radacct_history "
        f"FOR VALUES FROM ('{first.isoformat()} 00:00+00') TO ('{following.isoformat()} 00:00+00')"
    )
    return name


def settle() -> dict[str, int]:
    """The periodic accounting work in its order: close stale, count, archive."""
    closed = close_stale_sessions()
    counted = rollup_usage()
    archived = archive_sessions()
    return {"stale_closed": closed, "counted": counted, "archived": archived}


# ---- usage cycles -------------------------------------------------------------------------

# MB in package limits are binary megabytes, as routers count them.
MB = 1024 * 1024


def cycle_start_sql(today: str, due_day: str) -> str:
    """SQL for the first day of the usage cycle holding ``today`` (a date expression).

    A cycle runs from one due day to the next (day 1 when the billing profile has none); a
    due day past a month's end falls on its last day, as billing does.
    """
    last = "extract(day FROM date_trunc('month', {d}) + interval '1 month - 1 day')::int"
    this_month = f"least({due_day}, {last.format(d=today)})"
    previous = f"(date_trunc('month', {today}) - interval '1 month')::date"
    prev_day = f"least({due_day}, {last.format(d=previous)})"
    return (
        f"CASE WHEN extract(day FROM {today})::int >= {this_month} "
        f"THEN date_trunc('month', {today})::date + ({this_month} - 1) "
        f"ELSE {previous} + ({prev_day} - 1) END"
    )


def next_cycle_start_sql(start: str, due_day: str) -> str:
    """SQL for the first day of the cycle after the one starting at ``start``: the due day of
    the following month (its last day when the month is shorter)."""
    following = f"(date_trunc('month', {start}) + interval '1 month')::date"
    last = f"extract(day FROM date_trunc('month', {following}) + interval '1 month - 1 day')::int"
    return f"{following} + (least({due_day}, {last}) - 1)"


def cycle_bounds(today: dt.date, due_day: int | None) -> tuple[dt.date, dt.date]:
    """The usage cycle holding ``today``: first day and the day after its last."""
    import calendar

    def on(year: int, month: int) -> dt.date:
        day = min(due_day or 1, calendar.monthrange(year, month)[1])
        return dt.date(year, month, day)

    start = on(today.year, today.month)
    if today < start:
        year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
        start = on(year, month)
    year, month = (start.year, start.month + 1) if start.month < 12 else (start.year + 1, 1)
    return start, on(year, month)


# Customers of packages with a data limit whose FUP state differs from their cycle usage:
# active over the limit (→ fup) or fup back under it, e.g. in a new cycle (→ active).
FUP_DUE_SQL = f"""
WITH c AS (
    SELECT cu.id, cu.status, p.data_limit_mb,
           {cycle_start_sql("(now() AT TIME ZONE t.timezone)::date", "coalesce(b.due_day, 1)")}
               AS cycle_start
      FROM customers_customer cu
      JOIN tenancy_tenant t ON t.id = cu.tenant_id
      LEFT JOIN catalog_package p ON p.id = cu.package_id
      LEFT JOIN catalog_billingprofile b ON b.id = cu.billing_profile_id
     WHERE (cu.status = 'active' AND p.data_limit_mb IS NOT NULL) OR cu.status = 'fup'
), used AS (
    SELECT c.*, coalesce((
        SELECT sum(u.upload + u.download) FROM radius_usage_daily u
         WHERE u.customer_id = c.id AND u.day >= c.cycle_start), 0) AS used
      FROM c
)
SELECT id, CASE WHEN status = 'active' THEN 'fup' ELSE 'active' END, used
  FROM used
 WHERE (status = 'active' AND used > data_limit_mb * {MB})
    OR (status = 'fup' AND (data_limit_mb IS NULL OR used <= data_limit_mb * {MB}))
 ORDER BY id
"""


def fup_changes() -> list[tuple[int, str, int]]:
    """(customer id, status it should have, bytes used this cycle) for every FUP change due."""
    with connection.cursor() as cursor:
        cursor.execute(FUP_DUE_SQL)
        return [(pk, to, int(used)) for pk, to, used in cursor.fetchall()]


def usage_by_day(customer_id: int, since: dt.date, until: dt.date) -> list[UsageDaily]:
    """A customer's daily usage rows from ``since`` to ``until`` (inclusive), oldest first."""
    return list(
        UsageDaily.objects.filter(customer_id=customer_id, day__gte=since, day__lte=until).order_by(
            "day"
        )
    )
