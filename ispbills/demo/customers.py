"""Demo customers: a Dhaka catalog and customers seeded set-based, a million in under a minute.

``seed_catalog()`` goes through the catalog and customer services, so it is audited and
checked like staff work. ``seed_customers()`` is one ``INSERT … SELECT FROM generate_series``
per batch: every value is derived from the row's index in SQL, so unique columns (username,
mobile, MAC, static IP) stay unique across repeated runs, and one audit row sums it up.
"""

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from ispbills.catalog import services as catalog_services
from ispbills.catalog.models import BillingProfile, Package, ServiceModel, VatProfile
from ispbills.core import audit, clock
from ispbills.core.fields import encrypt
from ispbills.customers import services as customer_services
from ispbills.customers.models import Customer, CustomField, Zone
from ispbills.tenancy.models import Membership, Operator, Tenant
from ispbills.tenancy.roles import Role

RESELLER = "Mirpur Link"
DEMO_SERVICE_PASSWORD = "demo-1234"

# Name, service model, down/up Mbps, price (BDT), billing type, validity days, extras.
PACKAGES: list[tuple[str, str, int, Decimal, str, int, dict[str, Any]]] = [
    ("Home 10 Mbps", ServiceModel.PPPOE, 10, Decimal("500"), "monthly", 30, {}),
    (
        "Home 20 Mbps",
        ServiceModel.PPPOE,
        20,
        Decimal("800"),
        "monthly",
        30,
        {"data_limit_mb": 500_000, "fup_download_kbps": 5_000, "fup_upload_kbps": 5_000},
    ),
    (
        "Home 40 Mbps",
        ServiceModel.PPPOE,
        40,
        Decimal("1200"),
        "monthly",
        30,
        {"burst_download_kbps": 50_000, "burst_upload_kbps": 50_000},
    ),
    ("Business 100 Mbps", ServiceModel.PPPOE, 100, Decimal("5000"), "monthly", 30, {}),
    ("Hotspot Day Pass 5 Mbps", ServiceModel.HOTSPOT, 5, Decimal("20"), "daily", 1, {}),
    ("Static IP 30 Mbps", ServiceModel.STATIC, 30, Decimal("2500"), "monthly", 30, {}),
]
# The reseller's own price for a master package.
VARIANT = ("Home 20 Mbps", "Mirpur Home 20 Mbps", Decimal("750"))
# How often each package is sold, relative to the others.
PACKAGE_WEIGHTS = {
    "Home 10 Mbps": 30,
    "Home 20 Mbps": 25,
    "Mirpur Home 20 Mbps": 25,
    "Home 40 Mbps": 15,
    "Business 100 Mbps": 3,
    "Hotspot Day Pass 5 Mbps": 8,
    "Static IP 30 Mbps": 3,
}
BILLING_PROFILES: list[tuple[str, dict[str, Any]]] = [
    ("Monthly due 10th (3 grace days)", {"term": "monthly", "due_day": 10, "grace_days": 3}),
    ("Monthly due 1st", {"term": "monthly", "due_day": 1}),
    ("Daily", {"term": "daily"}),
]
ZONES = {
    "Mirpur": ["Mirpur-1", "Mirpur-2", "Mirpur-10", "Mirpur-12", "Pallabi", "Kazipara"],
    "Uttara": ["Uttara Sector 4", "Uttara Sector 7", "Uttara Sector 11", "Uttara Sector 13"],
    "Dhanmondi": ["Dhanmondi 15", "Dhanmondi 27", "Jigatola", "Kalabagan"],
    "Gulshan": ["Gulshan-1", "Gulshan-2", "Banani", "Niketan"],
    "Mohammadpur": ["Mohammadpur Town Hall", "Shyamoli", "Adabor", "Lalmatia"],
    "Badda": ["Merul Badda", "Uttar Badda", "Aftabnagar", "Shahjadpur"],
}
CONNECTION_TYPES = ["Fibre", "Cable", "Wireless"]
CUSTOM_FIELDS = [
    ("connection_type", "Connection type", CustomField.Kind.CHOICE, CONNECTION_TYPES),
    ("connection_date", "Connection date", CustomField.Kind.DATE, []),
]

