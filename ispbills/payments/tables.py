"""The payment table."""

from typing import Any

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from ispbills.payments.models import Payment

MONEY = "{% load ispbills %}{{ value|money }}"
MONEY_COLUMNS = ("amount", "to_bills", "to_advance")


class PaymentTable(tables.Table):
    number = tables.Column(
        accessor="display_number", linkify=True, verbose_name=_("Receipt"), order_by="id"
    )
    received_at = tables.TemplateColumn(
        "{% load ispbills %}{{ value|tenant_time }}", verbose_name=_("Received")
    )
    customer = tables.Column(accessor="customer__username", verbose_name=_("Customer"))
    method = tables.Column(verbose_name=_("Method"))
    reference = tables.Column(verbose_name=_("Reference"))
    amount = tables.TemplateColumn(MONEY, verbose_name=_("Amount"))
    to_bills = tables.TemplateColumn(MONEY, verbose_name=_("On bills"))
    to_advance = tables.TemplateColumn(MONEY, verbose_name=_("To advance"))
    collector = tables.Column(verbose_name=_("Collected by"), default="—")
    status = tables.Column(verbose_name=_("Status"))

    class Meta:
        model = Payment
        fields = (
            "number",
            "received_at",
            "customer",
            "method",
            "reference",
            "amount",
            "to_bills",
            "to_advance",
            "collector",
            "status",
        )

    def __init__(self, *args: Any, show_money: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, exclude=() if show_money else MONEY_COLUMNS, **kwargs)
