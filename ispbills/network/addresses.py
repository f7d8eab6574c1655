"""Address arithmetic of pools in SQL: usage counts, the next free address, static checks.

Everything is set-based on PostgreSQL's ``inet``/``cidr`` operators (``<<`` is "inside"); no
Python loop ever walks the addresses of a pool. Addresses are compared as hosts
(``host(x)::inet``), since an ``inet`` carries a mask that would otherwise take part.

Counting units: IPv4 pools count addresses; IPv6 prefix pools count prefixes of their
delegated length, other IPv6 pools /64 links (static pools: addresses).
"""

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import DecimalField, IntegerField, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from ispbills.network.models import IpPool, exclusion_bounds

POOL = "network_ippool"

# The length of one unit of a pool (see the module docstring).
UNIT_LENGTH = f"""(CASE WHEN {POOL}.family = 4 THEN 32
    WHEN {POOL}.prefix_length IS NOT NULL THEN {POOL}.prefix_length
    WHEN {POOL}.purpose = 'static' THEN 128 ELSE 64 END)"""
SIZE = f"power(2::numeric, {UNIT_LENGTH} - masklen({POOL}.cidr))"
# IPv4 networks shorter than /31 lose their network and broadcast addresses.
RESERVED = f"(CASE WHEN {POOL}.family = 4 AND masklen({POOL}.cidr) < 31 THEN 2 ELSE 0 END)"
FIRST = (
    f"(host(network({POOL}.cidr))::inet "
    f"+ CASE WHEN {POOL}.family = 4 AND masklen({POOL}.cidr) >= 31 THEN 0 ELSE 1 END)"
)
LAST = (
    f"(host(broadcast({POOL}.cidr))::inet "
    f"- CASE WHEN {POOL}.family = 4 AND masklen({POOL}.cidr) < 31 THEN 1 ELSE 0 END)"
)
# Exclusions are stored merged ("a" or "a-b"), so their clipped sizes add up.
EXCLUDED = f"""(SELECT coalesce(sum(
        greatest(least(x.hi, {LAST}) - greatest(x.lo, {FIRST}) + 1, 0)), 0)
    FROM (SELECT split_part(e, '-', 1)::inet AS lo,
                 coalesce(nullif(split_part(e, '-', 2), ''), split_part(e, '-', 1))::inet AS hi
            FROM unnest({POOL}.exclusions) e) x)"""
# A radacct row counts when its username's claimant (customers.models.claimant_of: the live
# customer holding it, lowest id first, across ISPs) is a customer of the pool's ISP: two ISPs
# may both use 100.64.0.0/10 behind their own routers, and a username only one can log in.
_OWN_SESSION = f"""(SELECT oc.tenant_id FROM customers_customer oc
    WHERE upper(oc.username) = upper(r.username) AND oc.username = r.username
      AND oc.status <> 'deleted'
    ORDER BY oc.id LIMIT 1) = {POOL}.tenant_id"""
# The addresses (IPv4, static IPv6) or prefixes (IPv6) taken: statically assigned to a live
# customer, or held by an open session.
TAKEN = f"""(
    SELECT c.static_ipv4 FROM customers_customer c
     WHERE {POOL}.family = 4 AND c.tenant_id = {POOL}.tenant_id AND c.status <> 'deleted'
       AND c.static_ipv4 << {POOL}.cidr
    UNION ALL
    SELECT c.static_ipv6 FROM customers_customer c
     WHERE {POOL}.family = 6 AND c.tenant_id = {POOL}.tenant_id AND c.status <> 'deleted'
       AND c.static_ipv6 << {POOL}.cidr
)"""
ONLINE = f"""(
    SELECT r.framedipaddress FROM radacct r
     WHERE {POOL}.family = 4 AND r.acctstoptime IS NULL AND r.framedipaddress << {POOL}.cidr
       AND {_OWN_SESSION}
    UNION ALL
    SELECT coalesce(r.delegatedipv6prefix, r.framedipv6prefix, r.framedipv6address)
      FROM radacct r
     WHERE {POOL}.family = 6 AND r.acctstoptime IS NULL
       AND coalesce(r.delegatedipv6prefix, r.framedipv6prefix, r.framedipv6address)
           << {POOL}.cidr
       AND {_OWN_SESSION}
)"""

USAGE_ANNOTATIONS: dict[str, Any] = {
    "usage_size": RawSQL(SIZE, [], output_field=DecimalField(max_digits=40, decimal_places=0)),
    "usage_reserved": RawSQL(RESERVED, [], output_field=IntegerField()),
    "usage_excluded": RawSQL(EXCLUDED, [], output_field=IntegerField()),
    "usage_assigned": RawSQL(f"(SELECT count(*) FROM {TAKEN} t)", [], output_field=IntegerField()),
    "usage_online": RawSQL(
        f"(SELECT count(DISTINCT a) FROM {ONLINE} o(a))", [], output_field=IntegerField()
    ),
    "usage_in_use": RawSQL(
        f"(SELECT count(DISTINCT a) FROM ({TAKEN} UNION ALL {ONLINE}) u(a))",
        [],
        output_field=IntegerField(),
    ),
}


@dataclass(frozen=True)
class Usage:
    """How a pool's addresses (or prefixes) are used."""

    size: int
    reserved: int
    excluded: int
    assigned: int
    online: int
    in_use: int

    @property
    def usable(self) -> int:
        return self.size - self.reserved - self.excluded

    @property
    def free(self) -> int:
        return max(self.usable - self.in_use, 0)

    def percent(self, count: int) -> float:
        return round(100 * count / self.usable, 1) if self.usable > 0 else 0.0

    @property
    def assigned_percent(self) -> float:
        return self.percent(self.assigned)

    @property
    def online_percent(self) -> float:
        # Online sessions on static addresses are already counted as assigned.
        return self.percent(self.in_use - self.assigned)


