"""Bill and billing-run filters, shared by the panel, the API and the export."""

import datetime as dt
import zoneinfo
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ispbills.billing.models import Bill, BillingRun
from ispbills.core.access import access_of
from ispbills.core.filtersets import ScopedFilterSet
from ispbills.customers.models import Zone
from ispbills.tenancy.models import Operator, Tenant


def tenant_today(tenant_id: int | None) -> dt.date:
    """Today in the ISP's time zone (the server's zone without an ISP)."""
    zone = Tenant.objects.filter(pk=tenant_id or 0).values_list("timezone", flat=True).first()
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(zone) if zone else None)


class BillFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    status = django_filters.ChoiceFilter(choices=Bill.Status.choices, label=_("Status"))
    kind = django_filters.ChoiceFilter(choices=Bill.Kind.choices, label=_("Kind"))
    period = django_filters.CharFilter(
        method="in_month",
        label=_("Period (month)"),
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )
    operator = django_filters.ModelChoiceFilter(
        queryset=Operator.objects.all(), label=_("Operator")
    )
    zone = django_filters.ModelChoiceFilter(
        field_name="customer__zone", queryset=Zone.objects.all(), label=_("Zone")
    )
    customer = django_filters.NumberFilter(field_name="customer_id", label=_("Customer id"))
    overdue = django_filters.BooleanFilter(method="only_overdue", label=_("Overdue"))

    class Meta:
        model = Bill
        fields = ["q", "status", "kind", "period", "operator", "zone", "overdue"]

    def search(self, queryset: QuerySet[Bill], name: str, value: str) -> QuerySet[Bill]:
        value = value.strip()
        number = value.upper().removeprefix("INV-").removeprefix("CR-").removeprefix("ADJ-")
        match = Q(customer__username__icontains=value)
        if number.isascii() and number.isdigit():
            match |= Q(number=int(number))
        return queryset.filter(match)

    def in_month(self, queryset: QuerySet[Bill], name: str, value: str) -> QuerySet[Bill]:
        """Bills whose period starts in the month ``YYYY-MM`` (unknown months match nothing)."""
        try:
            first = dt.date.fromisoformat(f"{value.strip()}-01")
            following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        except (ValueError, OverflowError):
            return queryset.none()
        return queryset.filter(period_start__gte=first, period_start__lt=following)

    def only_overdue(self, queryset: QuerySet[Bill], name: str, value: bool | None) -> Any:
        """Unpaid or partly paid bills past their due date in the ISP's calendar."""
        if value is None:
            return queryset
        today = tenant_today(access_of(self.user).tenant_id)
        overdue = Q(
            kind__in=[Bill.Kind.INVOICE, Bill.Kind.ADJUSTMENT],
            status__in=[Bill.Status.UNPAID, Bill.Status.PARTIALLY_PAID],
            due_on__lt=today,
        )
        return queryset.filter(overdue if value else ~overdue)


class BillingRunFilterSet(ScopedFilterSet):
    status = django_filters.ChoiceFilter(choices=BillingRun.Status.choices, label=_("Status"))
    run_date = django_filters.DateFilter(
        label=_("Billing date"), widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = BillingRun
        fields = ["status", "run_date"]
