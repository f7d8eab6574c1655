"""NAS and disconnect-log filters, shared by the panel, the API and exports."""

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ispbills.core.filtersets import ScopedFilterSet
from ispbills.radius.models import Disconnect, NasDevice


class NasDeviceFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    kind = django_filters.ChoiceFilter(choices=NasDevice.Kind.choices, label=_("Type"))
    is_active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = NasDevice
        fields = ["q", "kind", "is_active"]

    def search(self, queryset: QuerySet[NasDevice], name: str, value: str) -> QuerySet[NasDevice]:
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))


class DisconnectFilterSet(ScopedFilterSet):
    status = django_filters.ChoiceFilter(choices=Disconnect.Status.choices, label=_("Status"))
    kind = django_filters.ChoiceFilter(choices=Disconnect.Kind.choices, label=_("Kind"))
    username = django_filters.CharFilter(lookup_expr="iexact", label=_("Username"))
    customer = django_filters.NumberFilter(field_name="customer_id", label=_("Customer id"))
    since = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label=_("From")
    )
    until = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label=_("Until")
    )

    class Meta:
        model = Disconnect
        fields = ["status", "kind", "username", "customer", "since", "until"]
