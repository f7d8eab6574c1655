"""Filters for operators, staff users and login attempts (shared by panel and API)."""

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ispbills.core.filtersets import ScopedFilterSet
from ispbills.tenancy.models import LoginAttempt, Operator, User
from ispbills.tenancy.roles import Role


class OperatorFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    kind = django_filters.ChoiceFilter(choices=Operator.Kind.choices, label=_("Kind"))
    account_type = django_filters.ChoiceFilter(
        choices=Operator.AccountType.choices, label=_("Account type")
    )
    parent = django_filters.ModelChoiceFilter(queryset=Operator.objects.all(), label=_("Under"))
    is_active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = Operator
        fields = ["q", "kind", "account_type", "parent", "is_active"]

    def search(self, queryset: QuerySet[Operator], name: str, value: str) -> QuerySet[Operator]:
        return queryset.filter(Q(name__icontains=value) | Q(mobile__contains=value))


class UserFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    role = django_filters.ChoiceFilter(
        field_name="membership__role", choices=Role.choices, label=_("Role")
    )
    operator = django_filters.ModelChoiceFilter(
        field_name="membership__operator", queryset=Operator.objects.all(), label=_("Operator")
    )
    is_active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = User
        fields = ["q", "role", "operator", "is_active"]

    def search(self, queryset: QuerySet[User], name: str, value: str) -> QuerySet[User]:
        return queryset.filter(
            Q(username__icontains=value)
            | Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
            | Q(mobile__contains=value)
        )


class LoginAttemptFilterSet(ScopedFilterSet):
    username = django_filters.CharFilter(lookup_expr="iexact", label=_("Username"))
    ip = django_filters.CharFilter(label=_("Address"))
    success = django_filters.BooleanFilter(label=_("Succeeded"))

    class Meta:
        model = LoginAttempt
        fields = ["username", "ip", "success"]
