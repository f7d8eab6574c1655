"""Payment filters, shared by the panel, the API and the export."""

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ispbills.core.filtersets import AnyYesNoSelect, ScopedFilterSet
from ispbills.payments.models import GatewayAccount, Payment, PaymentAttempt
from ispbills.tenancy.models import Operator, User


class PaymentFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    kind = django_filters.ChoiceFilter(choices=Payment.Kind.choices, label=_("Kind"))
    method = django_filters.ChoiceFilter(choices=Payment.Method.choices, label=_("Method"))
    status = django_filters.ChoiceFilter(choices=Payment.Status.choices, label=_("Status"))
    period = django_filters.CharFilter(
        method="in_month",
        label=_("Month"),
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )
    collector = django_filters.ModelChoiceFilter(
        queryset=User.objects.all(), label=_("Collected by")
    )
    operator = django_filters.ModelChoiceFilter(
        queryset=Operator.objects.all(), label=_("Operator")
    )
    customer = django_filters.NumberFilter(field_name="customer_id", label=_("Customer id"))

    class Meta:
        model = Payment
        fields = ["q", "kind", "method", "status", "period", "collector", "operator"]

    def search(self, queryset: QuerySet[Payment], name: str, value: str) -> QuerySet[Payment]:
        """Username, reference, or a receipt number (MR-000123, RV-…, or the digits)."""
        value = value.strip()
        number = value.upper().removeprefix("MR-").removeprefix("RV-")
        match = Q(customer__username__icontains=value) | Q(reference__iexact=value)
        if number.isascii() and number.isdigit() and len(number) < 19:
            match |= Q(pk=int(number))
        return queryset.filter(match)

    def in_month(self, queryset: QuerySet[Payment], name: str, value: str) -> Any:
        """Payments received in the month ``YYYY-MM`` of the ISP's calendar."""
        try:
            first = dt.date.fromisoformat(f"{value.strip()}-01")
            following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        except (ValueError, OverflowError):
            return queryset.none()
        return queryset.filter(received_at__date__gte=first, received_at__date__lt=following)


class GatewayAccountFilterSet(ScopedFilterSet):
    provider = django_filters.CharFilter(label=_("Provider"))
    enabled = django_filters.BooleanFilter(label=_("Enabled"), widget=AnyYesNoSelect)
    operator = django_filters.ModelChoiceFilter(
        queryset=Operator.objects.all(), label=_("Operator")
    )

    class Meta:
        model = GatewayAccount
        fields = ["provider", "enabled", "operator"]


class PaymentAttemptFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    state = django_filters.ChoiceFilter(choices=PaymentAttempt.State.choices, label=_("State"))
    provider = django_filters.CharFilter(label=_("Provider"))
    purpose = django_filters.ChoiceFilter(
        choices=PaymentAttempt.Purpose.choices, label=_("Purpose")
    )
    needs_attention = django_filters.BooleanFilter(
        label=_("Needs attention"), widget=AnyYesNoSelect
    )
    customer = django_filters.NumberFilter(field_name="customer_id", label=_("Customer id"))

    class Meta:
        model = PaymentAttempt
        fields = ["q", "state", "provider", "purpose", "needs_attention"]

    def search(
        self, queryset: QuerySet[PaymentAttempt], name: str, value: str
    ) -> QuerySet[PaymentAttempt]:
        """Our reference, the provider's session or transaction id, or the username."""
        value = value.strip()
        return queryset.filter(
            Q(merchant_ref__iexact=value)
            | Q(provider_ref__iexact=value)
            | Q(provider_txn_id__iexact=value)
            | Q(customer__username__icontains=value)
        )
