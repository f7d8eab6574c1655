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
# traffic sized by the package speed, and today's session, open for two customers in three.
SESSIONS_SQL = """
WITH c AS (
    SELECT cu.id, cu.username, cu.tenant_id, p.download_kbps,
           row_number() OVER (ORDER BY cu.id) AS n
      FROM customers_customer cu JOIN catalog_package p ON p.id = cu.package_id
     WHERE cu.tenant_id = %(tenant)s AND cu.status IN ('active', 'fup')
), s AS (
    SELECT c.*, day,
           date_trunc('day', now()) - make_interval(days => day)
               + make_interval(mins => ((c.n * 37 + day * 11) %% 600)::int) AS started,
           (c.download_kbps::bigint * 1000 / 8) * (900 + (c.n * 7 + day * 13) %% 2700) AS down
      FROM c, generate_series(0, 29) AS day
)
INSERT INTO radacct (acctsessionid, acctuniqueid, username, nasipaddress, nasporttype,
                     acctstarttime, acctupdatetime, acctstoptime, acctsessiontime,
                     acctinputoctets, acctoutputoctets, callingstationid, acctterminatecause,
                     framedprotocol, framedipaddress)
SELECT to_hex(s.id * 100 + s.day), md5('demo' || s.id || '-' || s.day), s.username,
       CASE WHEN s.n %% 2 = 0 THEN %(nas_a)s ELSE %(nas_b)s END::inet, 'Virtual',
       s.started,
       CASE WHEN s.day = 0 THEN now() ELSE s.started + interval '6 hours' END,
       CASE WHEN s.day = 0 AND s.n %% 3 <> 0 THEN NULL ELSE s.started + interval '6 hours' END,
       CASE WHEN s.day = 0 THEN extract(epoch FROM now() - s.started)::bigint ELSE 21600 END,
       s.down / 9, s.down,
       upper(concat_ws(':', 'de', 'ad', lpad(to_hex(s.n %% 256), 2, '0'), '00', '00', '01')),
       CASE WHEN s.day = 0 AND s.n %% 3 <> 0 THEN NULL ELSE 'User-Request' END,
       'PPP', ('100.64.0.0'::inet + s.n)
  FROM s
 WHERE s.started < now()
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
