"""The one writer of the reports app: the hourly bills-vs-payments snapshot."""

import datetime as dt

from django.db import connection, transaction

from ispbills.core import clock

WINDOW_DAYS = 30

# Every active ISP's last 30 days (in its zone) recomputed in one statement: bills by the day
# they were issued (reversals count on their void date and subtract), payments by the local
# day they were received (reversals subtract); rows outside the window, or of a day that has
# nothing any more, are deleted. Upserting and deleting touch disjoint rows.
REFRESH_SQL = """
WITH span AS (
    SELECT t.id AS tenant_id, t.timezone,
           (%(now)s::timestamptz AT TIME ZONE t.timezone)::date - %(days)s + 1 AS first_day,
           (%(now)s::timestamptz AT TIME ZONE t.timezone)::date AS last_day
    FROM tenancy_tenant t
    WHERE t.is_active
),
billed AS (
    SELECT b.tenant_id, b.operator_id, b.issued_on AS day,
           COUNT(*) FILTER (WHERE b.kind = 'invoice')
             - COUNT(*) FILTER (WHERE b.kind = 'reversal') AS bills,
           SUM(b.total) AS billed
    FROM billing_bill b
    JOIN span s ON s.tenant_id = b.tenant_id
    WHERE b.issued_on BETWEEN s.first_day AND s.last_day
    GROUP BY 1, 2, 3
),
paid AS (
    SELECT p.tenant_id, p.operator_id, (p.received_at AT TIME ZONE s.timezone)::date AS day,
           COUNT(*) FILTER (WHERE p.kind = 'payment')
             - COUNT(*) FILTER (WHERE p.kind = 'reversal') AS payments,
           SUM(p.amount) AS paid
    FROM payments_payment p
    JOIN span s ON s.tenant_id = p.tenant_id
    WHERE p.received_at >= s.first_day::timestamp AT TIME ZONE s.timezone
      AND p.received_at < (s.last_day + 1)::timestamp AT TIME ZONE s.timezone
    GROUP BY 1, 2, 3
),
fresh AS (
    SELECT COALESCE(b.tenant_id, p.tenant_id) AS tenant_id,
           COALESCE(b.operator_id, p.operator_id) AS operator_id,
           COALESCE(b.day, p.day) AS day,
           COALESCE(b.bills, 0) AS bills, COALESCE(b.billed, 0) AS billed,
           COALESCE(p.payments, 0) AS payments, COALESCE(p.paid, 0) AS paid
    FROM billed b
    FULL JOIN paid p ON p.operator_id = b.operator_id AND p.day = b.day
),
gone AS (
    DELETE FROM reports_billspaymentsday d
    WHERE NOT EXISTS (
        SELECT 1 FROM fresh f WHERE f.operator_id = d.operator_id AND f.day = d.day
    )
    RETURNING 1
)
INSERT INTO reports_billspaymentsday
    (tenant_id, operator_id, day, bills, billed, payments, paid, created_at, updated_at)
SELECT tenant_id, operator_id, day, bills, billed, payments, paid, %(now)s, %(now)s
FROM fresh
ON CONFLICT (operator_id, day) DO UPDATE
SET bills = EXCLUDED.bills, billed = EXCLUDED.billed, payments = EXCLUDED.payments,
    paid = EXCLUDED.paid, updated_at = EXCLUDED.updated_at
"""


@transaction.atomic
def refresh_bills_vs_payments(*, now: dt.datetime | None = None) -> int:
    """Recompute the last 30 days of bills and payments of every active ISP, per operator
    and day; returns the number of rows written."""
    with connection.cursor() as cursor:
        cursor.execute(REFRESH_SQL, {"now": now or clock.now(), "days": WINDOW_DAYS})
        return int(cursor.rowcount)
