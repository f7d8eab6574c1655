"""The demo ISP's network catalog: pools, PPPoE profiles and the walled garden."""

from ispbills.catalog.models import Package
from ispbills.network import services
from ispbills.network.models import IpPool
from ispbills.tenancy.models import Operator, Tenant

# The static pool covers the addresses the demo's static-IP customers are seeded with
# (``customers.STATIC_IP_BASE`` + their index); its top addresses are the routers'.
POOLS = [
    ("pppoe-dhaka", "100.64.0.0/20", IpPool.Purpose.DYNAMIC, [], None),
    (
        "static-public",
        "103.108.0.0/22",
        IpPool.Purpose.STATIC,
        ["103.108.3.250-103.108.3.254"],
        None,
    ),
    ("suspended", "10.255.0.0/24", IpPool.Purpose.SUSPENDED, [], None),
    ("pppoe-v6-pd", "2001:db8:4000::/48", IpPool.Purpose.DYNAMIC, [], 56),
]
PROFILES = [
    ("home", "", ["Home 10 Mbps", "Home 20 Mbps", "Home 40 Mbps"]),
    ("business", "", ["Business 100 Mbps"]),
]


def seed_network(tenant: Tenant) -> None:
    """Pools, profiles linked to the demo's PPPoE packages, and the walled garden (once)."""
    root = Operator.objects.get(tenant=tenant, parent=None)
    if IpPool.objects.filter(tenant=tenant).exists():
        return
    pools = {
        name: services.save_pool(
            actor=None,
            operator=root,
            name=name,
            cidr=cidr,
            purpose=purpose,
            exclusions=exclusions,
            prefix_length=prefix_length,
        )
        for name, cidr, purpose, exclusions, prefix_length in POOLS
    }
    for name, rate_limit, package_names in PROFILES:
        services.save_profile(
            actor=None,
            operator=root,
            name=name,
            rate_limit=rate_limit,
            ipv4_pool=pools["pppoe-dhaka"],
            ipv6_pool=pools["pppoe-v6-pd"],
            packages=list(Package.objects.filter(tenant=tenant, name__in=package_names)),
        )
    services.save_settings(
        actor=None,
        tenant=tenant,
        suspended_action="walled_garden",
        suspended_pool=pools["suspended"],
        address_list="suspended",
        walled_garden_rate="256k/256k",
    )
