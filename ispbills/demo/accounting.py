"""Demo routers and a month of accounting, so the sessions and usage pages are alive."""

import secrets

from django.db import connection

from ispbills.radius import accounting
from ispbills.radius.services import save_nas_device
from ispbills.tenancy.models import Operator, Tenant

DEMO_NAS = [
    ("Mirpur core CCR", "10.10.0.1", 1700, "mikrotik"),
    ("Uttara BRAS", "10.20.0.1", 3799, "cisco"),
]

# Per active customer: one session a day for the last 29 days (closed, in the history) with
# traffic sized by the package speed, and a session of today, started up to ten hours ago and
# open for two customers in three. Times count back from now, so any hour of the day seeds
# the same sessions.
SESSIONS_SQL = """
WITH c AS (
    SELECT cu.id, cu.username, cu.tenant_id, p.download_kbps,
           row_number() OVER (ORDER BY cu.id) AS n
      FROM customers_customer cu JOIN catalog_package p ON p.id = cu.package_id
     WHERE cu.tenant_id = %(tenant)s AND cu.status IN ('active', 'fup')
), s AS (
    SELECT c.*, day, started, day = 0 AND c.n %% 3 <> 0 AS open,
           least(started + interval '6 hours', now()) AS ended,
           (c.download_kbps::bigint * 1000 / 8) * (900 + (c.n * 7 + day * 13) %% 2700) AS down
      FROM c, generate_series(0, 29) AS day,
           LATERAL (SELECT now() - make_interval(days => day)
                        - make_interval(mins => 1 + ((c.n * 37 + day * 11) %% 600)::int)
                    AS started) t
)
INSERT INTO radacct (acctsessionid, acctuniqueid, username, nasipaddress, nasporttype,
                     acctstarttime, acctupdatetime, acctstoptime, acctsessiontime,
                     acctinputoctets, acctoutputoctets, callingstationid, acctterminatecause,
                     framedprotocol, framedipaddress)
SELECT to_hex(s.id * 100 + s.day), md5('demo' || s.id || '-' || s.day), s.username,
       CASE WHEN s.n %% 2 = 0 THEN %(nas_a)s ELSE %(nas_b)s END::inet, 'Virtual',
       s.started,
       CASE WHEN s.open THEN now() ELSE s.ended END,
       CASE WHEN s.open THEN NULL ELSE s.ended END,
       extract(epoch FROM CASE WHEN s.open THEN now() ELSE s.ended END - s.started)::bigint,
       s.down / 9, s.down,
       upper(concat_ws(':', 'de', 'ad', lpad(to_hex(s.n %% 256), 2, '0'), '00', '00', '01')),
       CASE WHEN s.open THEN NULL ELSE 'User-Request' END,
       'PPP', ('100.64.0.0'::inet + s.n)
  FROM s
"""


def seed_accounting(tenant: Tenant) -> dict[str, int]:
    """Two NAS devices, a month of sessions for the demo customers, rolled up and archived."""
    root = Operator.objects.get(tenant=tenant, parent__isnull=True)
    for name, address, coa_port, kind in DEMO_NAS:
        save_nas_device(
            actor=None,
            operator=root,
            name=name,
            address=address,
            secret=secrets.token_urlsafe(18),
            kind=kind,
            coa_port=coa_port,
        )
    with connection.cursor() as cursor:
        cursor.execute(
            SESSIONS_SQL,
            {"tenant": tenant.pk, "nas_a": DEMO_NAS[0][1], "nas_b": DEMO_NAS[1][1]},
        )
    counted = accounting.rollup_usage()
    archived = accounting.archive_sessions()
    return {"sessions": counted, "archived": archived}
