"""The expense list export (CSV or XLSX, columns chosen by the user)."""

from django.utils.translation import gettext_lazy as _

from ispbills.core.registry import ExportSpec, registry
from ispbills.expenses.filtersets import ExpenseFilterSet
from ispbills.expenses.models import Expense

EXPENSE_EXPORT = registry.register_export(
    ExportSpec(
        name="expenses",
        model=Expense,
        filterset_class=ExpenseFilterSet,
        label=_("expenses"),
        columns=(
            ("id", "pk"),
            ("number", "display_number"),
            ("date", "spent_on"),
            ("operator", "operator__name"),
            ("category", "category__name"),
            ("parent_category", "category__parent__name"),
            ("payee", "payee"),
            ("reference", "reference"),
            ("paid_from", "account__kind"),
            ("collector", "account__user__username"),
            ("amount", "amount"),
            ("status", "status"),
            ("void_reason", "void_reason"),
            ("note", "note"),
            ("recorded_by", "created_by__username"),
            ("recorded_at", "created_at"),
        ),
        money_columns=frozenset({"amount"}),
    )
)
