"""The account list and journal exports (CSV or XLSX, columns chosen by the user)."""

from django.utils.translation import gettext_lazy as _

from ispbills.accounting.filtersets import AccountFilterSet, JournalEntryFilterSet
from ispbills.accounting.models import Account, JournalEntry
from ispbills.core.registry import ExportSpec, registry

ACCOUNT_EXPORT = registry.register_export(
    ExportSpec(
        name="accounts",
        model=Account,
        filterset_class=AccountFilterSet,
        label=_("accounts"),
        columns=(
            ("id", "pk"),
            ("operator", "operator__name"),
            ("kind", "kind"),
            ("held_by", "user__username"),
            ("name", "name"),
            ("balance", "balance"),
        ),
        money_columns=frozenset({"balance"}),
    )
)

JOURNAL_EXPORT = registry.register_export(
    ExportSpec(
        name="journal",
        model=JournalEntry,
        filterset_class=JournalEntryFilterSet,
        label=_("journal"),
        columns=(
            ("id", "pk"),
            ("number", "display_number"),
            ("at", "at"),
            ("day", "day"),
            ("operator", "operator__name"),
            ("memo", "memo"),
            ("source", "source_type"),
            ("source_id", "source_id"),
            ("purpose", "purpose"),
            ("amount", "amount"),
            ("reverses", "reverses_id"),
        ),
        money_columns=frozenset({"amount"}),
    )
)