def with_usage(queryset: QuerySet[IpPool]) -> QuerySet[IpPool]:
    """The pools with their usage counts (one correlated subquery each, no address loops)."""
    return queryset.annotate(**USAGE_ANNOTATIONS)


def usage_of(pool: Any) -> Usage:
    """The usage of a pool annotated by ``with_usage()`` (or read now)."""
    if not hasattr(pool, "usage_size"):
        pool = with_usage(IpPool.objects.filter(pk=pool.pk)).get()
    return Usage(
        size=int(pool.usage_size),
        reserved=pool.usage_reserved,
        excluded=pool.usage_excluded,
        assigned=pool.usage_assigned,
        online=pool.usage_online,
        in_use=pool.usage_in_use,
    )


# The lowest address that is usable, not excluded, not assigned and not online: the
# candidates are the first usable address and the one after each taken address or
# exclusion, so the query reads the taken addresses once instead of walking the pool.
NEXT_FREE_SQL = f"""
WITH {POOL} AS (SELECT * FROM network_ippool WHERE id = %(pool)s),
bounds AS (SELECT {FIRST} AS first, {LAST} AS last FROM {POOL}),
ex AS (
    SELECT split_part(e, '-', 1)::inet AS lo,
           coalesce(nullif(split_part(e, '-', 2), ''), split_part(e, '-', 1))::inet AS hi
      FROM {POOL}, unnest({POOL}.exclusions) e
),
used AS (SELECT host(a)::inet AS a FROM {POOL}, LATERAL ({TAKEN} UNION ALL {ONLINE}) u(a)),
candidate AS (
    SELECT first AS a FROM bounds
    UNION SELECT a + 1 FROM used
    UNION SELECT hi + 1 FROM ex
)
SELECT host(min(candidate.a))
  FROM candidate, bounds
 WHERE candidate.a BETWEEN bounds.first AND bounds.last
   AND NOT EXISTS (SELECT 1 FROM used WHERE used.a = candidate.a)
   AND NOT EXISTS (SELECT 1 FROM ex WHERE candidate.a BETWEEN ex.lo AND ex.hi)
"""


def next_free(pool: IpPool, *, lock: bool = False) -> str | None:
    """The lowest free address of a pool (None when full). ``lock`` holds a transaction lock
    on the pool, so two registrations in flight do not pick the same address."""
    with connection.cursor() as cursor:
        if lock:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('network-pool-' || %s, 0))",
                [pool.pk],
            )
        cursor.execute(NEXT_FREE_SQL, {"pool": pool.pk})
        row = cursor.fetchone()
    return row[0] if row else None


# For each address: the ISP's pool holding it (pools do not overlap: one at most), whether it
# is that pool's network or broadcast address, and whether the ISP has static pools of its
# family at all.
CONTAINING_SQL = """
SELECT host(a.address), p.name, p.purpose, masklen(p.cidr), p.family,
       host(network(p.cidr)) = host(a.address), host(broadcast(p.cidr)) = host(a.address),
       p.exclusions,
       EXISTS (SELECT 1 FROM network_ippool s
                WHERE s.tenant_id = %(tenant)s AND s.purpose = 'static'
                  AND s.family = family(a.address))
  FROM unnest(%(addresses)s::inet[]) AS a(address)
  LEFT JOIN network_ippool p ON p.tenant_id = %(tenant)s AND p.cidr >>= a.address
"""


def static_address_problems(tenant_id: int, addresses: Iterable[str]) -> dict[str, str]:
    """Why addresses cannot be customers' static addresses in this ISP, by address (in the
    canonical form); addresses that can be are absent. One query for any number.

    An address must lie in one of the ISP's static pools when the ISP has any (of its
    family), never in a dynamic or suspended pool, and never be a static pool's network,
    broadcast or excluded address.
    """
    wanted = sorted({str(ipaddress.ip_address(address)) for address in addresses})
    if not wanted:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(CONTAINING_SQL, {"tenant": tenant_id, "addresses": wanted})
        rows = cursor.fetchall()
    problems: dict[str, str] = {}
    for address, name, purpose, masklen, family, network, broadcast, exclusions, any_static in rows:
        if name is None:
            if any_static:
                problems[address] = _("Not inside any of the static IP pools.")
        elif purpose != IpPool.Purpose.STATIC:
            problems[address] = _(
                "Inside the %(purpose)s pool %(pool)s, whose addresses the router hands out."
            ) % {"purpose": IpPool.Purpose(purpose).label.lower(), "pool": name}
        elif family == 4 and masklen < 31 and (network or broadcast):
            problems[address] = _(
                "The network or broadcast address of pool %(pool)s cannot be assigned."
            ) % {"pool": name}
        else:
            value = int(ipaddress.ip_address(address))
            if any(low <= value <= high for low, high in exclusion_bounds(exclusions)):
                problems[address] = _("Excluded from pool %(pool)s.") % {"pool": name}
    return problems


def static_address_problem(tenant_id: int, address: str) -> str | None:
    """Why an address cannot be a customer's static address in this ISP (None: it can)."""
    return static_address_problems(tenant_id, [address]).get(str(ipaddress.ip_address(address)))
