"""Mid-period package changes: an adjustment bill for the days left, per the ISP's setting.

When a customer whose current period is billed moves to another package, and the ISP's
billing settings say to prorate (the default), one *adjustment* bill is issued at once for
the days left, today included:

- a credit of the old package's share for those days: its package line, discount and VAT
  from the bill that covers today (an invoice or an earlier adjustment), each scaled by
  ``days left / days that bill charged``;
- a charge of the new package for the same days, priced as a bill is (custom price, the
  billing profile's discount, the package's VAT), over the days of the billing cycle.

A positive difference is owed like any bill (the advance pays it as far as it reaches); a
negative one is a credit: it goes to the customer's advance, which pays what is still owed
on the covering bill. Both movements are ``AdvanceDebit`` rows for the ledger. Nothing
happens without a covering bill (the next run bills the new package), for daily-rate bills
(tomorrow is billed at the new rate) or when the ISP turned proration off.
"""

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from ispbills.billing.models import AdvanceDebit, Bill, BillingSettings, InvoiceCounter
from ispbills.core import audit, events
from ispbills.core.money import ZERO, to_money
from ispbills.customers.models import Customer


def settings_for(tenant_id: int) -> BillingSettings:
    """The ISP's billing settings; the defaults until saved."""
    found = BillingSettings.objects.filter(tenant_id=tenant_id).first()
    if found is not None:
        return found
    from ispbills.tenancy.models import Operator

    root = Operator.objects.get(tenant_id=tenant_id, parent=None)
    return BillingSettings(tenant_id=tenant_id, operator=root)


SETTINGS_FIELDS = ("prorate_package_change",)


@transaction.atomic
def save_settings(*, actor: Any, tenant_id: int, **values: Any) -> BillingSettings:
    """Change the ISP's billing settings (its group admins only); audited."""
    from ispbills.core.access import access_of, require
    from ispbills.core.errors import DomainError, NotAllowedError

    settings = settings_for(tenant_id)
    require(actor, "billing.change", settings.operator)
    access = access_of(actor)
    if actor is not None and not (access.tenant_wide or access.is_superadmin):
        raise NotAllowedError(_("Only the ISP's group admins change its billing settings."))
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise DomainError(_("These fields cannot be changed: %s") % ", ".join(sorted(unknown)))
    if settings.pk is not None:
        settings = BillingSettings.objects.select_for_update().get(pk=settings.pk)
    before = {key: getattr(settings, key) for key in values}
    for key, value in values.items():
        setattr(settings, key, bool(value))
    settings.save()
    changes = audit.diff(before, {key: getattr(settings, key) for key in values})
    if changes:
        audit.record(actor, "billing_settings.updated", settings, changes=changes)
    return settings


def _share(amount: Decimal, days: int, of: int) -> Decimal:
    return to_money(amount * days / of) if of else ZERO


def _charged_part(bill: Bill) -> tuple[Decimal, Decimal, Decimal, int]:
    """What ``bill`` charged for its package: (package, discount, VAT, days charged)."""
    package = discount = vat = ZERO
    days = 0
    for line in bill.lines:
        amount = Decimal(line["amount"])
        if line.get("kind") == "package":
            package, days = amount, int(line.get("days") or 0)
        elif line.get("kind") == "discount":
            discount = -amount
        elif line.get("kind") == "vat":
            vat = amount
    return package, discount, vat, days


def _price_new(customer: Customer, days: int, of: int) -> dict[str, Any]:
    """The new package's charge for ``days`` of a cycle of ``of`` days, priced as a bill is."""
    package = customer.package
    assert package is not None
    price = customer.custom_price if customer.custom_price is not None else package.price
    subtotal = _share(price, days, of)
    profile = customer.billing_profile
    discount = ZERO
    if profile is not None and profile.discount_kind == "percent":
        discount = to_money(subtotal * profile.discount_value / 100)
    elif profile is not None and profile.discount_kind == "fixed":
        discount = min(_share(profile.discount_value, days, of), subtotal)
    vat_profile = package.vat_profile if package.vat_profile_id else None
    rate = vat_profile.rate if vat_profile is not None and vat_profile.is_active else ZERO
    inclusive = bool(vat_profile and vat_profile.is_active and vat_profile.inclusive)
    net = subtotal - discount
    vat = to_money(net * rate / (100 + rate) if inclusive else net * rate / 100)
    return {
        "subtotal": subtotal,
        "discount": discount,
        "vat": vat,
        "rate": rate,
        "inclusive": inclusive,
        "total": net + (ZERO if inclusive else vat),
        "discount_kind": profile.discount_kind if profile is not None else "none",
        "discount_value": profile.discount_value if profile is not None else ZERO,
    }