# Names in English and Bangla, pair by pair, so both scripts share one choice of index.
MEN = [
    ("Abdul", "আব্দুল"), ("Rahim", "রহিম"), ("Karim", "করিম"), ("Jamal", "জামাল"),
    ("Kamal", "কামাল"), ("Rafiq", "রফিক"), ("Habib", "হাবিব"), ("Nasir", "নাসির"),
    ("Tanvir", "তানভীর"), ("Imran", "ইমরান"), ("Sakib", "সাকিব"), ("Arif", "আরিফ"),
    ("Faisal", "ফয়সাল"), ("Mahmud", "মাহমুদ"), ("Rashed", "রাশেদ"), ("Sohel", "সোহেল"),
    ("Sumon", "সুমন"), ("Shahin", "শাহিন"), ("Jahid", "জাহিদ"), ("Mamun", "মামুন"),
]  # fmt: skip
WOMEN = [
    ("Fatema", "ফাতেমা"), ("Ayesha", "আয়েশা"), ("Nusrat", "নুসরাত"), ("Farhana", "ফারহানা"),
    ("Shirin", "শিরিন"), ("Sadia", "সাদিয়া"), ("Tania", "তানিয়া"), ("Rokeya", "রোকেয়া"),
    ("Nasrin", "নাসরিন"), ("Sharmin", "শারমিন"), ("Mim", "মিম"), ("Ruma", "রুমা"),
    ("Lipi", "লিপি"), ("Mitu", "মিতু"), ("Anika", "আনিকা"), ("Tasnim", "তাসনিম"),
    ("Sabrina", "সাবরিনা"), ("Maliha", "মালিহা"), ("Rupa", "রুপা"), ("Jannat", "জান্নাত"),
]  # fmt: skip
# Family names only men carry, names anyone carries, names only women carry.
FAMILY_MEN = [("Uddin", "উদ্দিন"), ("Miah", "মিয়া"), ("Mollah", "মোল্লা")]
FAMILY_ANY = [
    ("Rahman", "রহমান"), ("Hossain", "হোসেন"), ("Islam", "ইসলাম"), ("Ahmed", "আহমেদ"),
    ("Alam", "আলম"), ("Chowdhury", "চৌধুরী"), ("Khan", "খান"), ("Sarkar", "সরকার"),
    ("Haque", "হক"), ("Kabir", "কবির"), ("Siddique", "সিদ্দিকী"), ("Talukder", "তালুকদার"),
    ("Bhuiyan", "ভূঁইয়া"),
]  # fmt: skip
FAMILY_WOMEN = [("Akter", "আক্তার"), ("Begum", "বেগম"), ("Sultana", "সুলতানা"), ("Khatun", "খাতুন")]
# Router and ONU vendors common in Dhaka (TP-Link, Tenda, Huawei, ZTE, MikroTik).
MAC_PREFIXES = ["50:C7:BF", "C8:3A:35", "00:E0:FC", "34:4B:50", "4C:5E:0C"]
STATIC_IP_BASE = "103.108.0.0"
# From this many rows (and at least the table's size) indexes are rebuilt rather than updated.
BULK_ROWS = 100_000


@dataclass(frozen=True)
class Catalog:
    """What ``seed_catalog()`` made (or found): packages, profiles, zones and fields by name."""

    packages: dict[str, Package]
    billing_profiles: dict[str, BillingProfile]
    vat_profile: VatProfile
    zones: dict[str, Zone]
    custom_fields: dict[str, CustomField]


def _root(tenant: Tenant) -> Operator:
    return Operator.objects.get(tenant=tenant, parent=None)


def _find(model: Any, operator: Operator, name: str) -> Any:
    return model.objects.filter(
        tenant_id=operator.tenant_id, operator=operator, name__iexact=name
    ).first()


