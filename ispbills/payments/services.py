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
8. and, through that event's in-transaction handlers, owe the ledger its entry (the
   accounting outbox, posted in batches right after).

``reverse_payment()`` undoes exactly what a payment did, as a new reversal payment;
``edit_payment()`` is a reversal plus a corrected payment.
"""

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any, NoReturn

from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from ispbills.billing.models import Bill
from ispbills.core import audit, clock, events
from ispbills.core.access import access_of
from ispbills.core.context import request_info
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
    """The actor holds ``permission`` and reaches this customer (a manager: an assigned one);
    the system (``None``) always does."""
    if actor is None:
        return
    if not access_of(actor).can(permission):
        raise NotAllowedError(_("You do not have permission to do this."))
    if not Customer.objects.restrict(actor, "view").filter(pk=customer.pk).exists():
        raise NotAllowedError(_("You may not take payments for this customer."))


# Steps 1-3 in one statement: the customer row locked, its open bills locked and paid oldest
# due first (a named bill first), the payment inserted under its idempotency key (a replay
# inserts nothing and so changes nothing), its allocations, the bills, the advance and the
# audit row written. Returns the payment and what the Python side still has to look at.
PAY_SQL = """
WITH customer AS MATERIALIZED (
    SELECT id, tenant_id, operator_id, username, status, status_reason, expires_at
      FROM customers_customer WHERE id = %(customer)s AND status <> 'deleted' FOR UPDATE
), locked AS MATERIALIZED (
    SELECT b.id, b.number, b.due_on, b.total - b.paid_amount AS payable
      FROM billing_bill b
     WHERE b.customer_id = %(customer)s AND b.kind IN ('invoice', 'adjustment')
       AND b.status IN ('unpaid', 'partially_paid')
       FOR UPDATE
), running AS MATERIALIZED (
    SELECT locked.*, sum(payable) OVER (
               ORDER BY (id = %(bill)s) DESC, due_on, number
               ROWS UNBOUNDED PRECEDING) - payable AS before
      FROM locked
), shares AS MATERIALIZED (
    SELECT id, least(payable, %(net)s - before) AS amount FROM running WHERE before < %(net)s
), payment AS (
    INSERT INTO payments_payment (
        tenant_id, operator_id, created_at, updated_at, kind, customer_id, method, reference,
        gateway, amount, charge, to_bills, to_advance, received_at, collector_id, note, status,
        expiry_before, expiry_after, reactivated)
    SELECT c.tenant_id, c.operator_id, %(now)s, %(now)s, 'payment', c.id, %(method)s,
           %(reference)s, %(gateway)s, %(amount)s, %(charge)s, s.paid, %(net)s - s.paid,
           %(received_at)s, %(collector)s, %(note)s, 'applied', c.expires_at, c.expires_at,
           false
      FROM customer c, (SELECT coalesce(sum(amount), 0) AS paid FROM shares) s
    ON CONFLICT (tenant_id, method, reference) DO NOTHING
    RETURNING {columns}
), allocations AS (
    INSERT INTO payments_allocation (payment_id, bill_id, amount)
    SELECT payment.id, shares.id, shares.amount FROM payment, shares
    RETURNING bill_id, amount
), bills AS (
    UPDATE billing_bill b
       SET paid_amount = b.paid_amount + a.amount, updated_at = %(now)s,
           status = CASE WHEN b.paid_amount + a.amount = b.total THEN 'paid'
                         ELSE 'partially_paid' END
      FROM allocations a
     WHERE b.id = a.bill_id
    RETURNING b.id, b.status = 'paid' AS settled, b.period_end
), advance AS (
    UPDATE customers_customer cu
       SET advance_balance = cu.advance_balance + payment.to_advance
      FROM payment
     WHERE cu.id = %(customer)s AND payment.to_advance > 0
    RETURNING cu.id
), audited AS (
    INSERT INTO core_auditevent (tenant_id, operator_id, actor_id, actor_label, verb,
                                 object_type, object_id, object_label, changes, ip,
                                 user_agent, at)
    SELECT c.tenant_id, c.operator_id, %(actor_id)s, %(actor_label)s, 'payment.received',
           'payments.payment', payment.id::text,
           left('MR-' || lpad(payment.id::text, 6, '0') || ' · ' || c.username, 200),
           jsonb_build_object(
               'amount', jsonb_build_array(NULL, %(amount)s::text),
               'charge', jsonb_build_array(NULL, %(charge)s::text),
               'to_advance', jsonb_build_array(NULL, payment.to_advance::text)),
           %(ip)s, %(user_agent)s, %(now)s
      FROM payment, customer c
    RETURNING 1
)
SELECT payment.*, (SELECT max(period_end) FROM bills WHERE settled), c.status,
       (SELECT count(*) FROM advance) + (SELECT count(*) FROM audited)
  FROM payment, customer c
