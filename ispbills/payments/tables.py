"""The payment table."""

from typing import Any

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from ispbills.payments.models import GatewayAccount, Payment, PaymentAttempt

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


class GatewayAccountTable(tables.Table):
    label = tables.Column(accessor="pk", linkify=True, verbose_name=_("Gateway"), order_by="id")
    provider = tables.Column(verbose_name=_("Provider"))
    operator = tables.Column(verbose_name=_("Operator"))
    enabled = tables.BooleanColumn(verbose_name=_("Enabled"))
    sandbox = tables.BooleanColumn(verbose_name=_("Sandbox"))
    for_customers = tables.BooleanColumn(verbose_name=_("Customers"))
    for_operators = tables.BooleanColumn(verbose_name=_("Top-ups"))
    checked_at = tables.TemplateColumn(
        "{% load ispbills %}{{ value|tenant_time|default:'—' }}", verbose_name=_("Last tested")
    )

    class Meta:
        model = GatewayAccount
        fields = (
            "label",
            "provider",
            "operator",
            "enabled",
            "sandbox",
            "for_customers",
            "for_operators",
            "checked_at",
        )

    def render_label(self, record: GatewayAccount) -> str:
        return str(record)


class PaymentAttemptTable(tables.Table):
    merchant_ref = tables.Column(linkify=True, verbose_name=_("Reference"))
    created_at = tables.TemplateColumn(
        "{% load ispbills %}{{ value|tenant_time }}", verbose_name=_("Started")
    )
    provider = tables.Column(verbose_name=_("Provider"))
    purpose = tables.Column(verbose_name=_("Purpose"))
    payer = tables.Column(accessor="pk", verbose_name=_("Payer"), orderable=False)
    amount = tables.TemplateColumn(MONEY, verbose_name=_("Amount"))
    state = tables.Column(verbose_name=_("State"))
    outcome = tables.Column(verbose_name=_("Outcome"), default="—")
    provider_txn_id = tables.Column(verbose_name=_("Transaction"), default="—")
    needs_attention = tables.BooleanColumn(verbose_name=_("Attention"))

    class Meta:
        model = PaymentAttempt
        fields = (
            "merchant_ref",
            "created_at",
            "provider",
            "purpose",
            "payer",
            "amount",
            "state",
            "outcome",
            "provider_txn_id",
            "needs_attention",
        )

    def render_payer(self, record: PaymentAttempt) -> str:
        if record.customer is not None:
            return str(record.customer.username)
        return str(record.payer_operator or "—")

    def __init__(self, *args: Any, show_money: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, exclude=() if show_money else ("amount",), **kwargs)
