"""The handlers that post money to the ledger inside the transaction that moved it: a
payment, a bill or a void and its entries commit, or roll back, together. They also charge
resellers for their customers' bills and refuse what a reseller's funds cannot cover."""

from typing import Any

from ispbills.accounting import funds, services
from ispbills.billing.models import AdvanceDebit, Bill
from ispbills.core.events import handle
from ispbills.customers.models import Customer
from ispbills.payments.models import Payment
from ispbills.tenancy.models import Operator


@handle("payment.received")
def post_received_payment(event: str, payment_id: int, **_: Any) -> None:
    services.post_payment(Payment.objects.select_related("customer").get(pk=payment_id))


@handle("payment.reversed")
def post_payment_reversal(event: str, payment_id: int, reversal_id: int, **_: Any) -> None:
    services.post_payment(Payment.objects.select_related("reverses").get(pk=reversal_id))


@handle("bills.issued")
def post_issued_bills(event: str, bill_ids: list[int], run_id: int | None = None, **_: Any) -> None:
    """A run's batch posts per operator; other bills (by hand, in bulk, voids, adjustments)
    post one by one, with the advance they moved, and a reseller short of funds for a bill
    issued by hand refuses it."""
    if not bill_ids:
        return
    if run_id is not None:
        services.post_bill_batch(run_id, bill_ids)
        funds.charge_bills(bill_ids, source_id=f"run {run_id}:{min(bill_ids)}", gated=False)
        return
    services.post_bills(bill_ids)
    customers = Bill.objects.filter(pk__in=bill_ids).values("customer_id")
    services.post_advance_debits(
        AdvanceDebit.objects.filter(customer_id__in=customers, posted=False).values_list(
            "pk", flat=True
        )
    )
    funds.charge_bills(bill_ids, source_id=f"bills {min(bill_ids)}-{max(bill_ids)}", gated=True)


@handle("customer.status_changed")
def check_reseller_funds(
    event: str, customer_id: int, old: str, new: str, actor_id: int | None = None, **_: Any
) -> None:
    """Staff may activate a suspended or disabled customer only when every reseller above it
    can pay a period of its package (a payment bringing a customer back is not stopped: its
    bill was charged when issued)."""
    if new == "active" and old in {"suspended", "disabled"} and actor_id is not None:
        funds.check_can_activate(customer_id)


@handle("customer.transferred")
def move_customer_books(
    event: str, customer_id: int, old_operator_id: int, new_operator_id: int, **_: Any
) -> None:
    """What a moved customer owes, and its advance, follow it to its new operator's books."""
    operators = Operator.objects.in_bulk([old_operator_id, new_operator_id])
    funds.move_customer_books(
        Customer.objects.get(pk=customer_id),
        operators[old_operator_id],
        operators[new_operator_id],
    )
