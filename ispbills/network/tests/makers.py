"""Isolation-kit makers for the network models."""

import itertools

from ispbills.core.testing.isolation import maker
from ispbills.network import services
from ispbills.network.models import IpPool, NetworkSettings, PppoeProfile
from ispbills.tenancy.models import Operator

# Pools of one ISP may not overlap: each made pool takes the next /28.
_blocks = itertools.count()


def _pool(operator: Operator, name: str, purpose: str = "dynamic") -> IpPool:
    block = next(_blocks)
    return services.save_pool(
        actor=None,
        operator=operator,
        name=name,
        cidr=f"10.{block // 4096 % 256}.{block // 16 % 256}.{block % 16 * 16}/28",
        purpose=purpose,
    )


@maker(IpPool)
def make_ip_pool(operator: Operator, marker: str) -> IpPool:
    return _pool(operator, marker)


@maker(PppoeProfile)
def make_pppoe_profile(operator: Operator, marker: str) -> PppoeProfile:
    pool = _pool(operator, f"pool-{marker}")
    return services.save_profile(actor=None, operator=operator, name=marker, ipv4_pool=pool)


@maker(NetworkSettings, tenant_wide=True)
def make_network_settings(operator: Operator, marker: str) -> NetworkSettings:
    garden = _pool(operator.tenant.operators.get(parent=None), f"garden-{marker}", "suspended")
    return services.save_settings(
        actor=None,
        tenant=operator.tenant,
        suspended_action="walled_garden",
        suspended_pool=garden,
        address_list=marker,
    )
