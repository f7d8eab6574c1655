"""Bill and billing-run tables."""

from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ispbills.billing.models import Bill, BillingRun
from ispbills.billing.services import SKIP_REASONS

MONEY = "{% load ispbills %}{{ value|money }}"
STATUS = (
    '<span class="badge text-bg-{% if value == "paid" %}success{% elif value == "void" %}'
    'secondary{% elif value == "partially_paid" %}info{% else %}warning{% endif %}">'
    "{{ record.get_status_display }}</span>"
)
MONEY_COLUMNS = ("total", "paid_amount", "payable")


class BillTable(tables.Table):
    number = tables.Column(
        accessor="display_number", linkify=True, verbose_name=_("Number"), order_by="number"
    )
    customer = tables.Column(accessor="customer__username", verbose_name=_("Customer"))
    description = tables.Column(verbose_name=_("Package"))
    period = tables.TemplateColumn(
        "{{ record.period_start|date:'Y-m-d' }} - {{ record.period_end|date:'Y-m-d' }}",
        verbose_name=_("Period"),
        order_by="period_start",
    )
    total = tables.TemplateColumn(MONEY, verbose_name=_("Total"))
    paid_amount = tables.TemplateColumn(MONEY, verbose_name=_("Paid"))
    payable = tables.TemplateColumn(MONEY, verbose_name=_("Payable"), orderable=False)
    status = tables.TemplateColumn(STATUS, verbose_name=_("Status"))

    class Meta:
        model = Bill
        fields = (
            "number",
            "customer",
            "description",
            "period",
            "issued_on",
            "due_on",
            "total",
            "paid_amount",
            "payable",
            "status",
        )

    def __init__(self, *args: Any, show_money: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, exclude=() if show_money else MONEY_COLUMNS, **kwargs)


class BillingRunTable(tables.Table):
    run_date = tables.Column(
        linkify=("billing:billingrun_detail", [tables.A("pk")]), verbose_name=_("Billing date")
    )
    billed = tables.Column(accessor="summary__billed", verbose_name=_("Billed"), orderable=False)
    total = tables.TemplateColumn(
        "{% load ispbills %}{{ record.summary.total|money }}",
        verbose_name=_("Total"),
        orderable=False,
    )
    skipped = tables.Column(
        accessor="summary__skipped", verbose_name=_("Skipped"), orderable=False, default="—"
    )
    requested_by = tables.Column(verbose_name=_("Requested by"), default="—")

    class Meta:
        model = BillingRun
        fields = ("run_date", "status", "billed", "total", "skipped", "requested_by", "created_at")

    def __init__(self, *args: Any, show_money: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, exclude=() if show_money else ("total",), **kwargs)

    def render_skipped(self, value: dict[str, int]) -> str:
        return skipped_summary(value) or "—"


def reason_label(reason: str) -> str:
    """A skip reason's code named in the reader's language."""
    return str(SKIP_REASONS.get(reason, reason))


def skipped_summary(skipped: dict[str, int]) -> str:
    """``{"trial": 2}`` → "trial account: 2"."""
    return ", ".join(
        f"{reason_label(reason)}: {count}" for reason, count in sorted(skipped.items())
    )


def named_lines(bill: Bill) -> list[tuple[str, Any]]:
    """The bill's lines as (label in the reader's language, amount)."""
    named = []
    for line in bill.lines:
        kind, amount = line.get("kind"), Decimal(line["amount"])
        if kind == "package":
            label = bill.description
            if line.get("days") and line.get("days") != line.get("of"):
                label += " · " + gettext("%(days)s of %(of)s days") % {
                    "days": line["days"],
                    "of": line["of"],
                }
        elif kind == "discount":
            if line.get("discount_kind") == "percent":
                label = gettext("Discount (%(value)s%%)") % {"value": line.get("value")}
            else:
                label = gettext("Discount (fixed)")
        elif kind == "credit":
            label = gettext("Unused %(days)s of %(of)s days of %(package)s (%(bill)s)") % {
                "days": line.get("days"),
                "of": line.get("of"),
                "package": line.get("package"),
                "bill": line.get("bill"),
            }
        elif kind == "vat":
            rate = {"rate": line.get("rate")}
            label = (
                gettext("VAT %(rate)s%% (included)") % rate
                if line.get("inclusive")
                else gettext("VAT %(rate)s%%") % rate
            )
        else:
            label = str(kind)
        named.append((label, amount))
    return named
