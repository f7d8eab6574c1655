"""The VAT report: what was invoiced per VAT rate and operator over a range of days."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from ispbills.billing.models import Bill

ZERO = Value(Decimal("0.00"), output_field=DecimalField(max_digits=14, decimal_places=2))


@dataclass(frozen=True)
class VatRow:
    """Bills issued at one VAT rate under one operator, reversals subtracted."""

    vat_rate: Decimal
    operator_id: int
    operator: str
    taxable: Decimal
    vat: Decimal
    gross: Decimal
    bills: int


def vat_report(user: Any, start: dt.date, end: dt.date) -> list[VatRow]:
    """Per VAT rate and operator, for bills issued from ``start`` to ``end`` (inclusive):
    the taxable amount (after discount, without VAT), the VAT, the amount billed and the
    number of bills; a reversal (negative amounts, issued on its void date) subtracts."""
    bills = Bill.objects.restrict(user, "view").filter(issued_on__gte=start, issued_on__lte=end)
    net = F("subtotal") - F("discount")
    rows = (
        bills.values("vat_rate", "operator_id", "operator__name")
        .annotate(
            taxable=Coalesce(
                Sum(Case(When(vat_inclusive=True, then=net - F("vat")), default=net)), ZERO
            ),
            vat_sum=Coalesce(Sum("vat"), ZERO),
            gross=Coalesce(Sum("total"), ZERO),
            bill_count=Count("id", filter=Q(kind=Bill.Kind.INVOICE))
            - Count("id", filter=Q(kind=Bill.Kind.REVERSAL)),
        )
        .order_by("vat_rate", "operator__name", "operator_id")
    )
    return [
        VatRow(
            vat_rate=row["vat_rate"],
            operator_id=row["operator_id"],
            operator=row["operator__name"],
            taxable=row["taxable"],
            vat=row["vat_sum"],
            gross=row["gross"],
            bills=row["bill_count"],
        )
        for row in rows
    ]
