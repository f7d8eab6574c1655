"""The payment pipeline: the one way money received for a customer is applied, and undone.

``receive_payment()`` is called for every way money arrives (cash now; cards and gateways
call it too) and does, in one transaction with the customer's row locked:

1. validate and record the payment under its idempotency key (a replay is refused with the
   payment it repeats; nothing is written twice);
2. take off the gateway's service charge, when given;
3. clear the customer's open bills oldest due first (a named bill first), the rest going to
   the advance balance;
4. extend a prepaid customer's validity to the end of each period it paid in full (and at
   least the billing profile's minimum), as a bill paid from the advance does;
5. reactivate a customer that billing suspended once nothing keeps it suspended, through the
   lifecycle service, which
6. re-provisions RADIUS and has the router drop the walled-garden session so the full profile
   applies (after commit);
7. emit ``payment.received`` for notifications and webhooks;
8. and, through that event's in-transaction handlers, the ledger.

``reverse_payment()`` undoes exactly what a payment did, as a new reversal payment;
``edit_payment()`` is a reversal plus a corrected payment.
"""

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from ispbills.billing.models import Bill
from ispbills.core import audit, clock, events
from ispbills.core.access import access_of, require
from ispbills.core.errors import ConflictError, DomainError, NotAllowedError
from ispbills.core.money import ZERO, MoneyError, to_money
from ispbills.customers import services as customers
from ispbills.customers.models import Customer
from ispbills.payments.models import Allocation, Payment
from ispbills.radius.provisioning import provision_customers

OPEN = (Bill.Status.UNPAID, Bill.Status.PARTIALLY_PAID)
PAYABLE_KINDS = (Bill.Kind.INVOICE, Bill.Kind.ADJUSTMENT)
# Days after which reversing a payment needs payments.delete on top of payments.change.
REVERSAL_WINDOW = dt.timedelta(days=7)


def _amount(value: Any, field: str, *, allow_zero: bool = False) -> Decimal:
    try:
        amount = to_money(value if value not in (None, "") else "0")
    except MoneyError:
        raise DomainError(
            _("Give an amount such as 500 or 500.50."), fields={field: [_("Not an amount.")]}
        ) from None
    if amount < 0 or (amount == 0 and not allow_zero):
        raise DomainError(
            _("The amount must be more than zero."), fields={field: [_("More than zero.")]}
        )
    return amount


def _reachable(actor: Any, customer: Customer, permission: str) -> None:
    """The actor may record payments for this customer (a manager: an assigned one)."""
    require(actor, permission, customer.operator)
    if (
        actor is not None
        and not Customer.objects.restrict(actor, "view").filter(pk=customer.pk).exists()
    ):
        raise NotAllowedError(_("You may not take payments for this customer."))


@transaction.atomic
def receive_payment(
    *,
    actor: Any,
    customer: Customer,
    amount: Any,
    method: str,
    reference: str,
    charge: Any = ZERO,
    gateway: str = "",
    bill: Bill | None = None,
    note: str = "",
    received_at: dt.datetime | None = None,
    collector: Any = None,
) -> Payment:
    """Apply money received for ``customer`` (see the module docstring); returns the payment.

    Refused with a clear error and nothing written: a deleted customer, a bad amount or
    charge, an unknown method, a named bill that is not this customer's open bill, a reused
    reference (``ConflictError`` naming the earlier payment)."""
    customer = (
        Customer.objects.select_for_update(of=("self",))
        .select_related("operator", "tenant", "billing_profile")
        .get(pk=customer.pk)
    )
    _reachable(actor, customer, "payments.add")
    if customer.status == Customer.Status.DELETED:
        raise DomainError(_("This customer is deleted: restore it before taking a payment."))
    if method not in Payment.Method.values:
        raise DomainError(_("Unknown payment method."), fields={"method": [_("Unknown.")]})
    reference = (reference or "").strip()
    if not reference:
        raise DomainError(
            _("Give the receipt or transaction reference."), fields={"reference": [_("Required.")]}
        )
    amount = _amount(amount, "amount")
    charge = _amount(charge, "charge", allow_zero=True)
    if charge >= amount:
        raise DomainError(
            _("The service charge must be less than the amount."),
            fields={"charge": [_("Less than the amount.")]},
        )
    _refuse_replay(customer.tenant_id, method, reference)
    bills = list(
        Bill.objects.select_for_update()
        .filter(customer=customer, kind__in=PAYABLE_KINDS, status__in=OPEN)
        .order_by("due_on", "number")
    )
    if bill is not None:
        named = next((open_bill for open_bill in bills if open_bill.pk == bill.pk), None)
        if named is None:
            raise ConflictError(
                _("Bill %(number)s is not open: it is paid, void or not this customer's.")
                % {"number": bill.display_number},
                fields={"bill": [_("Not an open bill of this customer.")]},
            )
        bills.remove(named)
        bills.insert(0, named)
    now = clock.now()
    payment = Payment(
        tenant_id=customer.tenant_id,
        operator_id=customer.operator_id,
        customer=customer,
        method=method,
        reference=reference[:100],
        gateway=gateway[:30],
        amount=amount,
        charge=charge,
        received_at=received_at or now,
        collector=collector if getattr(collector, "pk", None) else None,
        note=(note or "").strip()[:200],
        expiry_before=customer.expires_at,
    )
    left = amount - charge
    paid: list[tuple[Bill, Decimal]] = []
    for open_bill in bills:
        if left <= 0:
            break
        share = min(left, open_bill.payable)
        open_bill.paid_amount += share
        open_bill.status = (
            Bill.Status.PAID if open_bill.payable == 0 else Bill.Status.PARTIALLY_PAID
        )
        open_bill.save(update_fields=["paid_amount", "status", "updated_at"])
        paid.append((open_bill, share))
        left -= share
    payment.to_bills = amount - charge - left
    payment.to_advance = left
    try:
        with transaction.atomic():
            payment.save()
    except IntegrityError:  # a concurrent replay won the reference
        _refuse_replay(customer.tenant_id, method, reference, racing=True)
        raise
    Allocation.objects.bulk_create(
        Allocation(payment=payment, bill=paid_bill, amount=share) for paid_bill, share in paid
    )
    if left:
        Customer.objects.filter(pk=customer.pk).update(advance_balance=F("advance_balance") + left)
    payment.expiry_after = _extend_validity(customer, [b for b, _share in paid if b.payable == 0])
    payment.reactivated = _reactivate(customer, payment, now)
    payment.save(update_fields=["expiry_after", "reactivated"])
    audit.record(
        actor,
        "payment.received",
        payment,
        label=f"{payment.display_number} · {customer.username}",
        changes={
            "amount": [None, str(amount)],
            "charge": [None, str(charge)],
            "bills": [None, [b.display_number for b, _share in paid]],
            "to_advance": [None, str(left)],
        },
    )
    events.emit("payment.received", payment_id=payment.pk, customer_id=customer.pk)
    return payment