@transaction.atomic
def seed_catalog(tenant: Tenant) -> Catalog:
    """Packages, billing and VAT profiles, the Dhaka zone tree and custom fields (idempotent)."""
    root = _root(tenant)
    vat = _find(VatProfile, root, "VAT 5%") or catalog_services.save_vat_profile(
        actor=None, operator=root, name="VAT 5%", rate="5", inclusive=True
    )
    profiles = {
        name: _find(BillingProfile, root, name)
        or catalog_services.save_billing_profile(actor=None, operator=root, name=name, **values)
        for name, values in BILLING_PROFILES
    }
    packages: dict[str, Package] = {}
    for name, model, mbps, price, billing_type, days, extra in PACKAGES:
        packages[name] = _find(Package, root, name) or catalog_services.save_package(
            actor=None,
            operator=root,
            name=name,
            service_model=model,
            download_kbps=mbps * 1000,
            upload_kbps=mbps * 1000,
            price=price,
            billing_type=billing_type,
            validity_days=days,
            vat_profile=vat,
            **extra,
        )
    reseller = Operator.objects.filter(tenant=tenant, parent=root, name=RESELLER).first()
    if reseller is not None:
        master, name, price = VARIANT
        packages[name] = _find(Package, reseller, name) or catalog_services.save_package(
            actor=None,
            operator=reseller,
            parent=packages[master],
            name=name,
            price=price,
            vat_profile=vat,
        )
    zones: dict[str, Zone] = {}

    def zone(name: str, kind: str, parent: Zone | None) -> Zone:
        found = Zone.objects.filter(tenant=tenant, parent=parent, name__iexact=name).first()
        zones[name] = found or customer_services.save_zone(
            actor=None, operator=root, name=name, kind=kind, parent=parent
        )
        return zones[name]

    dhaka = zone("Dhaka", Zone.Kind.DISTRICT, None)
    for thana, areas in ZONES.items():
        parent = zone(thana, Zone.Kind.THANA, dhaka)
        for area in areas:
            zone(area, Zone.Kind.AREA, parent)
    fields = {
        key: CustomField.objects.filter(tenant=tenant, key=key).first()
        or customer_services.save_custom_field(
            actor=None,
            operator=root,
            key=key,
            label=label,
            kind=kind,
            choices=choices,
            position=position,
        )
        for position, (key, label, kind, choices) in enumerate(CUSTOM_FIELDS, start=1)
    }
    return Catalog(packages, profiles, vat, zones, fields)


@dataclass(frozen=True)
class _Slot:
    """One way a customer can be sold: operator, package and billing profile."""

    operator_id: int
    package_id: int
    service_model: str
    billing_profile_id: int | None
    validity_days: int


def _slots(tenant: Tenant) -> dict[_Slot, int]:
    """Every (operator, usable package, profile) combination and how common it is."""
    operators = list(Operator.objects.filter(tenant=tenant, is_active=True))
    packages = list(
        Package.objects.filter(tenant=tenant, is_active=True).select_related("operator")
    )
    profiles = list(
        BillingProfile.objects.filter(tenant=tenant, is_active=True, operator__parent=None)
    )
    monthly = [p.pk for p in profiles if p.term == BillingProfile.Term.MONTHLY] or [None]
    daily = [p.pk for p in profiles if p.term == BillingProfile.Term.DAILY] or [None]
    slots: dict[_Slot, int] = {}
    for operator in operators:
        usable = [p for p in packages if operator.path.startswith(p.operator.path)]
        # Where a reseller sells its own variant of a master package, it sells the variant.
        varied = {p.parent_id for p in usable if p.parent_id is not None}
        weight_of_operator = {0: 6, 1: 3}.get(operator.depth, 2)
        for package in usable:
            if package.pk in varied:
                continue
            daily_billed = package.billing_type == Package.BillingType.DAILY
            for profile_id in daily if daily_billed else monthly:
                slot = _Slot(
                    operator.pk,
                    package.pk,
                    package.service_model,
                    profile_id,
                    package.validity_days,
                )
                slots[slot] = weight_of_operator * PACKAGE_WEIGHTS.get(package.name, 5)
    return slots


