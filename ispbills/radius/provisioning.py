"""Customers and packages into the FreeRADIUS tables: derived, idempotent, set-based.

``provision_customers(ids)`` derives the rows of each customer's username from the customer's
current state and replaces whatever ``radcheck``, ``radreply`` and ``radusergroup`` hold for
that username; ``provision_packages(ids)`` does the same for the ``radgroupreply`` rows of
packages. Both cost a few statements whatever the number of customers or packages, and both
run in the caller's transaction, so a rolled-back change leaves the RADIUS rows as they were.
``provision_status(ids)`` is the narrow form for a change of status (the bulk suspension):
only the rows a status decides, and only those that differ, are written.
The rules are in docs/radius.md ("Provisioning"); ``drift()`` compares the tables with them.

A username's rows come from its *claimant*: the live (not deleted) customer with that
username, the lowest id first when customers of two ISPs share one (FreeRADIUS knows no
ISPs; ``drift()`` reports such clashes). Deleted customers have no rows at all.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from ispbills.core.fields import decrypt

# Statuses refused at authentication with ``Auth-Type := Reject``. A suspended customer of an
# ISP whose network settings choose the walled garden is accepted instead, into the ISP's
# suspended group (``walled`` below).
REJECTED_STATUSES = ("suspended", "disabled")
# Service models whose Calling-Station-Id is the subscriber's MAC (PPTP/L2TP send an IP).
MAC_BOUND_MODELS = ("pppoe", "hotspot")
# Interim accounting period sent to the router with every package group (seconds).
INTERIM_INTERVAL = 300
PACKAGE_GROUP = "pkg-"
FUP_GROUP = "fup-"
SUSPENDED_GROUP = "susp-"

# The rows a set of claimants should have, as (tbl, username, attribute, op, value); a
# radusergroup row is (groupname, "", priority). A CTE ``pw`` before it holds the claimants'
# ids and decrypted passwords (the only value SQL cannot compute).
WANT_FROM_PW_SQL = f"""
c AS (
    SELECT cu.id, cu.username, pw.password, cu.status, cu.service_model, cu.mac_address,
           cu.static_ipv4, cu.static_ipv6, cu.expires_at, cu.package_id, cu.tenant_id,
           coalesce(cu.status = 'suspended' AND cu.package_id IS NOT NULL
                    AND ns.suspended_action = 'walled_garden'
                    AND ns.suspended_pool_id IS NOT NULL, false) AS walled
      FROM pw JOIN customers_customer cu ON cu.id = pw.id
      LEFT JOIN network_networksettings ns ON ns.tenant_id = cu.tenant_id
), want(tbl, username, attribute, op, value, ord) AS (
    SELECT 'radcheck', username, 'Cleartext-Password', ':=', password, 1
      FROM c WHERE password <> ''
    UNION ALL
    SELECT 'radcheck', username, 'Simultaneous-Use', ':=', '1', 2 FROM c
    UNION ALL
    SELECT 'radcheck', username, 'Calling-Station-Id', '==', mac_address, 3
      FROM c WHERE mac_address <> '' AND service_model IN {MAC_BOUND_MODELS!r}
    UNION ALL
    SELECT 'radcheck', username, 'Expiration', ':=',
           floor(extract(epoch FROM expires_at))::bigint::text, 4
      FROM c WHERE expires_at IS NOT NULL AND NOT walled
    UNION ALL
    SELECT 'radcheck', username, 'Auth-Type', ':=', 'Reject', 5
      FROM c WHERE (status IN {REJECTED_STATUSES!r} AND NOT walled) OR package_id IS NULL
    UNION ALL
    SELECT 'radreply', username, 'Framed-IP-Address', ':=', host(static_ipv4), 1
      FROM c WHERE static_ipv4 IS NOT NULL AND NOT walled
    UNION ALL
    SELECT 'radreply', username, 'Framed-IPv6-Address', ':=', host(static_ipv6), 2
      FROM c WHERE static_ipv6 IS NOT NULL AND NOT walled
    UNION ALL
    SELECT 'radusergroup', username,
           CASE WHEN walled THEN '{SUSPENDED_GROUP}' || tenant_id
                WHEN status = 'fup' THEN '{FUP_GROUP}' || package_id
                ELSE '{PACKAGE_GROUP}' || package_id END,
           '', '1', 1
      FROM c WHERE package_id IS NOT NULL
)
"""

WANT_SQL = f"""
pw(id, password) AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(passwords)s::text[])
), {WANT_FROM_PW_SQL}
"""

WRITE_SQL = f"""
WITH {WANT_SQL},
gone_check AS (DELETE FROM radcheck WHERE username = ANY(%(usernames)s)),
gone_reply AS (DELETE FROM radreply WHERE username = ANY(%(usernames)s)),
gone_group AS (DELETE FROM radusergroup WHERE username = ANY(%(usernames)s)),
new_check AS (
    INSERT INTO radcheck (username, attribute, op, value)
    SELECT username, attribute, op, value FROM want WHERE tbl = 'radcheck'
     ORDER BY username, ord
    RETURNING 1
), new_reply AS (
    INSERT INTO radreply (username, attribute, op, value)
    SELECT username, attribute, op, value FROM want WHERE tbl = 'radreply'
     ORDER BY username, ord
    RETURNING 1
), new_group AS (
    INSERT INTO radusergroup (username, groupname, priority)
    SELECT username, attribute, value::int FROM want WHERE tbl = 'radusergroup'
     ORDER BY username
    RETURNING 1
)
SELECT (SELECT count(*) FROM new_check) + (SELECT count(*) FROM new_reply)
       + (SELECT count(*) FROM new_group)