"""
PAYMENT_COLUMNS = [field.attname for field in Payment._meta.concrete_fields]
PAY_SQL = PAY_SQL.replace("{columns}", ", ".join(PAYMENT_COLUMNS))


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
    if method not in Payment.Method.values:
        raise DomainError(_("Unknown payment method."), fields={"method": [_("Unknown.")]})
    reference = (reference or "").strip()[:100]
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
    if actor is not None:
        _reachable(actor, customer, "payments.add")
    if (
        bill is not None
        and not Bill.objects.filter(
            pk=bill.pk, customer_id=customer.pk, kind__in=PAYABLE_KINDS, status__in=OPEN
        ).exists()
    ):
        raise ConflictError(
            _("Bill %(number)s is not open: it is paid, void or not this customer's.")
            % {"number": bill.display_number},
            fields={"bill": [_("Not an open bill of this customer.")]},
        )
    now = clock.now()
    request = request_info()
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    with connection.cursor() as cursor:
        cursor.execute(
            PAY_SQL,
            {
                "customer": customer.pk,
                "bill": bill.pk if bill is not None else 0,
                "method": method,
                "reference": reference,
                "gateway": gateway[:30],
                "amount": amount,
                "charge": charge,
                "net": amount - charge,
                "received_at": received_at or now,
                "collector": getattr(collector, "pk", None),
                "note": (note or "").strip()[:200],
                "now": now,
                "actor_id": getattr(actor_obj, "pk", None),
                "actor_label": actor_obj.get_username() if actor_obj else "system",
                "ip": request.ip,
                "user_agent": request.user_agent[:300],
            },
        )
        row = cursor.fetchone()
    if row is None:  # a deleted customer, or a reference recorded before (or racing)
        if not Customer.objects.filter(pk=customer.pk).exclude(status="deleted").exists():
            raise DomainError(_("This customer is deleted: restore it before taking a payment."))
        _refuse_replay(customer.tenant_id, method, reference)
    count = len(PAYMENT_COLUMNS)
    payment = Payment.from_db(connection.alias, PAYMENT_COLUMNS, row[:count])
    settled_until, status, _writes = row[count:]
    extends = payment.expiry_before is not None and settled_until is not None
    if extends or status == Customer.Status.SUSPENDED:  # prepaid or suspended: look closer
        customer = Customer.objects.select_related("tenant", "billing_profile").get(pk=customer.pk)
        expiry_after = _extend_validity(customer, settled_until)
        reactivated = _reactivate(customer, payment, now)
        if expiry_after != payment.expiry_before or reactivated:
            payment.expiry_after, payment.reactivated = expiry_after, reactivated
            payment.save(update_fields=["expiry_after", "reactivated"])
    events.emit(
        "payment.received",
        payment_id=payment.pk,
        customer_id=customer.pk,
        tenant_id=payment.tenant_id,
    )
    return payment


def _refuse_replay(tenant_id: int, method: str, reference: str) -> NoReturn:
    """A reference is recorded once: say as which payment."""
    earlier = Payment.objects.filter(
        tenant_id=tenant_id, method=method, reference=reference
    ).first()
    number = earlier.display_number if earlier is not None else reference
    message = _("This reference was already recorded as %(number)s.") % {"number": number}
    raise ConflictError(message, fields={"reference": [message]})


def _extend_validity(customer: Customer, settled_until: dt.date | None) -> dt.datetime | None:
    """A prepaid customer (one with an expiry) is served to the end of the last period it
    paid in full (``settled_until``), at least its profile's minimum validity from now;
    returns the expiry after."""
    if customer.expires_at is None or settled_until is None:
        return customer.expires_at
    zone = zoneinfo.ZoneInfo(customer.tenant.timezone)
    end = dt.datetime.combine(settled_until + dt.timedelta(days=1), dt.time(), tzinfo=zone)
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
            actor=None,
            customer=customer,
            reason=f"unpaid again: payment {payment.display_number} reversed",
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
    events.emit(
        "payment.reversed",
        payment_id=payment.pk,
        reversal_id=reversal.pk,
        tenant_id=payment.tenant_id,
    )
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
