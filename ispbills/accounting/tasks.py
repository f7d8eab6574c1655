"""The ledger's reactions to money moving. Payments owe their entries in their own
transaction (the outbox, written by the handlers of their events: a payment and its obligation
to post commit or roll back together), and the poster job posts them in batches
(docs/adr/0007-ledger-posting-outbox.md). Bills, voids and a customer moving operator post in
the transaction that wrote them; bills also charge resellers, and what a reseller's funds
cannot cover is refused."""

import contextlib
import time
from typing import Any

from django.db import transaction
from procrastinate.exceptions import AlreadyEnqueued

from ispbills.accounting import funds, services
from ispbills.billing.models import AdvanceDebit, Bill
from ispbills.core import jobs
from ispbills.core.events import handle
from ispbills.customers.models import Customer
from ispbills.tenancy.models import Operator

# The poster keeps looking at the outbox until nothing came for LINGER seconds; a process
# asks for the poster at most every KICK_EVERY seconds. KICK_EVERY < LINGER: a payment that
# skipped asking committed while the poster it (or another) asked for was still looking.
LINGER = 1.0
KICK_EVERY = 0.5
_kicked_at = -KICK_EVERY


@jobs.task(queue="ledger", queueing_lock="ledger-posting")
def post_ledger_task(timestamp: int | None = None) -> int:
    """Post the entries owed to the ledger (after payments, coalesced, and every minute)."""
    return services.post_pending(linger=LINGER)


def kick_poster() -> None:
    """Have a poster run soon: one job waits at most (the queueing lock), and a process asks
    at most every KICK_EVERY seconds."""
    global _kicked_at
    moment = time.monotonic()
    if moment - _kicked_at < KICK_EVERY:
        return
    with contextlib.suppress(AlreadyEnqueued):  # one is waiting already: it will post ours
        post_ledger_task.defer()
    _kicked_at = moment


@handle("payment.received")
def owe_received_payment(event: str, payment_id: int, tenant_id: int, **_: Any) -> None:
    services.owe(tenant_id, services.PAYMENT, payment_id, "received")
    transaction.on_commit(kick_poster, robust=True)


@handle("payment.reversed")
def owe_payment_reversal(event: str, reversal_id: int, tenant_id: int, **_: Any) -> None:
    services.owe(tenant_id, services.PAYMENT, reversal_id, "reversed")
    transaction.on_commit(kick_poster, robust=True)


@handle("gateway.operator_funds_verified")
def add_gateway_funds(
    event: str, operator_id: int, amount: str, reference: str, purpose: str, **_: Any
) -> None:
    """An operator's online top-up (or subscription payment) the provider confirmed: its
    balance rises in the same transaction as the attempt's verification. The money reached the
    parent's merchant account, so it counts as received at the bank."""
    from ispbills.accounting.models import Account

    note = "subscription" if purpose == "subscription" else "online top-up"
    funds.add_funds(
        actor=None,
        operator=Operator.objects.get(pk=operator_id),
        amount=amount,
        reference=reference,
        method=Account.Kind.BANK,
        note=note,
    )


@handle("bills.issued")
def post_issued_bills(
    event: str,
    bill_ids: list[int],
    run_id: int | None = None,
    operator_sums: list[dict[str, Any]] | None = None,
    **_: Any,
) -> None:
    """A run's batch posts per operator; other bills (by hand, in bulk, voids, adjustments)
    post one by one, with the advance they moved, and a reseller short of funds for a bill
    issued by hand refuses it."""
    if not bill_ids:
        return
    if run_id is not None:
        services.post_bill_batch(run_id, bill_ids, operator_sums or [])
        # A run issues invoices only: no voided bill to give a charge back for.
        charges = funds.wholesale_charges(bill_ids)
        funds.charge(charges, source_id=f"run {run_id}:{min(bill_ids)}")
        return
    services.post_bills(bill_ids)
    customers = Bill.objects.filter(pk__in=bill_ids).values("customer_id")
    services.post_advance_debits(
        AdvanceDebit.objects.filter(
            customer_id__in=customers, posted=False, bill__run__isnull=True
        ).values_list("pk", flat=True)
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


@jobs.task(queue="bulk")
def suspend_unsettled_task(timestamp: int) -> int:
    """Daily: disable resellers that stayed below their floor past the grace."""
    return funds.suspend_unsettled()
