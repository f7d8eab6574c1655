"""Base FilterSet shared by panel and API: model choices narrowed to the user's reach."""

from typing import Any

import django_filters
from django import forms
from django.apps import apps
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ispbills.core.forms import FastSelect
from ispbills.core.models import AuditEvent, JobRun
from ispbills.core.scoping import ScopedQuerySet


class AnyYesNoSelect(forms.NullBooleanSelect):
    """Any / Yes / No instead of Django's Unknown / Yes / No."""

    def __init__(self, attrs: Any = None) -> None:
        super().__init__(attrs)
        self.choices = [("unknown", _("Any")), ("true", _("Yes")), ("false", _("No"))]


class ScopedFilterSet(django_filters.FilterSet):
    """Every ModelChoice/ModelMultipleChoice filter offers only rows the user may see."""

    def __init__(
        self,
        data: Any = None,
        queryset: Any = None,
        *,
        request: Any = None,
        user: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, queryset, request=request, **kwargs)
        self.user = user if user is not None else getattr(request, "user", None)
        for filter_ in self.filters.values():
            choices = getattr(filter_, "queryset", None)
            if isinstance(choices, ScopedQuerySet):
                filter_.queryset = filter_.extra["queryset"] = choices.restrict(self.user, "view")
            if isinstance(filter_, django_filters.BooleanFilter):
                filter_.extra["widget"] = AnyYesNoSelect
            elif isinstance(
                filter_, (django_filters.ChoiceFilter, django_filters.ModelChoiceFilter)
            ):
                filter_.extra["empty_label"] = _("Any")
                filter_.extra.setdefault("widget", FastSelect)
            elif isinstance(filter_, django_filters.IsoDateTimeFilter):
                filter_.extra["widget"] = forms.DateTimeInput(attrs={"type": "datetime-local"})


class AuditEventFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    verb = django_filters.CharFilter(lookup_expr="istartswith", label=_("Action"))
    actor = django_filters.CharFilter(
        field_name="actor_label", lookup_expr="iexact", label=_("By user")
    )
    object_type = django_filters.CharFilter(lookup_expr="iexact", label=_("Object type"))
    # By model label: core sits below tenancy and does not import it.
    operator = django_filters.ModelChoiceFilter(
        queryset=apps.get_model("tenancy", "Operator").objects.all(), label=_("Operator")
    )
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte", label=_("From"))
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt", label=_("Until"))

    class Meta:
        model = AuditEvent
        fields = ["q", "verb", "actor", "object_type", "operator", "since", "until"]

    def search(self, queryset: QuerySet[AuditEvent], name: str, value: str) -> QuerySet[AuditEvent]:
        return queryset.filter(
            Q(object_label__icontains=value)
            | Q(verb__icontains=value)
            | Q(actor_label__iexact=value)
            | Q(object_id=value)
        )


class JobRunFilterSet(ScopedFilterSet):
    status = django_filters.ChoiceFilter(choices=JobRun.Status.choices, label=_("Status"))
    kind = django_filters.CharFilter(lookup_expr="iexact", label=_("Kind"))

    class Meta:
        model = JobRun
        fields = ["status", "kind"]
