"""Expense and category filters, shared by the panel, the API and the exports."""

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ispbills.accounting.models import Account
from ispbills.core.filtersets import ScopedFilterSet
from ispbills.expenses.models import Expense, ExpenseCategory
from ispbills.tenancy.models import Operator

DATE = forms.DateInput(attrs={"type": "date"})
PAYING_KINDS = (Account.Kind.CASH, Account.Kind.BANK)


class ExpenseCategoryFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("Name"))
    operator = django_filters.ModelChoiceFilter(
        queryset=Operator.objects.all(), label=_("Operator")
    )
    is_active = django_filters.BooleanFilter(label=_("Active"))
    top_level = django_filters.BooleanFilter(
        field_name="parent", lookup_expr="isnull", label=_("Top level")
    )

    class Meta:
        model = ExpenseCategory
        fields = ["q", "operator", "is_active", "top_level"]


class ExpenseFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Payee or reference"))
    since = django_filters.DateFilter(
        field_name="spent_on", lookup_expr="gte", label=_("From"), widget=DATE
    )
    until = django_filters.DateFilter(
        field_name="spent_on", lookup_expr="lte", label=_("Until"), widget=DATE
    )
    category = django_filters.ModelChoiceFilter(
        queryset=ExpenseCategory.objects.select_related("parent"),
        method="in_category",
        label=_("Category"),
    )
    operator = django_filters.ModelChoiceFilter(
        queryset=Operator.objects.all(), label=_("Operator")
    )
    account = django_filters.ModelChoiceFilter(
        queryset=Account.objects.filter(kind__in=PAYING_KINDS).select_related("operator", "user"),
        label=_("Paid from"),
    )
    status = django_filters.ChoiceFilter(choices=Expense.Status.choices, label=_("Status"))

    class Meta:
        model = Expense
        fields = ["q", "since", "until", "category", "operator", "account", "status"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields = self.form.fields
        fields["category"].label_from_instance = lambda c: c.label
        fields["account"].label_from_instance = lambda account: f"{account.operator} · {account}"

    def search(self, queryset: QuerySet[Expense], name: str, value: str) -> QuerySet[Expense]:
        """The payee or reference containing the words, or the voucher number (EX-000123)."""
        value = value.strip()
        match = Q(payee__icontains=value) | Q(reference__icontains=value)
        number = value.upper().removeprefix("EX-")
        if number.isascii() and number.isdigit():
            match |= Q(pk=int(number))
        return queryset.filter(match)

    def in_category(
        self, queryset: QuerySet[Expense], name: str, value: ExpenseCategory
    ) -> QuerySet[Expense]:
        """The category's expenses and those of its subcategories."""
        return queryset.filter(Q(category=value) | Q(category__parent=value))
