"""Expense and category tables."""

from typing import Any

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from ispbills.expenses.models import Expense, ExpenseCategory

MONEY = "{% load ispbills %}{{ value|money }}"
STATUS = (
    '<span class="badge {% if record.is_void %}text-bg-secondary{% else %}text-bg-light'
    '{% endif %}">{{ record.get_status_display }}</span>'
)


class ExpenseCategoryTable(tables.Table):
    name = tables.Column(linkify=True, verbose_name=_("Name"))
    parent = tables.Column(verbose_name=_("Subcategory of"), default="—")
    operator = tables.Column(verbose_name=_("Owner"))
    is_active = tables.BooleanColumn(verbose_name=_("Active"))

    class Meta:
        model = ExpenseCategory
        fields = ("name", "parent", "operator", "is_active")


class ExpenseTable(tables.Table):
    number = tables.Column(
        accessor="display_number", linkify=True, verbose_name=_("Voucher"), order_by="id"
    )
    spent_on = tables.DateColumn(format="Y-m-d", verbose_name=_("Date"))
    operator = tables.Column(verbose_name=_("Operator"))
    category = tables.Column(
        accessor="category__label", verbose_name=_("Category"), order_by=("category__name",)
    )
    payee = tables.Column(verbose_name=_("Payee"))
    reference = tables.Column(verbose_name=_("Reference"), default="—")
    account = tables.Column(verbose_name=_("Paid from"))
    amount = tables.TemplateColumn(MONEY, verbose_name=_("Amount"))
    status = tables.TemplateColumn(STATUS, verbose_name=_("Status"))

    class Meta:
        model = Expense
        fields = (
            "number",
            "spent_on",
            "operator",
            "category",
            "payee",
            "reference",
            "account",
            "amount",
            "status",
        )

    def __init__(self, *args: Any, show_money: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, exclude=() if show_money else ("amount",), **kwargs)
