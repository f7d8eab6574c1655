"""Isolation-kit makers for the billing models."""

from ispbills.billing import services
from ispbills.billing.models import Bill, BillingRun
from ispbills.core.testing.isolation import maker
from ispbills.customers.tests.makers import make_customer
from ispbills.tenancy.models import Operator


@maker(Bill)
def make_bill(operator: Operator, marker: str) -> Bill:
    # The bill's description is its package's name, which carries the marker; its str() is
    # its number, so the kit is told the marker.
    bill = services.generate_bill(actor=None, customer=make_customer(operator, marker))
    bill.isolation_marker = marker  # type: ignore[attr-defined]
    return bill


@maker(BillingRun, tenant_wide=True)
def make_billing_run(operator: Operator, marker: str) -> BillingRun:
    make_customer(operator, marker)
    run = services.run_billing(tenant_id=operator.tenant_id)
    run.summary["marker"] = marker
    run.save(update_fields=["summary"])
    run.isolation_marker = marker  # type: ignore[attr-defined]
    return run
