"""Demo money: cash collected against this period's bills, so the payment pages are alive."""

from decimal import Decimal

from ispbills.accounting.services import post_pending
from ispbills.billing.models import Bill
from ispbills.payments.services import receive_payment
from ispbills.tenancy.models import Tenant, User


def seed_payments(tenant: Tenant) -> int:
    """Pay about half of the open bills through the pipeline: most in full, one in five in
    part, one in ten with something over for the advance; returns the payments made."""
    collector = User.objects.filter(username="manager").first()
    bills = list(
        Bill.objects.filter(tenant=tenant, kind="invoice", status__in=["unpaid"])
        .select_related("customer")
        .order_by("id")
    )
    made = 0
    for n, bill in enumerate(bills[::2]):
        amount = bill.payable
        if n % 5 == 0:
            amount = (amount / 2).quantize(Decimal("0.01"))
        elif n % 10 == 1:
            amount += Decimal("200.00")
        receive_payment(
            actor=None,
            customer=bill.customer,
            amount=amount,
            method="cash",
            reference=f"DEMO-{bill.number:06d}",
            note="Collected at the counter",
            collector=collector,
        )
        made += 1
    post_pending()  # the ledger at once, rather than when a worker first runs
    return made
