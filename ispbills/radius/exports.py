"""The disconnect-log export."""

from django.utils.translation import gettext_lazy as _

from ispbills.core.registry import ExportSpec, registry
from ispbills.radius.filtersets import DisconnectFilterSet
from ispbills.radius.models import Disconnect

DISCONNECT_EXPORT = registry.register_export(
    ExportSpec(
        name="disconnects",
        model=Disconnect,
        filterset_class=DisconnectFilterSet,
        label=_("disconnect log"),
        columns=(
            ("id", "pk"),
            ("requested_at", "created_at"),
            ("customer_id", "customer_id"),
            ("username", "username"),
            ("kind", "kind"),
            ("reason", "reason"),
            ("status", "status"),
            ("attempts", "attempts"),
            ("outcome", "outcome"),
            ("resolved_at", "resolved_at"),
            ("requested_by", "requested_by__username"),
        ),
    )
)
