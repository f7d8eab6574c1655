"""The handlers that post payments to the ledger inside the payment's own transaction: a
payment and its entry commit, or roll back, together."""

from typing import Any

from ispbills.accounting import services
from ispbills.core.events import handle
from ispbills.payments.models import Payment


@handle("payment.received")
def post_received_payment(event: str, payment_id: int, **_: Any) -> None:
    services.post_payment(Payment.objects.select_related("customer").get(pk=payment_id))


@handle("payment.reversed")
def post_payment_reversal(event: str, payment_id: int, reversal_id: int, **_: Any) -> None:
    services.post_payment(Payment.objects.select_related("reverses").get(pk=reversal_id))
