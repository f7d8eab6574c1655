"""The only writers of IP pools, PPPoE profiles and network settings.

Each change is audited and emits an event whose in-transaction handler (the radius app, a
layer above) rewrites the RADIUS groups derived from it in the same transaction:
``network.packages_changed`` (package ids whose groups carry a pool or profile rate) and
``network.settings_changed`` (an ISP's suspended group, and its suspended customers).
"""

import ipaddress
import re
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from ispbills.catalog.models import Package, ServiceModel
from ispbills.core import audit, events
from ispbills.core.access import access_of, require
from ispbills.core.errors import ConflictError, DomainError, NotAllowedError
from ispbills.network.models import (
    IpPool,
    NetworkSettings,
    PppoeProfile,
    ProfilePackage,
)
from ispbills.tenancy.models import Operator, Tenant

# A router-side name (pool, address list): what RouterOS and RADIUS values take unquoted.
NAME = re.compile(r"^[A-Za-z0-9._-]{1,63}$")
_RATE = r"\d+[kM]?(/\d+[kM]?)?"
# Mikrotik-Rate-Limit: rate[ burst[ threshold[ time[ priority[ min-rate]]]]] (reference §2.3).
RATE_LIMIT = re.compile(rf"^{_RATE}( {_RATE}( {_RATE}( {_RATE}( [1-8]( {_RATE})?)?)?)?)?$")

POOL_FIELDS = ("name", "cidr", "purpose", "exclusions", "prefix_length", "notes")
PROFILE_FIELDS = (
    "name",
    "rate_limit",
    "ipv4_pool",
    "ipv6_pool",
    "fup_pool",
    "ip_mode",
    "local_address",
    "dns_servers",
    "is_active",
)
SETTINGS_FIELDS = ("suspended_action", "suspended_pool", "address_list", "walled_garden_rate")


def _usable_by(item: Any, operator: Operator) -> bool:
    """A network or catalog row is usable by its owner and the operators below it."""
    return item.tenant_id == operator.tenant_id and operator.path.startswith(item.operator.path)