"""

# Mikrotik-Rate-Limit is "rx/tx" from the router's view: rx = subscriber upload, tx =
# download. A burst pair follows after a space; a side without burst bursts to its own rate.
_RATE = "p.upload_kbps || 'k/' || p.download_kbps || 'k'"
_BURST = (
    "CASE WHEN p.burst_upload_kbps IS NULL AND p.burst_download_kbps IS NULL THEN '' "
    "ELSE ' ' || coalesce(p.burst_upload_kbps, p.upload_kbps) || 'k/' "
    "|| coalesce(p.burst_download_kbps, p.download_kbps) || 'k' END"
)
_FUP_RATE = (
    "coalesce(p.fup_upload_kbps, p.upload_kbps) || 'k/' "
    "|| coalesce(p.fup_download_kbps, p.download_kbps) || 'k'"
)

# The package's PPPoE profile (its own, else its master's; inactive profiles do not count).
_PROFILE = """
LEFT JOIN LATERAL (
    SELECT l.profile_id FROM network_profilepackage l
     WHERE l.package_id = p.id OR l.package_id = p.parent_id
     ORDER BY l.package_id = p.id DESC LIMIT 1
) link ON true
LEFT JOIN network_pppoeprofile pr ON pr.id = link.profile_id AND pr.is_active
LEFT JOIN network_ippool v4 ON v4.id = pr.ipv4_pool_id
LEFT JOIN network_ippool v6 ON v6.id = pr.ipv6_pool_id
LEFT JOIN network_ippool fup ON fup.id = pr.fup_pool_id
"""

# radgroupreply rows of packages and of ISPs' suspended groups, as
# (groupname, attribute, op, value, ord). A package's groups take the pool of its profile
# (Framed-Pool in dynamic addressing, the FUP group its FUP pool when it has one; IPv6:
# Delegated-IPv6-Prefix-Pool for a prefix pool, else Framed-IPv6-Pool) and the profile's
# rate limit when it has one.
GROUPS_WANT_SQL = f"""
pkg AS (
    SELECT p.*, nullif(pr.rate_limit, '') AS profile_rate,
           CASE WHEN pr.ip_mode = 'dynamic' THEN v4.name END AS framed_pool,
           CASE WHEN pr.ip_mode = 'dynamic' THEN coalesce(fup.name, v4.name) END AS fup_pool,
           v6.name AS ipv6_pool, v6.prefix_length AS ipv6_prefix_length
      FROM catalog_package p {_PROFILE}
     WHERE p.id = ANY(%(package_ids)s)
), pkg_group(groupname, pkg_id, fup) AS (
    SELECT '{PACKAGE_GROUP}' || p.id, p.id, false FROM pkg p
    UNION ALL
    SELECT '{FUP_GROUP}' || p.id, p.id, true FROM pkg p
), susp AS (
    SELECT s.tenant_id, s.address_list, s.walled_garden_rate, pool.name AS pool
      FROM network_networksettings s
      JOIN network_ippool pool ON pool.id = s.suspended_pool_id
     WHERE s.tenant_id = ANY(%(tenant_ids)s) AND s.suspended_action = 'walled_garden'
), group_want(groupname, attribute, op, value, ord) AS (
    SELECT g.groupname, 'Mikrotik-Rate-Limit', ':=',
           CASE WHEN g.fup THEN {_FUP_RATE}
                ELSE coalesce(p.profile_rate, {_RATE} || {_BURST}) END, 1
      FROM pkg_group g JOIN pkg p ON p.id = g.pkg_id
    UNION ALL
    SELECT g.groupname, 'Acct-Interim-Interval', ':=', '{INTERIM_INTERVAL}', 2 FROM pkg_group g
    UNION ALL
    SELECT g.groupname, 'Framed-Pool', ':=',
           CASE WHEN g.fup THEN p.fup_pool ELSE p.framed_pool END, 3
      FROM pkg_group g JOIN pkg p ON p.id = g.pkg_id WHERE p.framed_pool IS NOT NULL
    UNION ALL
    SELECT g.groupname,
           CASE WHEN p.ipv6_prefix_length IS NOT NULL THEN 'Delegated-IPv6-Prefix-Pool'
                ELSE 'Framed-IPv6-Pool' END, ':=', p.ipv6_pool, 4
      FROM pkg_group g JOIN pkg p ON p.id = g.pkg_id WHERE p.ipv6_pool IS NOT NULL
    UNION ALL
    SELECT '{SUSPENDED_GROUP}' || s.tenant_id, 'Framed-Pool', ':=', s.pool, 1 FROM susp s
    UNION ALL
    SELECT '{SUSPENDED_GROUP}' || s.tenant_id, 'Mikrotik-Address-List', ':=', s.address_list, 2
      FROM susp s
    UNION ALL
    SELECT '{SUSPENDED_GROUP}' || s.tenant_id, 'Mikrotik-Rate-Limit', ':=',
           s.walled_garden_rate, 3
      FROM susp s
    UNION ALL
    SELECT '{SUSPENDED_GROUP}' || s.tenant_id, 'Acct-Interim-Interval', ':=',
           '{INTERIM_INTERVAL}', 4
      FROM susp s
)
"""

GROUPS_WRITE_SQL = f"""
WITH {GROUPS_WANT_SQL},
gone AS (DELETE FROM radgroupreply WHERE groupname = ANY(%(groupnames)s)),
new AS (
    INSERT INTO radgroupreply (groupname, attribute, op, value)
    SELECT groupname, attribute, op, value FROM group_want ORDER BY groupname, ord
    RETURNING 1
)
SELECT count(*) FROM new
"""


def group_names(package_ids: Iterable[int], tenant_ids: Iterable[int] = ()) -> list[str]:
    """The radgroupreply groups of packages (the normal one and the FUP one) and of ISPs
    (the suspended group)."""
    return [f"{prefix}{pk}" for pk in package_ids for prefix in (PACKAGE_GROUP, FUP_GROUP)] + [
        f"{SUSPENDED_GROUP}{pk}" for pk in tenant_ids
    ]


def _write_groups(package_ids: list[int], tenant_ids: list[int]) -> int:
    names = group_names(package_ids, tenant_ids)
    with transaction.atomic(), connection.cursor() as cursor:
        # Two writers of one group would both delete, then both insert: one at a time.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('radius-group-' || name, 0)) "
            "FROM unnest(%s::text[]) AS name ORDER BY name",
            [names],
        )
        cursor.execute(
            GROUPS_WRITE_SQL,
            {"package_ids": package_ids, "tenant_ids": tenant_ids, "groupnames": names},
        )
        return int(cursor.fetchone()[0])


def provision_packages(package_ids: Iterable[int]) -> int:
    """Rewrite the group reply rows of packages from their speeds and PPPoE profiles;
    returns rows written."""
    ids = sorted(set(package_ids))
    return _write_groups(ids, []) if ids else 0


def provision_suspended_groups(tenant_ids: Iterable[int]) -> int:
    """Rewrite the suspended (walled garden) group of ISPs from their network settings: the
    suspended pool, the address list and the rate; no rows when suspended logins are refused.
    Returns rows written."""
    ids = sorted(set(tenant_ids))
    return _write_groups([], ids) if ids else 0


def suspended_customer_ids(tenant_id: int) -> list[int]:
    """The ISP's suspended customers: their rows depend on its network settings."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM customers_customer WHERE tenant_id = %s AND status = 'suspended' "
            "ORDER BY id",
            [tenant_id],
        )
        return [row[0] for row in cursor.fetchall()]


