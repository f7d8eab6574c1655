"""The reminders list: due-date reminders and expiry warnings the daily job stored."""

import django_filters
import django_tables2 as tables
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ispbills.billing.models import Reminder
from ispbills.core.filtersets import ScopedFilterSet
from ispbills.core.views import ObjectListView

WHEN = "{% load ispbills %}{{ value|tenant_time:'Y-m-d H:i' }}"


class ReminderFilterSet(ScopedFilterSet):
    kind = django_filters.ChoiceFilter(choices=Reminder.Kind.choices, label=_("Kind"))
    since = django_filters.DateFilter(field_name="for_date", lookup_expr="gte", label=_("From"))
    until = django_filters.DateFilter(field_name="for_date", lookup_expr="lte", label=_("Until"))

    class Meta:
        model = Reminder
        fields = ["kind", "since", "until"]


class ReminderTable(tables.Table):
    for_date = tables.Column(verbose_name=_("For"))
    kind = tables.Column(verbose_name=_("Kind"))
    customer = tables.Column(linkify=True, verbose_name=_("Customer"))
    bill = tables.Column(verbose_name=_("Bill"))
    created_at = tables.TemplateColumn(WHEN, verbose_name=_("Computed"))

    class Meta:
        model = Reminder
        fields = ("for_date", "kind", "customer", "bill", "created_at")
        attrs = {"class": "table table-sm table-hover align-middle"}


class ReminderListView(ObjectListView):
    model = Reminder
    table_class = ReminderTable
    filterset_class = ReminderFilterSet
    title = _("Reminders")

    def base_queryset(self) -> QuerySet[Reminder]:
        return Reminder.objects.select_related("customer", "bill")
