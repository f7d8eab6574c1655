"""Card filters, shared by the panel, the API and the exports."""

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ispbills.cards.models import Card, CardBatch, Commission, DistributorPayment, RedemptionAttempt
from ispbills.catalog.models import Package
from ispbills.core.filtersets import ScopedFilterSet
from ispbills.tenancy.models import Operator, User

DISTRIBUTORS = User.objects.filter(membership__role="card_distributor")


class CardBatchFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    package = django_filters.ModelChoiceFilter(queryset=Package.objects.all(), label=_("Package"))
    distributor = django_filters.ModelChoiceFilter(queryset=DISTRIBUTORS, label=_("Distributor"))
    operator = django_filters.ModelChoiceFilter(
        queryset=Operator.objects.all(), label=_("Operator")
    )

    class Meta:
        model = CardBatch
        fields = ["q", "package", "distributor", "operator"]

    def search(self, queryset: QuerySet[CardBatch], name: str, value: str) -> QuerySet[CardBatch]:
        """Name, or the batch number (CB-000012 or the digits)."""
        value = value.strip()
        number = value.upper().removeprefix("CB-")
        match = Q(name__icontains=value)
        if number.isascii() and number.isdigit() and len(number) < 19:
            match |= Q(pk=int(number))
        return queryset.filter(match)


class CardFilterSet(ScopedFilterSet):
    serial = django_filters.CharFilter(method="by_serial", label=_("Serial"))
    state = django_filters.ChoiceFilter(choices=Card.State.choices, label=_("State"))
    batch = django_filters.NumberFilter(field_name="batch_id", label=_("Batch id"))
    distributor = django_filters.ModelChoiceFilter(queryset=DISTRIBUTORS, label=_("Distributor"))
    customer = django_filters.NumberFilter(field_name="customer_id", label=_("Customer id"))

    class Meta:
        model = Card
        fields = ["serial", "state", "batch", "distributor", "customer"]

    def by_serial(self, queryset: QuerySet[Card], name: str, value: str) -> QuerySet[Card]:
        """An exact serial, or its start (a batch's prefix)."""
        value = value.strip()
        return queryset.filter(Q(serial=value) | Q(serial__startswith=value)) if value else queryset


class CommissionFilterSet(ScopedFilterSet):
    distributor = django_filters.ModelChoiceFilter(queryset=DISTRIBUTORS, label=_("Distributor"))
    posted = django_filters.BooleanFilter(
        field_name="entry", lookup_expr="isnull", exclude=True, label=_("In the ledger")
    )

    class Meta:
        model = Commission
        fields = ["distributor", "posted"]


class DistributorPaymentFilterSet(ScopedFilterSet):
    kind = django_filters.ChoiceFilter(choices=DistributorPayment.Kind.choices, label=_("Kind"))
    distributor = django_filters.ModelChoiceFilter(queryset=DISTRIBUTORS, label=_("Distributor"))

    class Meta:
        model = DistributorPayment
        fields = ["kind", "distributor"]


class RedemptionAttemptFilterSet(ScopedFilterSet):
    outcome = django_filters.ChoiceFilter(
        choices=RedemptionAttempt.Outcome.choices, label=_("Outcome")
    )
    ip = django_filters.CharFilter(field_name="ip", label=_("Address"))
    customer = django_filters.NumberFilter(field_name="customer_id", label=_("Customer id"))

    class Meta:
        model = RedemptionAttempt
        fields = ["outcome", "ip", "customer"]