@dataclass
class Claimants:
    """The customers whose rows a set of usernames should have, passwords decrypted."""

    usernames: list[str]
    ids: list[int] = field(default_factory=list)
    passwords: list[str] = field(default_factory=list)
    packages_without_group: set[int] = field(default_factory=set)


# Every customer sharing a username with the given customers (or the extra usernames). The
# lateral lookup, kept apart by OFFSET 0, probes the upper(username) index once per name; a
# join would hash the whole customers table instead.
CANDIDATES_SQL = """
WITH names AS (
    SELECT username FROM customers_customer WHERE id = ANY(%(ids)s)
    UNION
    SELECT unnest(%(usernames)s::text[])
)
SELECT names.username, same.id
  FROM names, LATERAL (
    SELECT id FROM customers_customer c
     WHERE upper(c.username) = upper(names.username) AND c.username = names.username
    OFFSET 0
  ) same
"""


def _claimants(
    cursor: Any, ids: Sequence[int], usernames: Sequence[str], *, lock: bool
) -> Claimants:
    """Find (and lock, in id order) the customers holding the usernames of ``ids`` and
    ``usernames``; decrypt each claimant's password once."""
    cursor.execute(CANDIDATES_SQL, {"ids": list(ids), "usernames": list(usernames)})
    candidates = cursor.fetchall()
    found = Claimants(usernames=sorted({name for name, _ in candidates} | set(usernames)))
    if not candidates:
        return found
    cursor.execute(
        f"""
        SELECT id, username, status, service_password, package_id,
               package_id IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM radgroupreply
                    WHERE groupname = '{PACKAGE_GROUP}' || package_id
               )
          FROM customers_customer
         WHERE id = ANY(%s)
         ORDER BY id
         {"FOR NO KEY UPDATE" if lock else ""}
        """,
        [sorted({pk for _, pk in candidates})],
    )
    plain: dict[str, str] = {}
    taken: set[str] = set()
    for pk, username, status, stored, package_id, lacks_group in cursor.fetchall():
        if status == "deleted" or username in taken:
            continue
        taken.add(username)
        found.ids.append(pk)
        if stored and stored not in plain:
            plain[stored] = decrypt(stored)
        found.passwords.append(plain[stored] if stored else "")
        if lacks_group:
            found.packages_without_group.add(package_id)
    return found


