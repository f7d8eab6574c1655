"""Catalog filters, shared by the panel and the API."""

import django_filters
from django.utils.translation import gettext_lazy as _

from ispbills.catalog.models import BillingProfile, Package, ServiceModel, VatProfile
from ispbills.core.filtersets import ScopedFilterSet


class PackageFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("Search"))
    service_model = django_filters.ChoiceFilter(choices=ServiceModel.choices, label=_("Service"))
    billing_type = django_filters.ChoiceFilter(
        choices=Package.BillingType.choices, label=_("Billing type")
    )
    is_active = django_filters.BooleanFilter(label=_("Active"))
    masters_only = django_filters.BooleanFilter(
        field_name="parent", lookup_expr="isnull", label=_("Master packages only")
    )

    class Meta:
        model = Package
        fields = ["q", "service_model", "billing_type", "is_active", "masters_only"]


class BillingProfileFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("Search"))
    term = django_filters.ChoiceFilter(choices=BillingProfile.Term.choices, label=_("Term"))
    is_active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = BillingProfile
        fields = ["q", "term", "is_active"]


class VatProfileFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("Search"))
    is_active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = VatProfile
        fields = ["q", "is_active"]