def prorate_package_change(*, actor: Any, customer_id: int, at: dt.datetime | None = None) -> Any:
    """Issue the adjustment bill of a customer who just changed package (in the caller's
    transaction); returns it, or None when there is nothing to adjust."""
    customer = (
        Customer.objects.select_related("tenant", "package__vat_profile", "billing_profile")
        .select_for_update(of=("self",))
        .get(pk=customer_id)
    )
    if customer.package is None or not settings_for(customer.tenant_id).prorate_package_change:
        return None
    zone = zoneinfo.ZoneInfo(customer.tenant.timezone)
    today = timezone.localtime(at or timezone.now(), zone).date()
    covering = (
        Bill.objects.filter(
            customer_id=customer.pk,
            kind__in=[Bill.Kind.INVOICE, Bill.Kind.ADJUSTMENT],
            period_start__lte=today,
            period_end__gte=today,
        )
        .exclude(status=Bill.Status.VOID)
        .order_by("-number")
        .first()
    )
    if covering is None or covering.package_id == customer.package_id:
        return None
    old_package, old_discount, old_vat, old_days = _charged_part(covering)
    cycle_days = next(
        (int(line["of"]) for line in covering.lines if line.get("kind") == "package"), 0
    )
    left = (covering.period_end - today).days + 1
    if old_days <= 1 or not cycle_days or customer.package.billing_type != "monthly":
        return None  # daily-rate bills, or a move to a daily/free package the run takes up
    credit = {
        "subtotal": _share(old_package, left, old_days),
        "discount": _share(old_discount, left, old_days),
        "vat": _share(old_vat, left, old_days),
    }
    credit_total = credit["subtotal"] - credit["discount"]
    credit_total += ZERO if covering.vat_inclusive else credit["vat"]
    new = _price_new(customer, left, cycle_days)
    total = new["total"] - credit_total
    lines: list[dict[str, Any]] = [
        {
            "kind": "credit",
            "amount": str(-credit_total),
            "package": covering.description,
            "bill": covering.display_number,
            "days": left,
            "of": old_days,
            "vat": str(-credit["vat"]),
        },
        {"kind": "package", "amount": str(new["subtotal"]), "days": left, "of": cycle_days},
    ]
    if new["discount"]:
        lines.append(
            {
                "kind": "discount",
                "amount": str(-new["discount"]),
                "discount_kind": new["discount_kind"],
                "value": str(new["discount_value"]),
            }
        )
    if new["rate"]:
        lines.append(
            {
                "kind": "vat",
                "amount": str(new["vat"]),
                "rate": str(new["rate"]),
                "inclusive": new["inclusive"],
            }
        )
    advance = max(customer.advance_balance, ZERO)
    applied = min(advance, total) if total > 0 else ZERO
    InvoiceCounter.objects.get_or_create(tenant_id=customer.tenant_id)
    counter = InvoiceCounter.objects.select_for_update().get(tenant_id=customer.tenant_id)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    bill = Bill.objects.create(
        tenant_id=customer.tenant_id,
        operator_id=customer.operator_id,
        number=counter.last_number,
        kind=Bill.Kind.ADJUSTMENT,
        customer=customer,
        period_start=today,
        period_end=covering.period_end,
        issued_on=today,
        due_on=max(today, covering.due_on),
        package=customer.package,
        description=customer.package.name,
        lines=lines,
        subtotal=new["subtotal"] - credit["subtotal"],
        discount=new["discount"] - credit["discount"],
        vat=new["vat"] - credit["vat"],
        vat_rate=new["rate"],
        vat_inclusive=new["inclusive"],
        total=total,
        advance_applied=applied,
        paid_amount=applied,
        status=(
            Bill.Status.PAID
            if total <= 0 or applied == total
            else Bill.Status.PARTIALLY_PAID
            if applied
            else Bill.Status.UNPAID
        ),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    if applied:
        _debit(bill, customer.pk, applied)
    elif total < 0:
        _credit(bill, covering, customer.pk, -total)
    events.emit("bills.issued", bill_ids=[bill.pk], run_id=None)
    audit.record(
        actor,
        "bill.adjusted",
        bill,
        label=f"{bill.display_number} · {customer.username}",
        changes={
            "from": [None, covering.description],
            "to": [None, customer.package.name],
            "days": [None, left],
            "total": [None, str(total)],
        },
    )
    return bill


def _debit(bill: Bill, customer_id: int, amount: Decimal) -> None:
    """``bill`` consumed ``amount`` of the customer's advance."""
    Customer.objects.filter(pk=customer_id).update(advance_balance=F("advance_balance") - amount)
    AdvanceDebit.objects.create(bill=bill, customer_id=customer_id, amount=amount)


def _credit(adjustment: Bill, covering: Bill, customer_id: int, amount: Decimal) -> None:
    """A credit goes to the advance, which pays what is still owed on the covering bill."""
    Customer.objects.filter(pk=customer_id).update(advance_balance=F("advance_balance") + amount)
    AdvanceDebit.objects.create(bill=adjustment, customer_id=customer_id, amount=-amount)
    owed = Bill.objects.select_for_update().get(pk=covering.pk)
    pays = min(amount, owed.payable)
    if pays <= 0:
        return
    owed.advance_applied += pays
    owed.paid_amount += pays
    owed.status = Bill.Status.PAID if owed.paid_amount == owed.total else Bill.Status.PARTIALLY_PAID
    owed.save(update_fields=["advance_applied", "paid_amount", "status", "updated_at"])
    _debit(owed, customer_id, pays)


def prorate_package_changes(*, actor: Any, customer_ids: list[int]) -> int:
    """Adjust each customer who changed package; returns the adjustment bills issued."""
    with transaction.atomic():
        issued = [prorate_package_change(actor=actor, customer_id=pk) for pk in customer_ids]
    return sum(1 for bill in issued if bill is not None)