def provision_customers(customer_ids: Iterable[int], *, usernames: Iterable[str] = ()) -> int:
    """Replace the RADIUS rows of these customers' usernames (and of ``usernames``, e.g. a
    customer's previous one) with the rows their current state calls for; returns rows written.

    Idempotent and set-based: a handful of statements for one customer or for thousands.
    Runs in the caller's transaction and locks the customers it reads.
    """
    ids = sorted(set(customer_ids))
    extra = sorted({name for name in usernames if name})
    if not ids and not extra:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        found = _claimants(cursor, ids, extra, lock=True)
        if found.packages_without_group:
            provision_packages(found.packages_without_group)
        cursor.execute(
            WRITE_SQL,
            {"ids": found.ids, "passwords": found.passwords, "usernames": found.usernames},
        )
        return int(cursor.fetchone()[0])


# radcheck rows no status decides (see WANT_SQL): a change of status leaves them alone.
STATUS_FREE_CHECKS = ("Cleartext-Password", "Simultaneous-Use", "Calling-Station-Id")

# The rows a status decides of the customers that claim their username (live, and no live
# namesake of another ISP has a lower id), wanted and held, grouped as multisets: a row both
# wanted and held keeps its first copy, every other held copy goes and a wanted row not held
# is inserted. Returns the rows written and the packages whose group the inserted group rows
# name but which has no reply rows yet.
STATUS_WRITE_SQL = f"""
WITH pw(id, password) AS (
    SELECT cu.id, ''::text
      FROM unnest(%(ids)s::bigint[]) AS given(id)
      JOIN customers_customer cu ON cu.id = given.id
     WHERE cu.status <> 'deleted'
       AND NOT EXISTS (
           SELECT 1 FROM customers_customer x
            WHERE upper(x.username) = upper(cu.username) AND x.username = cu.username
              AND x.status <> 'deleted' AND x.id < cu.id)
), {WANT_FROM_PW_SQL},
rows(tbl, username, attribute, op, value, id, ord) AS (
    SELECT tbl, username, attribute, op, value, NULL::bigint, ord FROM want
     WHERE tbl <> 'radcheck' OR attribute NOT IN {STATUS_FREE_CHECKS!r}
    UNION ALL
    SELECT 'radcheck', r.username, attribute, op, value, r.id, NULL
      FROM radcheck r JOIN c USING (username) WHERE attribute NOT IN {STATUS_FREE_CHECKS!r}
    UNION ALL
    SELECT 'radreply', r.username, attribute, op, value, r.id, NULL
      FROM radreply r JOIN c USING (username)
    UNION ALL
    SELECT 'radusergroup', r.username, groupname, '', priority::text, r.id, NULL
      FROM radusergroup r JOIN c USING (username)
), diff AS (
    SELECT tbl, username, attribute, op, value, min(ord) AS ord, min(id) AS first,
           array_agg(id) FILTER (WHERE id IS NOT NULL) AS ids
      FROM rows GROUP BY tbl, username, attribute, op, value
), extra(tbl, id) AS (
    SELECT tbl, id FROM diff, unnest(ids) AS id WHERE ord IS NULL OR id <> first
), missing AS (
    SELECT * FROM diff WHERE ord IS NOT NULL AND ids IS NULL
), gone_check AS (
    DELETE FROM radcheck WHERE id IN (SELECT id FROM extra WHERE tbl = 'radcheck')
    RETURNING 1
), gone_reply AS (
    DELETE FROM radreply WHERE id IN (SELECT id FROM extra WHERE tbl = 'radreply')
    RETURNING 1
), gone_group AS (
    DELETE FROM radusergroup WHERE id IN (SELECT id FROM extra WHERE tbl = 'radusergroup')
    RETURNING 1
), new_check AS (
    INSERT INTO radcheck (username, attribute, op, value)
    SELECT username, attribute, op, value FROM missing WHERE tbl = 'radcheck'
     ORDER BY username, ord
    RETURNING 1
), new_reply AS (
    INSERT INTO radreply (username, attribute, op, value)
    SELECT username, attribute, op, value FROM missing WHERE tbl = 'radreply'
     ORDER BY username, ord
    RETURNING 1
), new_group AS (
    INSERT INTO radusergroup (username, groupname, priority)
    SELECT username, attribute, value::int FROM missing WHERE tbl = 'radusergroup'
     ORDER BY username
    RETURNING groupname
)
SELECT (SELECT count(*) FROM gone_check) + (SELECT count(*) FROM gone_reply)
       + (SELECT count(*) FROM gone_group) + (SELECT count(*) FROM new_check)
       + (SELECT count(*) FROM new_reply) + (SELECT count(*) FROM new_group),
       ARRAY(SELECT package_id FROM (
                 SELECT DISTINCT split_part(groupname, '-', 2)::bigint AS package_id
                   FROM new_group
                  WHERE groupname LIKE '{PACKAGE_GROUP}%%' OR groupname LIKE '{FUP_GROUP}%%'
             ) AS grouped
              WHERE NOT EXISTS (SELECT 1 FROM radgroupreply
                                 WHERE groupname = '{PACKAGE_GROUP}' || package_id))
"""


