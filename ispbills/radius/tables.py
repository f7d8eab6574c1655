"""NAS and disconnect-log tables."""

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from ispbills.radius.models import Disconnect, NasDevice

WHEN = "{% load ispbills %}{{ value|tenant_time:'Y-m-d H:i:s' }}"


class NasDeviceTable(tables.Table):
    name = tables.Column(linkify=True, verbose_name=_("Name"))
    address = tables.Column(verbose_name=_("Address"))
    kind = tables.Column(verbose_name=_("Type"))
    coa_port = tables.Column(verbose_name=_("CoA port"))
    is_active = tables.BooleanColumn(verbose_name=_("Active"))
    online = tables.Column(verbose_name=_("Online sessions"), attrs={"td": {"class": "text-end"}})
    operator = tables.Column(verbose_name=_("Owner"))

    class Meta:
        model = NasDevice
        fields = ("name", "address", "kind", "coa_port", "is_active", "online", "operator")
        attrs = {"class": "table table-sm table-hover align-middle"}


class DisconnectTable(tables.Table):
    id = tables.Column(
        linkify=("radius:disconnect_detail", [tables.A("pk")]), verbose_name=_("Request")
    )
    created_at = tables.TemplateColumn(WHEN, verbose_name=_("Requested"))
    username = tables.Column(
        linkify=("customers:customer_detail", [tables.A("customer_id")]),
        verbose_name=_("Username"),
    )
    status = tables.TemplateColumn(
        template_name="radius/partials/disconnect_status.html", verbose_name=_("Status")
    )
    resolved_at = tables.TemplateColumn(WHEN, verbose_name=_("Resolved"))

    class Meta:
        model = Disconnect
        fields = (
            "id",
            "created_at",
            "username",
            "kind",
            "reason",
            "status",
            "attempts",
            "outcome",
            "resolved_at",
        )
        attrs = {"class": "table table-sm table-hover align-middle"}