def _next_index(tenant: Tenant) -> int:
    """The number after the highest seeded username (c0000123) of the tenant."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(max(substr(username, 2)::bigint), 0) FROM customers_customer"
            " WHERE tenant_id = %s AND username ~* '^c[0-9]{1,18}$'",
            [tenant.pk],
        )
        row = cursor.fetchone()
    return int(row[0] if row else 0) + 1


def seeded_username(index: int) -> str:
    """The username of the ``index``-th seeded customer (as the SQL below makes it)."""
    return f"c{index:07d}"


def seeded_mobile(index: int) -> str:
    """The mobile of the ``index``-th seeded customer (as the SQL below makes it)."""
    return f"+8801{3 + index % 7}{(index * 73939133 + 10007) % 100_000_000:08d}"


# One statement per batch. ``a``, ``b`` and ``c`` are independent pseudo-random numbers of the
# row's index ``i``; each choice reads its own digits of them. Unique columns derive from ``i``:
# the mobile is (i mod 7, i * 73939133 mod 10^8) and the MAC (i mod 5, i * 2654435761 mod 2^24),
# both one-to-one for hundreds of millions of rows (the moduli are coprime); a static IP adds
# ``i`` to a base address. ``OFFSET 0`` keeps each step computed once per row: without it the
# planner folds the steps together and repeats every expression wherever a later step uses it.
INSERT_SQL = """
WITH g AS (
    SELECT i,
           hashint8extended(i, 1) & 9223372036854775807 AS a,
           hashint8extended(i, 2) & 9223372036854775807 AS b,
           hashint8extended(i, 3) & 9223372036854775807 AS c
      FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i
    OFFSET 0
), k AS (
    SELECT g.*,
           (%(slot_pick)s::int[])[1 + b %% %(n_picks)s] AS slot,
           1 + b / 1000000 %% %(n_zones)s AS zone,
           upper(lpad(to_hex(i * 2654435761 %% 16777216), 6, '0')) AS mac_tail
      FROM g
    OFFSET 0
), r AS (
    SELECT k.*,
           CASE WHEN a %% 100 < 84 THEN 'active'
                WHEN a %% 100 < 90 THEN 'suspended'
                WHEN a %% 100 < 94 THEN 'disabled'
                WHEN a %% 100 < 97 THEN 'fup'
                ELSE 'deleted' END AS status,
           a / 100 %% 100 < 35 AS bangla,
           -- Given names: men, then women. Family names: men only, anyone, women only.
           1 + CASE WHEN a / 10000000000000 %% 2 = 0
                    THEN %(n_men)s + a / 10000 %% %(n_women)s
                    ELSE a / 10000 %% %(n_men)s END AS given_no,
           1 + CASE WHEN a / 10000000000000 %% 2 = 0
                    THEN %(family_women_from)s + a / 10000000 %% %(n_family_women)s
                    ELSE a / 10000000 %% %(n_family_men)s END AS family_no,
           a / 10000000000 %% 50 = 0 AND a %% 100 < 84 AS is_trial,
           (1 + b / 10000000000000 %% 120)::text
               || CASE WHEN b / 1000 %% 6 = 0 THEN '/A' ELSE '' END AS house,
           (1 + b / 10000000000000000 %% 30)::text AS road,
           (%(slot_operator)s::bigint[])[slot] AS operator_id,
           (%(slot_package)s::bigint[])[slot] AS package_id,
           (%(models)s::text[])[(%(slot_model)s::int[])[slot]] AS service_model,
           nullif((%(slot_profile)s::bigint[])[slot], 0) AS billing_profile_id,
           (%(slot_days)s::int[])[slot] AS validity_days,
           (%(zone_ids)s::bigint[])[zone] AS zone_id,
           (%(zone_names)s::text[])[zone] AS zone_name
      FROM k
    OFFSET 0
), s AS (
    SELECT r.*,
           CASE WHEN bangla
                THEN (%(given_bn)s::text[])[given_no] || ' ' || (%(family_bn)s::text[])[family_no]
                ELSE (%(given_en)s::text[])[given_no] || ' ' || (%(family_en)s::text[])[family_no]
           END AS name,
           CASE WHEN is_trial THEN %(now)s - (c %% 4320) * interval '1 minute'
                ELSE %(now)s - (30 + c %% 700) * interval '1 day'
                     - (c / 1000 %% 1440) * interval '1 minute'
           END AS created_at
      FROM r
    OFFSET 0
), t AS (
    SELECT s.*,
           CASE WHEN status IN ('active', 'fup')
                THEN %(now)s + (1 + c / 10000000 %% (validity_days * 24)) * interval '1 hour'
                WHEN status = 'suspended'
                THEN %(now)s - (1 + c / 10000000 %% 14) * interval '1 day'
                ELSE greatest(created_at + interval '1 day',
                              %(now)s - (15 + c / 10000000 %% 300) * interval '1 day')
           END AS expires_at
      FROM s
    OFFSET 0
), u AS (
    SELECT t.*,
           CASE WHEN status = 'active' THEN created_at
                WHEN status = 'fup' THEN greatest(created_at, %(now)s - (c %% 9) * interval '1 day')
                ELSE least(expires_at + interval '3 days', %(now)s)
           END AS status_changed_at
      FROM t
    OFFSET 0
)
INSERT INTO customers_customer (
    tenant_id, operator_id, zone_id, package_id, billing_profile_id, manager_id, parent_id,
    username, service_password, name, mobile, email, national_id, address, house, road,
    service_model, custom_price, mac_address, static_ipv4, static_ipv6, expires_at,
    advance_balance, sales_notes, custom_fields, is_trial, trial_ends_at, status, status_reason,
    status_changed_at, status_before_delete, deleted_at, created_at, updated_at
)
SELECT %(tenant)s,
       operator_id,
       zone_id,
       package_id,
       billing_profile_id,
       CASE WHEN b / 1000000000000 %% 10 = 0
            THEN (%(managers)s::bigint[])[1 + i %% %(n_managers)s] END,
       NULL,
       'c' || lpad(i::text, greatest(7, length(i::text)), '0'),
       CASE WHEN service_model = 'static' THEN '' ELSE %(password)s END,
       name,
       '+8801' || (3 + i %% 7)::text || lpad(((i * 73939133 + 10007) %% 100000000)::text, 8, '0'),
       CASE WHEN NOT bangla AND c / 100000000000 %% 4 = 0
            THEN lower(split_part(name, ' ', 1)) || '.' || i::text || '@example.com'
            ELSE '' END,
       CASE WHEN b / 10000000000 %% 5 < 2
            THEN (1000000000 + b %% 9000000000)::text ELSE '' END,
       coalesce(zone_name || ', ', '') || 'Dhaka',
       house,
       road,
       service_model,
       NULL,
       CASE WHEN b / 1000000000 %% 10 < 6
            THEN (%(mac_prefixes)s::text[])[1 + i %% 5] || ':' || substr(mac_tail, 1, 2)
                 || ':' || substr(mac_tail, 3, 2) || ':' || substr(mac_tail, 5, 2)
            ELSE '' END,
       CASE WHEN service_model = 'static' THEN %(ip_base)s::inet + i END,
       NULL,
       expires_at,
       0,
       '',
       jsonb_build_object(
           'connection_type', (ARRAY['Fibre', 'Cable', 'Wireless'])[1 + i %% 3],
           'connection_date', (created_at AT TIME ZONE %(timezone)s)::date::text
       ),
       is_trial,
       CASE WHEN is_trial THEN created_at + interval '7 days' END,
       status,
       CASE status WHEN 'suspended' THEN 'Bill unpaid'
                   WHEN 'disabled' THEN 'Asked to stop the service'
                   WHEN 'fup' THEN 'Data limit reached'
                   WHEN 'deleted' THEN 'Moved away'
                   ELSE '' END,
       status_changed_at,
       CASE WHEN status = 'deleted'
            THEN CASE WHEN c / 100000000000 %% 2 = 0 THEN 'disabled' ELSE 'suspended' END
            ELSE '' END,
       CASE WHEN status = 'deleted' THEN status_changed_at END,
       created_at,
       status_changed_at
  FROM u
