"""Isolation-kit makers for the billing models."""

from typing import Any

from ispbills.billing import proration, services
from ispbills.billing.models import Bill, BillingRun, BillingSettings, Reminder
from ispbills.core.testing.isolation import maker
from ispbills.customers.tests.makers import make_customer
from ispbills.tenancy.models import Operator


@maker(Bill)
def make_bill(operator: Operator, marker: str) -> Bill:
    # The bill's description is its package's name, which carries the marker.
    bill: Any = services.generate_bill(actor=None, customer=make_customer(operator, marker))
    bill.isolation_label = bill.description
    return bill


@maker(BillingRun, tenant_wide=True)
def make_billing_run(operator: Operator, marker: str) -> BillingRun:
    make_customer(operator, marker)
    run: Any = services.run_billing(tenant_id=operator.tenant_id)
    # Shown in the run's list row and API record as a skip reason nobody else has.
    run.summary["skipped"][marker] = 1
    run.save(update_fields=["summary"])
    run.isolation_label = marker
    return run


@maker(Reminder)
def make_reminder(operator: Operator, marker: str) -> Reminder:
    # Listed by its customer, whose name is the marker.
    bill = make_bill(operator, marker)
    return Reminder.objects.create(
        tenant_id=operator.tenant_id,
        operator=operator,
        customer=bill.customer,
        bill=bill,
        kind=Reminder.Kind.DUE_SOON,
        for_date=bill.due_on,
    )


@maker(BillingSettings, tenant_wide=True)
def make_billing_settings(operator: Operator, marker: str) -> BillingSettings:
    """The ISP's billing settings (a flag, no text to mark: their page is an open page)."""
    settings: Any = proration.save_settings(
        actor=None, tenant_id=operator.tenant_id, prorate_package_change=False
    )
    settings.isolation_label = marker
    return settings
