"""Isolation-kit makers for the payments models."""

from typing import Any

from ispbills.core.testing.isolation import maker
from ispbills.customers.tests.makers import make_customer
from ispbills.payments import services
from ispbills.payments.gateways import gateway_classes
from ispbills.payments.models import GatewayAccount, Payment, PaymentAttempt
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


@maker(GatewayAccount)
def make_gateway_account(operator: Operator, marker: str) -> GatewayAccount:
    used = set(GatewayAccount.objects.filter(operator=operator).values_list("provider", flat=True))
    code = next(cls.code for cls in gateway_classes() if cls.code not in used)
    account = GatewayAccount(
        tenant_id=operator.tenant_id, operator=operator, provider=code, label=marker
    )
    account.set_credentials({"store_id": "s", "store_passwd": "p"})
    account.save()
    return account


@maker(PaymentAttempt)
def make_payment_attempt(operator: Operator, marker: str) -> PaymentAttempt:
    account = GatewayAccount.objects.filter(operator=operator).first() or make_gateway_account(
        operator, f"acct-{marker}"
    )
    return PaymentAttempt.objects.create(
        tenant_id=operator.tenant_id,
        operator=operator,
        account=account,
        provider=account.provider,
        purpose=PaymentAttempt.Purpose.ADVANCE,
        customer=make_customer(operator, f"c-{marker}"),
        amount="100",
        merchant_ref=marker,
        # Unknown and needing attention: listed in the queue as well as among all attempts.
        state=PaymentAttempt.State.UNKNOWN,
        needs_attention=True,
        attention_reason="made for the isolation checks",
    )
