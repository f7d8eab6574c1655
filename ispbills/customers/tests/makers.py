"""Isolation-kit makers for the customer models."""

import itertools

from django.utils import timezone

from ispbills.catalog.tests.makers import make_package
from ispbills.core.testing.isolation import maker
from ispbills.customers import services
from ispbills.customers.models import (
    AccountingSession,
    AuthAttempt,
    Customer,
    CustomerNote,
    CustomField,
    Zone,
)
from ispbills.radius.models import RadAcct, RadPostAuth
from ispbills.tenancy.models import Operator

_mobiles = itertools.count(1000000)


@maker(Customer)
def make_customer(operator: Operator, marker: str, username: str = "") -> Customer:
    return services.register_customer(
        actor=None,
        operator=operator,
        username=username or marker.lower(),
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


@maker(AccountingSession)
def make_session(operator: Operator, marker: str) -> AccountingSession:
    """An open session (as FreeRADIUS's Start writes it) of a customer of ``operator``."""
    customer = make_customer(operator, marker)
    row = RadAcct.objects.create(
        session_id=marker,
        unique_id=f"u-{marker}",
        username=customer.username,
        nas_ip_address="10.250.0.1",
        start_time=timezone.now(),
        update_time=timezone.now(),
        framed_ip_address="100.64.0.9",
        calling_station_id="AA:BB:CC:00:00:01",
        input_octets=1000,
        output_octets=5000,
    )
    return AccountingSession.objects.get(pk=row.pk)


@maker(AuthAttempt)
def make_auth_attempt(operator: Operator, marker: str) -> AuthAttempt:
    """An Access-Accept logged for a customer of ``operator`` (its username is the marker)."""
    customer = make_customer(operator, marker, username=marker)
    row = RadPostAuth.objects.create(
        username=customer.username,
        reply="Access-Accept",
        calling_station_id="AA:BB:CC:00:00:02",
        called_station_id="pppoe-main",
    )
    return AuthAttempt.objects.get(pk=row.pk)
