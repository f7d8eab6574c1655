"""Tables of the panel shell."""

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from ispbills.core.models import AuditEvent, JobRun


class AuditEventTable(tables.Table):
    at = tables.TemplateColumn(
        "{% load ispbills %}{{ value|tenant_time:'Y-m-d H:i:s' }}", verbose_name=_("When")
    )
    verb = tables.Column(linkify=("web:audit_detail", [tables.A("pk")]), verbose_name=_("Action"))
    actor_label = tables.Column(verbose_name=_("By"))
    object_label = tables.Column(verbose_name=_("Object"))
    ip = tables.Column(verbose_name=_("Address"))

    class Meta:
        model = AuditEvent
        fields = ("at", "verb", "actor_label", "object_type", "object_label", "ip")


class JobRunTable(tables.Table):
    label = tables.Column(linkify=("web:job_detail", [tables.A("pk")]), verbose_name=_("Job"))
    status = tables.TemplateColumn(template_name="web/partials/job_status.html")
    created_at = tables.TemplateColumn(
        "{% load ispbills %}{{ value|tenant_time }}", verbose_name=_("Started")
    )

    class Meta:
        model = JobRun
        fields = ("label", "kind", "status", "percent", "message", "created_at")
