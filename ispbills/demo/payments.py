"""Demo money: resellers' funds, cash collected against this period's bills and transfers
waiting for approval, so the payment and accounting pages are alive."""

from decimal import Decimal

from ispbills.accounting.approvals import request_funds, request_handover
from ispbills.accounting.funds import add_funds
from ispbills.accounting.models import Account
from ispbills.accounting.services import post_pending
from ispbills.billing.models import Bill
from ispbills.payments.services import receive_payment
from ispbills.tenancy.models import Operator, Tenant, User


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


def seed_funds(tenant: Tenant) -> None:
    """Resellers' funds with their parents before the month's bills charge them: each reseller
    paid its parent, and one payment waits for the parent's approval."""
    resellers = Operator.objects.filter(tenant=tenant, parent__isnull=False).order_by("path")
    for n, operator in enumerate(resellers, start=1):
        add_funds(
            actor=None,
            operator=operator,
            amount="60000",
            reference=f"DEMO-FUNDS-{n:03d}",
            method="bank" if n % 2 else "cash",
            note="Opening balance",
        )
    first = resellers.first()
    if first is not None:
        request_funds(
            actor=None,
            operator=first,
            amount="15000",
            reference="DEMO-DEPOSIT-001",
            method="bank",
            note="Bank deposit, to confirm against the statement",
        )


def seed_handover(tenant: Tenant) -> None:
    """The demo collector asks to hand over part of the cash it took."""
    collector = User.objects.filter(username="manager").first()
    cash = Account.objects.filter(tenant=tenant, kind="cash", user=collector).first()
    if cash is not None and cash.balance > 0:
        request_handover(
            actor=collector,
            source=cash,
            amount=(cash.balance / 2).quantize(Decimal("0.01")),
            reference="DEMO-HANDOVER-001",
            note="End of day",
        )


def seed_gateways(tenant: Tenant) -> None:
    """Every provider for the demo ISP, talking to its fake (``ispbills fake_gateways``,
    started by ``ispbills run``): payments can be clicked through offline."""
    from django.conf import settings

    from ispbills.payments.gateways import gateway_classes
    from ispbills.payments.gateways.fakes import fake_class
    from ispbills.payments.gateways.services import save_account

    root = Operator.objects.get(tenant=tenant, parent__isnull=True)
    for gateway in gateway_classes():
        code, label = gateway.code, f"{gateway.name} (test)"
        fake = fake_class(code)
        at = f"{settings.FAKE_GATEWAYS_URL.rstrip('/')}/{code}"
        save_account(
            actor=None,
            operator=root,
            provider=code,
            values=fake.account_credentials(at),
            label=label,
            sandbox=True,
            base_url=fake.account_url(at),
            for_customers=True,
            for_operators=True,
        )
