"""Isolation-kit makers for the customer models."""

import itertools

from ispbills.catalog.tests.makers import make_package
from ispbills.core.testing.isolation import maker
from ispbills.customers import services
from ispbills.customers.models import Customer, CustomerNote, CustomField, Zone
from ispbills.tenancy.models import Operator

_mobiles = itertools.count(1000000)


@maker(Customer)
def make_customer(operator: Operator, marker: str) -> Customer:
    return services.register_customer(
        actor=None,
        operator=operator,
        username=marker.lower(),
        name=marker,
        mobile=f"0171{next(_mobiles):07d}",
        service_password="pw-12345",
        package=make_package(operator, f"pkg-{marker}"),
    )


@maker(Zone)
def make_zone(operator: Operator, marker: str) -> Zone:
    return services.save_zone(actor=None, operator=operator, name=marker)


@maker(CustomField, tenant_wide=True)
def make_custom_field(operator: Operator, marker: str) -> CustomField:
    root = Operator.objects.get(tenant_id=operator.tenant_id, parent=None)
    return services.save_custom_field(actor=None, operator=root, key=marker.lower(), label=marker)


@maker(CustomerNote)
def make_note(operator: Operator, marker: str) -> CustomerNote:
    customer = make_customer(operator, f"{marker}c")
    return services.add_note(actor=None, customer=customer, text=marker)
