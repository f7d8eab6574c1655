"""Filters for the audit log and the job list (shared by panel and API)."""

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ispbills.core.filtersets import ScopedFilterSet
from ispbills.core.models import AuditEvent, JobRun
from ispbills.tenancy.models import Operator


class AuditEventFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    verb = django_filters.CharFilter(lookup_expr="istartswith", label=_("Action"))
    actor = django_filters.CharFilter(field_name="actor_label", lookup_expr="iexact",
                                      label=_("By user"))  # fmt: skip
    object_type = django_filters.CharFilter(lookup_expr="iexact", label=_("Object type"))
    operator = django_filters.ModelChoiceFilter(queryset=Operator.objects.all(), label=_("Operator"))
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte", label=_("From"))
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt", label=_("Until"))

    class Meta:
        model = AuditEvent
        fields = ["q", "verb", "actor", "object_type", "operator", "since", "until"]

    def search(self, queryset: QuerySet[AuditEvent], name: str, value: str) -> QuerySet[AuditEvent]:
        return queryset.filter(
            Q(object_label__icontains=value) | Q(verb__icontains=value)
            | Q(actor_label__iexact=value) | Q(object_id=value)
        )


class JobRunFilterSet(ScopedFilterSet):
    status = django_filters.ChoiceFilter(choices=JobRun.Status.choices, label=_("Status"))
    kind = django_filters.CharFilter(lookup_expr="iexact", label=_("Kind"))

    class Meta:
        model = JobRun
        fields = ["status", "kind"]