def _unknown(values: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = set(values) - set(allowed)
    if unknown:
        raise DomainError(_("These fields cannot be set: %s") % ", ".join(sorted(unknown)))


def _name(value: Any) -> str:
    name = str(value or "").strip()
    if not name:
        raise DomainError(_("Give it a name."), fields={"name": [_("Required.")]})
    if not NAME.match(name):
        raise DomainError(
            _("Names are used on the routers: letters, digits and . _ - only, up to 63."),
            fields={"name": [_("Use letters, digits and . _ - only.")]},
        )
    return name


def rate_limit_problem(value: str) -> str | None:
    """Why a text is not a MikroTik rate limit (None: it is)."""
    if RATE_LIMIT.match(value):
        return None
    return _("Write a MikroTik rate limit such as 5M/20M or 256k/256k (upload/download).")


def _save(actor: Any, item: Any, values: dict[str, Any], verb: str) -> Any:
    before = {key: getattr(item, key) for key in values} if item.pk else {}
    for key, value in values.items():
        setattr(item, key, value)
    item.save()
    changes = audit.diff(before, {key: getattr(item, key) for key in values})
    if changes or verb.endswith("created"):
        audit.record(actor, verb, item, changes=changes)
    return item


def _packages_changed(package_ids: set[int]) -> None:
    """Tell the RADIUS groups of these packages (and of their variants) to follow."""
    if not package_ids:
        return
    variants = Package.objects.filter(parent_id__in=package_ids).values_list("pk", flat=True)
    events.emit("network.packages_changed", package_ids=sorted(package_ids | set(variants)))


def _packages_of_profiles(profile_ids: Any) -> set[int]:
    return set(
        ProfilePackage.objects.filter(profile_id__in=profile_ids).values_list(
            "package_id", flat=True
        )
    )


# ---- pools --------------------------------------------------------------------------------


def _parse_cidr(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    text = str(value or "").strip()
    if not text:
        raise DomainError(_("Give the pool its CIDR."), fields={"cidr": [_("Required.")]})
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise DomainError(
                _("%(value)s is not a network such as 100.64.0.0/20.") % {"value": text},
                fields={"cidr": [_("Not a CIDR.")]},
            ) from None
        raise DomainError(
            _("%(value)s has host bits set; the network is %(network)s.")
            % {"value": text, "network": network},
            fields={"cidr": [_("Did you mean %(network)s?") % {"network": network}]},
        ) from None


def _parse_exclusions(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network, items: Any
) -> list[str]:
    """Addresses, ``a-b`` ranges or CIDRs inside the pool, merged and sorted."""
    if isinstance(items, str):
        items = re.split(r"[\s,]+", items)
    items = [str(item).strip() for item in items or [] if str(item).strip()]
    if items and network.version == 6:
        raise DomainError(
            _("IPv6 pools have no exclusions: hand out a smaller prefix instead."),
            fields={"exclusions": [_("IPv4 pools only.")]},
        )
    bounds: list[tuple[int, int]] = []
    problems: list[str] = []
    for item in items:
        try:
            if "/" in item:
                block = ipaddress.ip_network(item, strict=False)
                low, high = block.network_address, block.broadcast_address
            else:
                first, _sep, last = item.partition("-")
                low = ipaddress.ip_address(first.strip())
                high = ipaddress.ip_address(last.strip()) if last else low
        except ValueError:
            problems.append(_("%(item)s is not an address or range.") % {"item": item})
            continue
        if low not in network or high not in network or low.version != network.version:
            problems.append(
                _("%(item)s is outside %(network)s.") % {"item": item, "network": network}
            )
        elif int(high) < int(low):
            problems.append(_("%(item)s ends before it starts.") % {"item": item})
        else:
            bounds.append((int(low), int(high)))
    if problems:
        raise DomainError(" ".join(problems), fields={"exclusions": problems})
    merged: list[list[int]] = []
    for start, end in sorted(bounds):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    make = ipaddress.ip_address
    return [str(make(a)) if a == b else f"{make(a)}-{make(b)}" for a, b in merged]


def _whole_number(value: Any, field: str) -> int | None:
    if value in ("", None):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        message = _("Not a whole number.")
        raise DomainError(message, fields={field: [message]}) from None


def _check_pool_use(pool: IpPool, family: int, purpose: str) -> None:
    """A pool in use keeps the family and purpose its users rely on."""
    if pool.pk is None:
        return
    if family != pool.family and (pool.ipv4_profiles.exists() or pool.ipv6_profiles.exists()):
        raise DomainError(
            _("PPPoE profiles use this pool: its address family cannot change."),
            fields={"cidr": [_("Keep the address family.")]},
        )
    if purpose != pool.purpose and (
        pool.ipv4_profiles.exists()
        or pool.ipv6_profiles.exists()
        or NetworkSettings.objects.filter(suspended_pool=pool).exists()
    ):
        raise DomainError(
            _("This pool is in use: replace it where it is used before changing its purpose."),
            fields={"purpose": [_("In use.")]},
        )


def _check_static_customers_stay(pool: IpPool, cidr: str, exclusions: list[str]) -> None:
    """Live customers holding a static address from the pool must keep a valid one."""
    if pool.pk is None or pool.purpose != IpPool.Purpose.STATIC:
        return
    column = "static_ipv4" if pool.family == 4 else "static_ipv6"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT host({column}) FROM customers_customer
             WHERE tenant_id = %(tenant)s AND status <> 'deleted' AND {column} << %(old)s::cidr
               AND (NOT {column} << %(new)s::cidr
                    OR EXISTS (
                        SELECT 1 FROM unnest(%(exclusions)s::text[]) e
                         WHERE host({column})::inet BETWEEN split_part(e, '-', 1)::inet
                           AND coalesce(nullif(split_part(e, '-', 2), ''),
                                        split_part(e, '-', 1))::inet))
             ORDER BY {column} LIMIT 5
            """,
            {"tenant": pool.tenant_id, "old": pool.cidr, "new": cidr, "exclusions": exclusions},
        )
        stranded = [row[0] for row in cursor.fetchall()]
    if stranded:
        raise ConflictError(
            _("Customers hold addresses this change would leave out: %(addresses)s.")
            % {"addresses": ", ".join(stranded)},
            fields={"cidr": [_("Move those customers first.")]},
        )


@transaction.atomic
def save_pool(
    *, actor: Any, operator: Operator, pool: IpPool | None = None, **values: Any
) -> IpPool:
    """Create or change an IP pool; it may not overlap another pool of the ISP."""
    require(actor, "network.change" if pool else "network.add", operator)
    _unknown(values, POOL_FIELDS)
    with connection.cursor() as cursor:
        # Two pools saved at once must not both pass the overlap check.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('network-pools-' || %s, 0))",
            [operator.tenant_id],
        )
    if pool is not None:
        pool = IpPool.objects.select_for_update().get(pk=pool.pk)
    merged = {key: getattr(pool, key) for key in POOL_FIELDS} if pool else {}
    merged.update(values)
    values["name"] = _name(merged.get("name"))
    network = _parse_cidr(merged.get("cidr"))
    values["cidr"] = str(network)
    purpose = merged.get("purpose") or IpPool.Purpose.DYNAMIC
    if purpose not in IpPool.Purpose.values:
        raise DomainError(_("Unknown purpose."), fields={"purpose": [_("Unknown purpose.")]})
    values["purpose"] = purpose
    values["exclusions"] = _parse_exclusions(network, merged.get("exclusions"))
    prefix_length = _whole_number(merged.get("prefix_length"), "prefix_length")
    if prefix_length is None:
        values["prefix_length"] = None
    elif network.version == 4 or purpose != IpPool.Purpose.DYNAMIC:
        raise DomainError(
            _("Only dynamic IPv6 pools delegate prefixes."),
            fields={"prefix_length": [_("Leave empty.")]},
        )
    elif not network.prefixlen <= prefix_length <= 128:
        raise DomainError(
            _("The delegated prefix must be between /%(min)s and /128.")
            % {"min": network.prefixlen},
            fields={"prefix_length": [_("Out of range.")]},
        )
    else:
        values["prefix_length"] = prefix_length
    if purpose == IpPool.Purpose.SUSPENDED and network.version == 6:
        raise DomainError(
            _("The suspended pool is an IPv4 pool."), fields={"purpose": [_("IPv4 only.")]}
        )
    clash = IpPool.objects.filter(tenant_id=operator.tenant_id, name__iexact=values["name"])
    if pool is not None:
        clash = clash.exclude(pk=pool.pk)
    if clash.exists():
        raise ConflictError(
            _("%(name)s already exists in this ISP.") % {"name": values["name"]},
            fields={"name": [_("Already used.")]},
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, cidr FROM network_ippool WHERE tenant_id = %s AND id <> %s "
            "AND cidr && %s::cidr ORDER BY cidr LIMIT 1",
            [operator.tenant_id, pool.pk if pool else 0, values["cidr"]],
        )
        overlap = cursor.fetchone()
    if overlap is not None:
        raise ConflictError(
            _("%(cidr)s overlaps pool %(name)s (%(other)s).")
            % {"cidr": values["cidr"], "name": overlap[0], "other": overlap[1]},
            fields={"cidr": [_("Overlaps %(name)s.") % {"name": overlap[0]}]},
        )
    if pool is not None:
        _check_pool_use(pool, network.version, purpose)
        _check_static_customers_stay(pool, values["cidr"], values["exclusions"])
    values["notes"] = str(merged.get("notes") or "")
    item = pool or IpPool(tenant_id=operator.tenant_id, operator=operator)
    item.family = network.version
    saved = _save(actor, item, values, "ippool.updated" if pool else "ippool.created")
    if pool is not None:
        _packages_changed(
            _packages_of_profiles(PppoeProfile.objects.filter(uses_pool(saved)).values("pk"))
        )
        if NetworkSettings.objects.filter(suspended_pool=saved).exists():
            events.emit("network.settings_changed", tenant_id=saved.tenant_id, customers=False)
    return saved


@transaction.atomic
def replace_pool(*, actor: Any, old: IpPool, new: IpPool) -> int:
    """Put ``new`` wherever ``old`` is used (profiles the actor may change, and the ISP's
    suspended pool); one audit row; the affected RADIUS groups follow. Returns profiles moved."""
    require(actor, "network.change", old.operator)
    if new.pk == old.pk:
        raise DomainError(_("Choose another pool."), fields={"replacement": [_("Same pool.")]})
    if new.tenant_id != old.tenant_id or (
        actor is not None and not IpPool.objects.restrict(actor).filter(pk=new.pk).exists()
    ):
        raise DomainError(
            _("That pool is not available."), fields={"replacement": [_("Not available.")]}
        )
    if (new.family, new.purpose) != (old.family, old.purpose):
        raise DomainError(
            _("The replacement must be a %(purpose)s IPv%(family)s pool like %(pool)s.")
            % {"purpose": old.get_purpose_display().lower(), "family": old.family, "pool": old},
            fields={"replacement": [_("Another kind of pool.")]},
        )
    profiles = PppoeProfile.objects.filter(uses_pool(old))
    if actor is not None:
        profiles = profiles.restrict(actor, "change")
    profiles = profiles.select_related("operator").select_for_update(of=("self",)).order_by("pk")
    blocked = [str(profile) for profile in profiles if not _usable_by(new, profile.operator)]
    if blocked:
        raise DomainError(
            _("%(pool)s is not available to the owners of: %(profiles)s.")
            % {"pool": new, "profiles": ", ".join(blocked)},
            fields={"replacement": [_("Not available to every profile.")]},
        )
    ids = [profile.pk for profile in profiles]
    for field in ("ipv4_pool", "ipv6_pool", "fup_pool"):
        PppoeProfile.objects.filter(pk__in=ids, **{field: old}).update(**{field: new})
    settings_moved = 0
    if actor is None or access_of(actor).tenant_wide or access_of(actor).is_superadmin:
        settings_moved = NetworkSettings.objects.filter(suspended_pool=old).update(
            suspended_pool=new
        )
    audit.record(
        actor,
        "ippool.replaced",
        old,
        changes={
            "replaced_by": [str(old), str(new)],
            "profiles": [None, len(ids)],
            "suspended_pool": [None, bool(settings_moved)],
        },
    )
    _packages_changed(_packages_of_profiles(ids))
    if settings_moved:
        events.emit("network.settings_changed", tenant_id=old.tenant_id, customers=False)
    return len(ids)


# ---- profiles -----------------------------------------------------------------------------


def uses_pool(pool: IpPool) -> Q:
    """Profiles that hand out addresses from ``pool`` (IPv4, IPv6 or FUP)."""
    return Q(ipv4_pool=pool) | Q(ipv6_pool=pool) | Q(fup_pool=pool)


def _check_profile_pools(operator: Operator, values: dict[str, Any]) -> None:
    mode = values.get("ip_mode") or PppoeProfile.IpMode.DYNAMIC
    if mode not in PppoeProfile.IpMode.values:
        raise DomainError(_("Unknown addressing."), fields={"ip_mode": [_("Unknown.")]})
    v4, v6, fup = values.get("ipv4_pool"), values.get("ipv6_pool"), values.get("fup_pool")
    for key, pool in (("ipv4_pool", v4), ("ipv6_pool", v6), ("fup_pool", fup)):
        if pool is not None and not _usable_by(pool, operator):
            raise DomainError(
                _("That pool is not available to this operator."),
                fields={key: [_("Not available.")]},
            )
    wanted = IpPool.Purpose.STATIC if mode == PppoeProfile.IpMode.STATIC else IpPool.Purpose.DYNAMIC
    if v4 is None and mode == PppoeProfile.IpMode.DYNAMIC:
        raise DomainError(
            _("Dynamic addressing needs an IPv4 pool."), fields={"ipv4_pool": [_("Required.")]}
        )
    if v4 is not None and (v4.family != 4 or v4.purpose != wanted):
        raise DomainError(
            _("Choose a %(purpose)s IPv4 pool for %(mode)s addressing.")
            % {
                "purpose": IpPool.Purpose(wanted).label.lower(),
                "mode": PppoeProfile.IpMode(mode).label.lower(),
            },
            fields={"ipv4_pool": [_("Another kind of pool.")]},
        )
    if v6 is not None and (v6.family != 6 or v6.purpose != IpPool.Purpose.DYNAMIC):
        raise DomainError(
            _("Choose a dynamic IPv6 pool."), fields={"ipv6_pool": [_("Another kind of pool.")]}
        )
    if fup is not None and (
        mode != PppoeProfile.IpMode.DYNAMIC
        or fup.family != 4
        or fup.purpose != IpPool.Purpose.DYNAMIC
        or fup == v4
    ):
        raise DomainError(
            _("A FUP pool is another dynamic IPv4 pool, for dynamic addressing."),
            fields={"fup_pool": [_("Another kind of pool.")]},
        )


def _clean_dns(value: Any) -> str:
    servers = [item for item in re.split(r"[\s,]+", str(value or "")) if item]
    try:
        return ",".join(str(ipaddress.ip_address(item)) for item in servers)
    except ValueError:
        raise DomainError(
            _("DNS servers are addresses separated by commas."),
            fields={"dns_servers": [_("Not a list of addresses.")]},
        ) from None


def _link_packages(
    actor: Any, operator: Operator, profile: PppoeProfile, packages: list[Package]
) -> set[int]:
    """Make ``packages`` the profile's packages; returns the package ids whose profile changed."""
    wanted = {package.pk: package for package in packages}
    problems = []
    for package in wanted.values():
        visible = actor is None or Package.objects.restrict(actor).filter(pk=package.pk).exists()
        if not visible or not _usable_by(package, operator):
            problems.append(_("%(package)s is not available here.") % {"package": package})
        elif package.service_model != ServiceModel.PPPOE:
            problems.append(_("%(package)s is not a PPPoE package.") % {"package": package})
    if problems:
        raise DomainError(" ".join(problems), fields={"packages": problems})
    taken = ProfilePackage.objects.filter(package_id__in=wanted).exclude(profile=profile)
    clashes = [
        _("%(package)s already uses profile %(profile)s.")
        % {"package": link.package, "profile": link.profile}
        for link in taken.select_related("package", "profile")
    ]
    if clashes:
        raise ConflictError(" ".join(clashes), fields={"packages": clashes})
    current = set(profile.links.values_list("package_id", flat=True))
    profile.links.exclude(package_id__in=wanted).delete()
    ProfilePackage.objects.bulk_create(
        [ProfilePackage(profile=profile, package_id=pk) for pk in sorted(set(wanted) - current)]
    )
    return current ^ set(wanted)


@transaction.atomic
def save_profile(
    *,
    actor: Any,
    operator: Operator,
    profile: PppoeProfile | None = None,
    packages: list[Package] | None = None,
    **values: Any,
) -> PppoeProfile:
    """Create or change a PPPoE profile and (when given) its packages; the RADIUS groups of
    its packages follow in the same transaction."""
    require(actor, "network.change" if profile else "network.add", operator)
    _unknown(values, PROFILE_FIELDS)
    if profile is not None:
        profile = PppoeProfile.objects.select_for_update().get(pk=profile.pk)
    merged = {key: getattr(profile, key) for key in PROFILE_FIELDS} if profile else {}
    merged.update(values)
    values["name"] = _name(merged.get("name"))
    clash = PppoeProfile.objects.filter(
        tenant_id=operator.tenant_id, operator=operator, name__iexact=values["name"]
    )
    if profile is not None:
        clash = clash.exclude(pk=profile.pk)
    if clash.exists():
        raise ConflictError(
            _("%(name)s already exists for this operator.") % {"name": values["name"]},
            fields={"name": [_("Already used.")]},
        )
    rate = str(merged.get("rate_limit") or "").strip()
    problem = rate_limit_problem(rate) if rate else None
    if problem:
        raise DomainError(problem, fields={"rate_limit": [problem]})
    values["rate_limit"] = rate
    _check_profile_pools(operator, merged)
    if "dns_servers" in values:
        values["dns_servers"] = _clean_dns(values["dns_servers"])
    if values.get("local_address") == "":
        values["local_address"] = None
    item = profile or PppoeProfile(tenant_id=operator.tenant_id, operator=operator)
    saved = _save(
        actor, item, values, "pppoeprofile.updated" if profile else "pppoeprofile.created"
    )
    changed = set()
    if packages is not None:
        changed = _link_packages(actor, operator, saved, list(packages))
        if changed:
            audit.record(
                actor,
                "pppoeprofile.packages_changed",
                saved,
                changes={"packages": [None, sorted(str(p) for p in packages)]},
            )
    _packages_changed(_packages_of_profiles([saved.pk]) | changed)
    return saved


# ---- settings -----------------------------------------------------------------------------


def settings_for(tenant: Tenant) -> NetworkSettings:
    """The ISP's network settings; the defaults (refuse suspended logins) until saved."""
    found = NetworkSettings.objects.filter(tenant=tenant).first()
    if found is not None:
        return found
    root = Operator.objects.get(tenant=tenant, parent=None)
    return NetworkSettings(tenant=tenant, operator=root)


@transaction.atomic
def save_settings(*, actor: Any, tenant: Tenant, **values: Any) -> NetworkSettings:
    """Change what happens to the ISP's suspended customers; their RADIUS rows follow."""
    settings = settings_for(tenant)
    require(actor, "network.change", settings.operator)
    access = access_of(actor)
    if actor is not None and not (access.tenant_wide or access.is_superadmin):
        raise NotAllowedError(_("Only the ISP's group admins change its network settings."))
    _unknown(values, SETTINGS_FIELDS)
    if settings.pk is not None:
        settings = NetworkSettings.objects.select_for_update().get(pk=settings.pk)
    merged = {key: getattr(settings, key) for key in SETTINGS_FIELDS}
    merged.update(values)
    action = merged.get("suspended_action")
    if action not in NetworkSettings.SuspendedAction.values:
        raise DomainError(_("Unknown choice."), fields={"suspended_action": [_("Unknown.")]})
    pool = merged.get("suspended_pool")
    if pool is not None and (
        pool.tenant_id != tenant.pk or pool.purpose != IpPool.Purpose.SUSPENDED
    ):
        raise DomainError(
            _("Choose one of the ISP's suspended pools."),
            fields={"suspended_pool": [_("Not a suspended pool of this ISP.")]},
        )
    if action == NetworkSettings.SuspendedAction.WALLED_GARDEN and pool is None:
        raise DomainError(
            _("The walled garden needs a suspended pool."),
            fields={"suspended_pool": [_("Required for the walled garden.")]},
        )
    values["address_list"] = str(merged.get("address_list") or "").strip()
    if not NAME.match(values["address_list"]):
        raise DomainError(
            _("The address list is a MikroTik list name: letters, digits and . _ - only."),
            fields={"address_list": [_("Use letters, digits and . _ - only.")]},
        )
    values["walled_garden_rate"] = str(merged.get("walled_garden_rate") or "").strip()
    problem = rate_limit_problem(values["walled_garden_rate"])
    if problem:
        raise DomainError(problem, fields={"walled_garden_rate": [problem]})
    before_action = settings.suspended_action if settings.pk else None
    saved = _save(
        actor,
        settings,
        values,
        "network_settings.updated" if settings.pk else "network_settings.created",
    )
    events.emit(
        "network.settings_changed",
        tenant_id=tenant.pk,
        customers=before_action != saved.suspended_action,
    )
    return saved


# ---- deletion -----------------------------------------------------------------------------


@transaction.atomic
def delete_pool(*, actor: Any, pool: IpPool) -> None:
    """Delete a pool nothing uses: no profile, not the suspended pool, no static customer."""
    require(actor, "network.delete", pool.operator)
    pool = IpPool.objects.select_for_update().get(pk=pool.pk)
    users = [str(profile) for profile in PppoeProfile.objects.filter(uses_pool(pool))]
    if NetworkSettings.objects.filter(suspended_pool=pool).exists():
        users.append(str(_("the network settings (suspended pool)")))
    if users:
        raise ConflictError(
            _("%(pool)s is used by %(users)s: replace it there first.")
            % {"pool": pool, "users": ", ".join(users)}
        )
    _check_static_customers_stay(pool, "0.0.0.0/32" if pool.family == 4 else "::/128", [])
    audit.record(actor, "ippool.deleted", pool, changes={"cidr": [pool.cidr, None]})
    pool.delete()


@transaction.atomic
def delete_profile(*, actor: Any, profile: PppoeProfile) -> None:
    """Delete a PPPoE profile; its packages' RADIUS groups lose its pools and rate."""
    require(actor, "network.delete", profile.operator)
    profile = PppoeProfile.objects.select_for_update().get(pk=profile.pk)
    packages = _packages_of_profiles([profile.pk])
    audit.record(actor, "pppoeprofile.deleted", profile, changes={"name": [profile.name, None]})
    profile.delete()
    _packages_changed(packages)