def _refuse_replay(tenant_id: int, method: str, reference: str, *, racing: bool = False) -> None:
    earlier = Payment.objects.filter(
        tenant_id=tenant_id, method=method, reference=reference
    ).first()
    if earlier is not None or racing:
        number = earlier.display_number if earlier is not None else reference
        message = _("This reference was already recorded as %(number)s.") % {"number": number}
        raise ConflictError(message, fields={"reference": [message]})


def _extend_validity(customer: Customer, paid_in_full: list[Bill]) -> dt.datetime | None:
    """A prepaid customer (one with an expiry) is served to the end of the last period paid
    in full, at least its profile's minimum validity from now; returns the expiry after."""
    if customer.expires_at is None or not paid_in_full:
        return customer.expires_at
    zone = zoneinfo.ZoneInfo(customer.tenant.timezone)
    last = max(bill.period_end for bill in paid_in_full)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    minimum = getattr(customer.billing_profile, "min_validity_days", 0) or 0
    wanted = max(end, clock.now() + dt.timedelta(days=minimum))
    if wanted <= customer.expires_at:
        return customer.expires_at
    Customer.objects.filter(pk=customer.pk).update(expires_at=wanted)
    customer.expires_at = wanted
    provision_customers([customer.pk])  # the new Expiration reaches RADIUS with the commit
    return wanted


def suspended_by_billing(customer: Customer) -> bool:
    """Suspended by billing automation (billing.automation's reasons), not by staff."""
    reason = customer.status_reason or ""
    return customer.status == Customer.Status.SUSPENDED and (
        reason.startswith("unpaid ") or reason == "validity ended"
    )


def _still_overdue(customer: Customer, now: dt.datetime) -> bool:
    """An open bill past its grace (the suspension rule of billing.automation)."""
    zone = zoneinfo.ZoneInfo(customer.tenant.timezone)
    grace = getattr(customer.billing_profile, "grace_days", 0) or 0
    today = now.astimezone(zone).date()
    return Bill.objects.filter(
        customer=customer,
        kind__in=PAYABLE_KINDS,
        status__in=OPEN,
        due_on__lt=today - dt.timedelta(days=grace),
    ).exists()


def _reactivate(customer: Customer, payment: Payment, now: dt.datetime) -> bool:
    """Bring back a customer billing suspended when nothing keeps it suspended any more."""
    customer.refresh_from_db(fields=["status", "status_reason", "expires_at"])
    if not suspended_by_billing(customer):
        return False
    if customer.expires_at is not None and customer.expires_at <= now:
        return False
    if _still_overdue(customer, now):
        return False
    customers.activate_customer(
        actor=None, customer=customer, reason=f"payment {payment.display_number}"
    )
    return True


# ---- corrections --------------------------------------------------------------------------


