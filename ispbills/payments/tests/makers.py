"""Isolation-kit makers for the payments models."""

from typing import Any

from ispbills.core.testing.isolation import maker
from ispbills.customers.tests.makers import make_customer
from ispbills.payments import services
from ispbills.payments.models import Payment
from ispbills.tenancy.models import Operator


@maker(Payment)
def make_payment(operator: Operator, marker: str) -> Payment:
    # Listed with its reference, which is the marker.
    payment: Any = services.receive_payment(
        actor=None,
        customer=make_customer(operator, f"c-{marker}"),
        amount="100",
        method="cash",
        reference=marker,
    )
    payment.isolation_label = marker
    return payment
