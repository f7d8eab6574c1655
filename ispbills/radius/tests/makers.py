"""Isolation-kit makers for the radius models."""

import itertools

from ispbills.core.testing.isolation import maker
from ispbills.radius import disconnect, services
from ispbills.radius.models import Disconnect, NasDevice
from ispbills.tenancy.models import Operator

_addresses = itertools.count(1)


def next_address() -> str:
    """A NAS address no other test device uses (addresses are unique across ISPs)."""
    number = next(_addresses)
    return f"10.{200 + number // 65536 % 50}.{number // 256 % 256}.{number % 256}"


@maker(NasDevice)
def make_nas_device(operator: Operator, marker: str) -> NasDevice:
    return services.save_nas_device(
        actor=None,
        operator=operator,
        name=marker,
        address=next_address(),
        secret=f"secret-{marker}",
        kind=NasDevice.Kind.MIKROTIK,
        coa_port=3799,
    )


@maker(Disconnect)
def make_disconnect(operator: Operator, marker: str) -> Disconnect:
    from ispbills.customers.tests.makers import make_customer

    customer = make_customer(operator, marker, username=marker)
    item = disconnect.request(
        tenant_id=customer.tenant_id,
        operator_id=customer.operator_id,
        customer_id=customer.pk,
        username=customer.username,
        kind=Disconnect.Kind.DISCONNECT,
        reason=f"test {marker}",
    )
    assert item is not None
    return item