def provision_status(customer_ids: Iterable[int]) -> int:
    """After these customers' status changed between live ones (active, FUP, suspended,
    disabled): bring the rows a status decides (``Expiration``, ``Auth-Type``, static
    addresses, group) in line for the usernames they claim, writing only the rows that
    differ; returns rows deleted and inserted.

    What ``provision_customers`` would write, for the bulk suspension: the password,
    ``Simultaneous-Use`` and MAC rows do not depend on the status, so they are neither read
    nor rewritten (nor the passwords decrypted), and suspending 100,000 customers inserts
    their 100,000 ``Auth-Type`` rows instead of rewriting half a million, in one statement.
    Runs in the caller's transaction, which changed these customers and so holds their row
    locks.
    """
    ids = sorted(set(customer_ids))
    if not ids:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(STATUS_WRITE_SQL, {"ids": ids})
        written, lacking = cursor.fetchone()
        if lacking:  # a group the customers were just put in: give it its rows now
            provision_packages(lacking)
        return int(written)


# ---- sync and drift ---------------------------------------------------------------------------


def customer_batches(*, tenant_id: int | None = None, after: int = 0, size: int = 5000) -> Any:
    """Ids of customers (deleted ones too: their rows must go) in ascending batches."""
    last = after
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM customers_customer WHERE id > %(last)s"
                + (" AND tenant_id = %(tenant)s" if tenant_id is not None else "")
                + " ORDER BY id LIMIT %(size)s",
                {"last": last, "tenant": tenant_id, "size": size},
            )
            ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return
        last = ids[-1]
        yield ids