"""


def _params(tenant: Tenant) -> dict[str, Any]:
    """The catalog, zones, managers and name lists the INSERT picks from, as SQL arrays."""
    slots = _slots(tenant)
    if not slots:
        seed_catalog(tenant)
        slots = _slots(tenant)
    # A row's hash picks from a list where each slot appears ``weight`` times.
    picks = [number for number, weight in enumerate(slots.values(), start=1) for _ in range(weight)]
    models = sorted({slot.service_model for slot in slots})
    root = _root(tenant)
    zones = list(
        Zone.objects.filter(tenant=tenant, kind=Zone.Kind.AREA, operator=root).order_by("pk")
    )
    managers = list(
        Membership.objects.filter(
            operator=root, role=Role.MANAGER, user__is_active=True
        ).values_list("user_id", flat=True)
    )
    return {
        "tenant": tenant.pk,
        "now": clock.now(),
        "timezone": tenant.timezone,
        # Encrypted once: every seeded account shares the token, which decrypts as usual.
        "password": encrypt(DEMO_SERVICE_PASSWORD),
        "ip_base": STATIC_IP_BASE,
        "mac_prefixes": MAC_PREFIXES,
        # Fixed-width (number) arrays: reading an element costs the same wherever it is.
        "slot_pick": picks,
        "n_picks": len(picks),
        "slot_operator": [slot.operator_id for slot in slots],
        "slot_package": [slot.package_id for slot in slots],
        "models": models,
        "slot_model": [models.index(slot.service_model) + 1 for slot in slots],
        "slot_profile": [slot.billing_profile_id or 0 for slot in slots],
        "slot_days": [slot.validity_days for slot in slots],
        "zone_ids": [zone.pk for zone in zones],
        "zone_names": [zone.name for zone in zones],
        "n_zones": max(len(zones), 1),
        "managers": managers,
        "n_managers": max(len(managers), 1),
        "given_en": [en for en, _bn in MEN + WOMEN],
        "given_bn": [bn for _en, bn in MEN + WOMEN],
        "n_men": len(MEN),
        "n_women": len(WOMEN),
        "family_en": [en for en, _bn in FAMILY_MEN + FAMILY_ANY + FAMILY_WOMEN],
        "family_bn": [bn for _en, bn in FAMILY_MEN + FAMILY_ANY + FAMILY_WOMEN],
        "n_family_men": len(FAMILY_MEN) + len(FAMILY_ANY),
        "family_women_from": len(FAMILY_MEN),
        "n_family_women": len(FAMILY_ANY) + len(FAMILY_WOMEN),
    }


@contextmanager
def _indexes_rebuilt(cursor: Any) -> Iterator[None]:
    """Drop the customer table's secondary indexes and foreign keys; rebuild them after.

    PostgreSQL's advice for bulk loads: one sort per index and one join per foreign key cost
    far less than maintaining ~20 indexes and checking 5 keys row by row. DDL is
    transactional, so a failure restores everything; other sessions wait on the table.
    """
    table = Customer._meta.db_table
    quote = connection.ops.quote_name
    cursor.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
        " WHERE indrelid = %s::regclass"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)",
        [table],
    )
    indexes = cursor.fetchall()
    # Per-column statistics targets (set by migrations for the search indexes) are not part
    # of the index definition: keep them to set them again.
    cursor.execute(
        "SELECT a.attrelid::regclass::text, a.attnum, a.attstattarget FROM pg_attribute a"
        " JOIN pg_index i ON i.indexrelid = a.attrelid WHERE i.indrelid = %s::regclass"
        " AND a.attstattarget > 0",
        [table],
    )
    statistics = cursor.fetchall()
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    foreign_keys = cursor.fetchall()
    # Rows written earlier in this transaction may still await their deferred key checks, and
    # a table with pending checks cannot be altered: run them now (every key is deferred again
    # below, the default of Django's keys).
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for name, _definition in foreign_keys:
        cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {name}")
    yield
    cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
    for _name, definition in indexes:
        cursor.execute(definition)
    for name, column, target in statistics:
        cursor.execute(
            f"ALTER INDEX {name} ALTER COLUMN {int(column)} SET STATISTICS {int(target)}"
        )
    for name, definition in foreign_keys:
        cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _table_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass",
            [Customer._meta.db_table],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


@transaction.atomic
def seed_customers(
    tenant: Tenant, count: int, *, batch: int = 250_000, rebuild_indexes: bool | None = None
) -> int:
    """Insert ``count`` demo customers set-based, one statement per ``batch``; returns count.

    Usernames continue after the tenant's highest seeded one (c0000001, c0000002, …). Big
    loads (``rebuild_indexes``; by default from 100,000 rows and at least the table's size)
    rebuild the table's indexes and foreign keys once instead of row by row.
    """
    if count <= 0:
        return 0
    Tenant.objects.select_for_update().get(pk=tenant.pk)  # one seeder per tenant at a time
    params = _params(tenant)
    first = _next_index(tenant)
    table_rows = _table_rows()
    if rebuild_indexes is None:
        rebuild_indexes = count >= BULK_ROWS and count >= table_rows
    inserted = 0
    with connection.cursor() as cursor:
        with _indexes_rebuilt(cursor) if rebuild_indexes else nullcontext():
            for start in range(first, first + count, batch):
                end = min(start + batch, first + count) - 1
                cursor.execute(INSERT_SQL, {**params, "first": start, "last": end})
                inserted += cursor.rowcount
        if rebuild_indexes or count * 10 >= table_rows:
            # Fresh statistics, so searches plan for the new size at once, not after autovacuum.
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Customer._meta.db_table)}")
    audit.record(
        None,
        "customers.seeded",
        tenant=tenant,
        operator=_root(tenant),
        changes={
            "count": inserted,
            "first": seeded_username(first),
            "last": seeded_username(first + count - 1),
        },
        label=f"{inserted} demo customers",
    )
    return inserted
