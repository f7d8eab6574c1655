"""Network filters, shared by the panel and the API."""

import django_filters
from django.utils.translation import gettext_lazy as _

from ispbills.core.filtersets import ScopedFilterSet
from ispbills.network.models import IpPool, PppoeProfile


class IpPoolFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("Search"))
    purpose = django_filters.ChoiceFilter(choices=IpPool.Purpose.choices, label=_("Purpose"))
    family = django_filters.ChoiceFilter(choices=IpPool.Family.choices, label=_("Family"))

    class Meta:
        model = IpPool
        fields = ["q", "purpose", "family"]


class PppoeProfileFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("Search"))
    ip_mode = django_filters.ChoiceFilter(
        choices=PppoeProfile.IpMode.choices, label=_("Addressing")
    )
    ipv4_pool = django_filters.ModelChoiceFilter(
        queryset=IpPool.objects.filter(family=4), label=_("IPv4 pool")
    )
    is_active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = PppoeProfile
        fields = ["q", "ip_mode", "ipv4_pool", "is_active"]