def tenant_ids(*, tenant_id: int | None = None) -> list[int]:
    """Every ISP (or the one given), whose suspended group a sync rewrites."""
    if tenant_id is not None:
        return [tenant_id]
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenancy_tenant ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def package_ids(*, tenant_id: int | None = None) -> list[int]:
    """Every package (of a tenant), whose groups a sync rewrites."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM catalog_package"
            + (" WHERE tenant_id = %s" if tenant_id is not None else "")
            + " ORDER BY id",
            [tenant_id] if tenant_id is not None else [],
        )
        return [row[0] for row in cursor.fetchall()]


DRIFT_SQL = f"""
WITH {WANT_SQL},
have(tbl, username, attribute, op, value) AS (
    SELECT 'radcheck', username, attribute, op, value FROM radcheck
     WHERE username = ANY(%(usernames)s)
    UNION ALL
    SELECT 'radreply', username, attribute, op, value FROM radreply
     WHERE username = ANY(%(usernames)s)
    UNION ALL
    SELECT 'radusergroup', username, groupname, '', priority::text FROM radusergroup
     WHERE username = ANY(%(usernames)s)
), w AS (
    SELECT tbl, username, attribute, op, value,
           row_number() OVER (PARTITION BY tbl, username, attribute, op, value) AS n
      FROM want
), h AS (
    SELECT tbl, username, attribute, op, value,
           row_number() OVER (PARTITION BY tbl, username, attribute, op, value) AS n
      FROM have
)
SELECT tbl, username, attribute, op, value, w.n IS NULL AS extra
  FROM w FULL JOIN h USING (tbl, username, attribute, op, value, n)
 WHERE w.n IS NULL OR h.n IS NULL
 ORDER BY username, tbl, attribute
"""

ORPHANS_SQL = """
SELECT DISTINCT r.username FROM (
    SELECT username FROM radcheck UNION SELECT username FROM radreply
    UNION SELECT username FROM radusergroup
) r
 WHERE NOT EXISTS (
    SELECT 1 FROM customers_customer c
     WHERE upper(c.username) = upper(r.username) AND c.username = r.username
       AND c.status <> 'deleted'
 )
 ORDER BY 1
