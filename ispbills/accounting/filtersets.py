"""Account and journal filters, shared by the panel, the API and the exports."""

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ispbills.accounting.models import Account, JournalEntry, JournalLine, TransferRequest
from ispbills.core.filtersets import ScopedFilterSet
from ispbills.tenancy.models import Operator

DATE = forms.DateInput(attrs={"type": "date"})


class AccountFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    kind = django_filters.ChoiceFilter(choices=Account.Kind.choices, label=_("Kind"))
    operator = django_filters.ModelChoiceFilter(
        queryset=Operator.objects.all(), label=_("Operator")
    )

    class Meta:
        model = Account
        fields = ["q", "kind", "operator"]

    def search(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet[Account]:
        """The account's name or its collector's username."""
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(user__username__iexact=value))


class JournalEntryFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(field_name="memo", lookup_expr="icontains", label=_("Memo"))
    operator = django_filters.ModelChoiceFilter(
        queryset=Operator.objects.all(), label=_("Operator")
    )
    account = django_filters.NumberFilter(method="touching", label=_("Account id"))
    source_type = django_filters.CharFilter(label=_("Source"))
    source_id = django_filters.CharFilter(label=_("Source id"))
    since = django_filters.DateFilter(
        field_name="day", lookup_expr="gte", label=_("From"), widget=DATE
    )
    until = django_filters.DateFilter(
        field_name="day", lookup_expr="lte", label=_("Until"), widget=DATE
    )

    class Meta:
        model = JournalEntry
        fields = ["q", "operator", "since", "until", "account", "source_type", "source_id"]

    def touching(
        self, queryset: QuerySet[JournalEntry], name: str, value: int
    ) -> QuerySet[JournalEntry]:
        """Entries with a line on the account."""
        return queryset.filter(
            pk__in=JournalLine.objects.filter(account_id=value).values("entry_id")
        )


class TransferRequestFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(
        field_name="reference", lookup_expr="icontains", label=_("Reference")
    )
    status = django_filters.ChoiceFilter(choices=TransferRequest.Status.choices, label=_("Status"))
    kind = django_filters.ChoiceFilter(choices=TransferRequest.Kind.choices, label=_("Kind"))
    operator = django_filters.ModelChoiceFilter(
        queryset=Operator.objects.all(), label=_("Operator")
    )

    class Meta:
        model = TransferRequest
        fields = ["q", "status", "kind", "operator"]
