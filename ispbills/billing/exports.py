"""The bill list export (CSV or XLSX, columns chosen by the user)."""

from django.utils.translation import gettext_lazy as _

from ispbills.billing.filtersets import BillFilterSet
from ispbills.billing.models import Bill
from ispbills.core.registry import ExportSpec, registry

BILL_EXPORT = registry.register_export(
    ExportSpec(
        name="bills",
        model=Bill,
        filterset_class=BillFilterSet,
        label=_("bills"),
        columns=(
            ("id", "pk"),
            ("number", "display_number"),
            ("kind", "kind"),
            ("customer", "customer__username"),
            ("package", "description"),
            ("period_start", "period_start"),
            ("period_end", "period_end"),
            ("issued_on", "issued_on"),
            ("due_on", "due_on"),
            ("subtotal", "subtotal"),
            ("discount", "discount"),
            ("vat_rate", "vat_rate"),
            ("vat", "vat"),
            ("total", "total"),
            ("advance_applied", "advance_applied"),
            ("paid_amount", "paid_amount"),
            ("payable", "payable"),
            ("status", "status"),
            ("operator", "operator__name"),
        ),
        money_columns=frozenset(
            {"subtotal", "discount", "vat", "total", "advance_applied", "paid_amount", "payable"}
        ),
    )
)
