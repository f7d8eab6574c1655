"""The payment list export (CSV or XLSX), for reconciliation outside."""

from django.utils.translation import gettext_lazy as _

from ispbills.core.registry import ExportSpec, registry
from ispbills.payments.filtersets import PaymentFilterSet
from ispbills.payments.models import Payment

PAYMENT_EXPORT = registry.register_export(
    ExportSpec(
        name="payments",
        model=Payment,
        filterset_class=PaymentFilterSet,
        label=_("payments"),
        columns=(
            ("id", "pk"),
            ("receipt", "display_number"),
            ("kind", "kind"),
            ("received_at", "received_at"),
            ("customer", "customer__username"),
            ("method", "method"),
            ("gateway", "gateway"),
            ("reference", "reference"),
            ("amount", "amount"),
            ("charge", "charge"),
            ("to_bills", "to_bills"),
            ("to_advance", "to_advance"),
            ("collector", "collector__username"),
            ("status", "status"),
            ("note", "note"),
            ("operator", "operator__name"),
        ),
        money_columns=frozenset({"amount", "charge", "to_bills", "to_advance"}),
    )
)