@transaction.atomic
def reverse_payment(*, actor: Any, payment: Payment, reason: str) -> Payment:
    """Undo a payment exactly, as a reversal payment: its bills owe again, the advance it
    left is taken back, the expiry it extended returns, and a customer it reactivated is
    suspended again. Refused, with nothing written, when later work built on it (the
    advance it left was spent, or the expiry changed since)."""
    reason = (reason or "").strip()[:200]
    if not reason:
        raise DomainError(
            _("Say why the payment is reversed."), fields={"reason": [_("Required.")]}
        )
    customer = (
        Customer.objects.select_for_update(of=("self",))
        .select_related("operator", "tenant")
        .get(pk=payment.customer_id)
    )
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    _reachable(actor, customer, "payments.change")
    if payment.kind != Payment.Kind.PAYMENT or payment.status == Payment.Status.REVERSED:
        raise ConflictError(_("This payment is already reversed or is itself a reversal."))
    now = clock.now()
    late = now - payment.received_at > REVERSAL_WINDOW
    if late and actor is not None and not access_of(actor).can("payments.delete"):
        raise NotAllowedError(
            _(
                "Payments older than %(days)s days are reversed by staff with the special "
                "permission payments.delete."
            )
            % {"days": REVERSAL_WINDOW.days}
        )
    if customer.advance_balance < payment.to_advance:
        raise ConflictError(
            _(
                "The advance this payment left has been spent on later bills: void or reverse "
                "those first."
            )
        )
    if (
        payment.expiry_after != payment.expiry_before
        and customer.expires_at != payment.expiry_after
    ):
        raise ConflictError(
            _("The customer's expiry changed since this payment; correct it by hand.")
        )
    allocations = list(payment.allocations.select_related("bill"))
    bills = {
        bill.pk: bill
        for bill in Bill.objects.select_for_update().filter(pk__in=[a.bill_id for a in allocations])
    }
    for allocation in allocations:
        bill = bills[allocation.bill_id]
        bill.paid_amount -= allocation.amount
        bill.status = (
            Bill.Status.UNPAID
            if bill.paid_amount == 0
            else Bill.Status.PARTIALLY_PAID
            if bill.paid_amount < bill.total
            else Bill.Status.PAID
        )
        bill.save(update_fields=["paid_amount", "status", "updated_at"])
    reversal = Payment.objects.create(
        tenant_id=payment.tenant_id,
        operator_id=payment.operator_id,
        kind=Payment.Kind.REVERSAL,
        customer=customer,
        method=payment.method,
        reference=f"{payment.reference}/reversed"[:100],
        gateway=payment.gateway,
        amount=-payment.amount,
        charge=-payment.charge,
        to_bills=-payment.to_bills,
        to_advance=-payment.to_advance,
        received_at=now,
        collector=actor if getattr(actor, "pk", None) else None,
        note=reason,
        status=Payment.Status.REVERSED,
        reverses=payment,
        expiry_before=customer.expires_at,
        expiry_after=payment.expiry_before,
    )
    Allocation.objects.bulk_create(
        Allocation(payment=reversal, bill_id=a.bill_id, amount=-a.amount) for a in allocations
    )
    if payment.to_advance:
        Customer.objects.filter(pk=customer.pk).update(
            advance_balance=F("advance_balance") - payment.to_advance
        )
    if payment.expiry_after != payment.expiry_before:
        Customer.objects.filter(pk=customer.pk).update(expires_at=payment.expiry_before)
        provision_customers([customer.pk])
    customer.refresh_from_db(fields=["status"])
    if payment.reactivated and customer.status == Customer.Status.ACTIVE:
        customers.suspend_customer(
            actor=None, customer=customer, reason=f"payment {payment.display_number} reversed"
        )
    payment.status = Payment.Status.REVERSED
    payment.save(update_fields=["status", "updated_at"])
    audit.record(
        actor,
        "payment.reversed",
        payment,
        label=f"{payment.display_number} · {reversal.display_number}",
        changes={"reason": [None, reason], "amount": [None, str(payment.amount)]},
    )
    events.emit("payment.reversed", payment_id=payment.pk, reversal_id=reversal.pk)
    return reversal


@transaction.atomic
def edit_payment(
    *,
    actor: Any,
    payment: Payment,
    reason: str,
    amount: Any = None,
    method: str | None = None,
    note: str | None = None,
) -> Payment:
    """Correct a payment's amount, method or note: the original is reversed and a corrected
    payment recorded (both audited, under the same rules); returns the corrected one."""
    reverse_payment(actor=actor, payment=payment, reason=reason)
    edits = Payment.objects.filter(
        reverses__isnull=True, reference__startswith=f"{payment.reference}/edit"
    ).count()
    return receive_payment(
        actor=actor,
        customer=payment.customer,
        amount=payment.amount if amount is None else amount,
        method=method or payment.method,
        reference=f"{payment.reference}/edit{edits + 1}",
        charge=payment.charge,
        gateway=payment.gateway,
        note=payment.note if note is None else note,
        received_at=payment.received_at,
        collector=payment.collector,
    )
