"""Card tables."""

from typing import Any

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from ispbills.cards.models import Card, CardBatch, Commission, DistributorPayment, RedemptionAttempt

MONEY = "{% load ispbills %}{{ value|money }}"
TIME = "{% load ispbills %}{{ value|tenant_time|default:'—' }}"


class MoneyTable(tables.Table):
    money_columns: tuple[str, ...] = ()

    def __init__(self, *args: Any, show_money: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, exclude=() if show_money else self.money_columns, **kwargs)


class CardBatchTable(MoneyTable):
    money_columns = ("value",)
    number = tables.Column(
        accessor="display_number", linkify=True, verbose_name=_("Batch"), order_by="id"
    )
    name = tables.Column(verbose_name=_("Name"))
    package = tables.Column(verbose_name=_("Package"), default="—")
    value = tables.TemplateColumn(MONEY, verbose_name=_("Face value"))
    count = tables.Column(verbose_name=_("Cards"))
    expires_at = tables.TemplateColumn(TIME, verbose_name=_("Expires"))
    distributor = tables.Column(verbose_name=_("Distributor"), default="—")
    operator = tables.Column(verbose_name=_("Operator"))

    class Meta:
        model = CardBatch
        fields = (
            "number",
            "name",
            "package",
            "value",
            "count",
            "expires_at",
            "distributor",
            "operator",
        )


class CardTable(MoneyTable):
    money_columns = ("value",)
    serial = tables.Column(linkify=True, verbose_name=_("Serial"))
    batch = tables.Column(accessor="batch__name", verbose_name=_("Batch"))
    value = tables.TemplateColumn(MONEY, verbose_name=_("Face value"))
    state = tables.Column(verbose_name=_("State"))
    distributor = tables.Column(verbose_name=_("Distributor"), default="—")
    expires_at = tables.TemplateColumn(TIME, verbose_name=_("Expires"))
    used_at = tables.TemplateColumn(TIME, verbose_name=_("Used"))
    customer = tables.Column(accessor="customer__username", verbose_name=_("Customer"), default="—")

    class Meta:
        model = Card
        fields = (
            "serial",
            "batch",
            "value",
            "state",
            "distributor",
            "expires_at",
            "used_at",
            "customer",
        )


class CommissionTable(MoneyTable):
    money_columns = ("amount",)
    at = tables.TemplateColumn(TIME, verbose_name=_("When"))
    distributor = tables.Column(verbose_name=_("Distributor"))
    card = tables.Column(accessor="card__serial", verbose_name=_("Card"))
    batch = tables.Column(accessor="card__batch__name", verbose_name=_("Batch"))
    amount = tables.TemplateColumn(MONEY, verbose_name=_("Commission"))
    entry = tables.Column(verbose_name=_("Ledger entry"), default="—")

    class Meta:
        model = Commission
        fields = ("at", "distributor", "card", "batch", "amount", "entry")


class DistributorPaymentTable(MoneyTable):
    money_columns = ("amount",)
    at = tables.TemplateColumn(TIME, verbose_name=_("When"))
    kind = tables.Column(verbose_name=_("Kind"))
    distributor = tables.Column(verbose_name=_("Distributor"))
    amount = tables.TemplateColumn(MONEY, verbose_name=_("Amount"))
    reference = tables.Column(verbose_name=_("Reference"))
    entry = tables.Column(linkify=True, verbose_name=_("Ledger entry"))
    operator = tables.Column(verbose_name=_("Operator"))

    class Meta:
        model = DistributorPayment
        fields = ("at", "kind", "distributor", "amount", "reference", "entry", "operator")


class RedemptionAttemptTable(tables.Table):
    at = tables.TemplateColumn(TIME, verbose_name=_("When"))
    outcome = tables.Column(verbose_name=_("Outcome"))
    customer = tables.Column(accessor="customer__username", verbose_name=_("Customer"))
    user = tables.Column(verbose_name=_("Entered by"), default="—")
    ip = tables.Column(verbose_name=_("Address"), default="—")
    card = tables.Column(accessor="card__serial", verbose_name=_("Card"), default="—")
    detail = tables.Column(verbose_name=_("Detail"))

    class Meta:
        model = RedemptionAttempt
        fields = ("at", "outcome", "customer", "user", "ip", "card", "detail")


class UsageTable(tables.Table):
    batch = tables.TemplateColumn(
        '<a href="{% url "cards:cardbatch_detail" record.batch_id %}">{{ record.batch__name }}</a>',
        verbose_name=_("Batch"),
        orderable=False,
    )
    distributor = tables.Column(
        accessor="distributor__username", verbose_name=_("Distributor"), default="—"
    )
    total = tables.Column(verbose_name=_("Cards"))
    unissued = tables.Column(verbose_name=_("Unissued"))
    issued = tables.Column(verbose_name=_("Unused"))
    used = tables.Column(verbose_name=_("Used"))
    expired = tables.Column(verbose_name=_("Expired"))
    void = tables.Column(verbose_name=_("Void"))

    class Meta:
        orderable = False