"""

GROUPS_DRIFT_SQL = f"""
WITH {GROUPS_WANT_SQL},
w AS (
    SELECT groupname, attribute, op, value,
           row_number() OVER (PARTITION BY groupname, attribute, op, value) AS n
      FROM group_want
), h AS (
    SELECT groupname, attribute, op, value,
           row_number() OVER (PARTITION BY groupname, attribute, op, value) AS n
      FROM radgroupreply
     WHERE groupname LIKE '{PACKAGE_GROUP}%%' OR groupname LIKE '{FUP_GROUP}%%'
        OR groupname LIKE '{SUSPENDED_GROUP}%%'
)
SELECT groupname, attribute, op, value, w.n IS NULL AS extra
  FROM w FULL JOIN h USING (groupname, attribute, op, value, n)
 WHERE w.n IS NULL OR h.n IS NULL
 ORDER BY groupname, attribute
"""


@dataclass
class Drift:
    """What differs between the RADIUS tables and what provisioning would write."""

    # username -> [(kind, "tbl attribute op value")], kind "missing" or "extra"
    users: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # usernames with rows but no live customer
    orphans: list[str] = field(default_factory=list)
    # group name -> [(kind, "attribute op value")]
    groups: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # ids of the customers whose rows differ
    customer_ids: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.users or self.orphans or self.groups)

    def verdict(self, username: str) -> str:
        """missing (only rows absent), extra (only rows that should not be there) or
        different (both, e.g. a changed value)."""
        kinds = {kind for kind, _ in self.users.get(username, [])}
        return kinds.pop() if len(kinds) == 1 else "different"


def drift(*, tenant_id: int | None = None, batch: int = 5000) -> Drift:
    """Compare every customer's (and package's) rows with what provisioning would write."""
    result = Drift()
    for ids in customer_batches(tenant_id=tenant_id, size=batch):
        with connection.cursor() as cursor:
            found = _claimants(cursor, ids, [], lock=False)
            cursor.execute(
                DRIFT_SQL,
                {"ids": found.ids, "passwords": found.passwords, "usernames": found.usernames},
            )
            drifted: set[str] = set()
            for tbl, username, attribute, op, value, extra in cursor.fetchall():
                shown = "•••" if attribute == "Cleartext-Password" else value
                line = f"{tbl} {attribute} {op} {shown}".replace("  ", " ")
                result.users.setdefault(username, []).append(
                    ("extra" if extra else "missing", line)
                )
                drifted.add(username)
            if drifted:
                cursor.execute(
                    "SELECT id FROM customers_customer WHERE id = ANY(%s) AND username = ANY(%s)",
                    [ids, sorted(drifted)],
                )
                result.customer_ids += [row[0] for row in cursor.fetchall()]
    with connection.cursor() as cursor:
        if tenant_id is None:
            cursor.execute(ORPHANS_SQL)
            result.orphans = [row[0] for row in cursor.fetchall()]
        packages = package_ids(tenant_id=tenant_id)
        tenants = tenant_ids(tenant_id=tenant_id)
        cursor.execute(GROUPS_DRIFT_SQL, {"package_ids": packages, "tenant_ids": tenants})
        wanted_groups = set(group_names(packages, tenants))
        for groupname, attribute, op, value, extra in cursor.fetchall():
            if extra and tenant_id is not None and groupname not in wanted_groups:
                continue  # another tenant's package or suspended group
            result.groups.setdefault(groupname, []).append(
                ("extra" if extra else "missing", f"{attribute} {op} {value}")
            )
    return result


def repair(found: Drift) -> int:
    """Provision what ``drift()`` found: drifted customers, orphan usernames and groups."""
    with transaction.atomic():
        written = provision_customers(found.customer_ids, usernames=found.orphans)
        # A group of a package (or ISP) that no longer exists is rewritten to nothing.
        suspended = {name for name in found.groups if name.startswith(SUSPENDED_GROUP)}
        written += provision_packages(
            {int(name.partition("-")[2]) for name in set(found.groups) - suspended}
        )
        written += provision_suspended_groups({int(name.partition("-")[2]) for name in suspended})
    return written
