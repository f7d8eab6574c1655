"""Accounting pages: accounts, an account's ledger, the journal, an entry, transfers."""

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from ispbills.accounting import services
from ispbills.accounting.exports import ACCOUNT_EXPORT, JOURNAL_EXPORT
from ispbills.accounting.filtersets import AccountFilterSet, JournalEntryFilterSet
from ispbills.accounting.forms import TransferForm
from ispbills.accounting.models import Account, JournalEntry, with_lines
from ispbills.accounting.tables import AccountTable, JournalEntryTable
from ispbills.core.access import access_of
from ispbills.core.views import ObjectDetailView, ObjectListView, ServiceFormView

LEDGER_PAGE = 50


class AccountListView(ObjectListView):
    model = Account
    table_class = AccountTable
    filterset_class = AccountFilterSet
    title = gettext_lazy("Accounts")
    export = ACCOUNT_EXPORT
    template_name = "accounting/account_list.html"

    def base_queryset(self) -> QuerySet[Account]:
        return Account.objects.select_related("operator", "user", "counterparty")

    def get_table_kwargs(self) -> dict[str, Any]:
        return {"show_money": access_of(self.request.user).can("money.view")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["may_transfer"] = TransferView.allows(access_of(self.request.user))
        return context


class AccountDetailView(ObjectDetailView):
    """The account's ledger: its lines newest first with the running balance, a keyset page
    (``?after=<line id>``) at a time."""

    model = Account
    template_name = "accounting/account_detail.html"

    def get_queryset(self) -> QuerySet[Account]:
        return super().get_queryset().select_related("operator", "user", "counterparty")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        lines = self.object.ledger()
        after = self.request.GET.get("after", "")
        if after.isascii() and after.isdigit():
            lines = lines.filter(pk__lt=int(after))
        rows = list(lines[: LEDGER_PAGE + 1])
        context.update(
            lines=rows[:LEDGER_PAGE],
            next_cursor=rows[LEDGER_PAGE - 1].pk if len(rows) > LEDGER_PAGE else None,
            show_money=access_of(self.request.user).can("money.view"),
        )
        return context


class JournalEntryListView(ObjectListView):
    model = JournalEntry
    table_class = JournalEntryTable
    filterset_class = JournalEntryFilterSet
    title = gettext_lazy("Journal")
    export = JOURNAL_EXPORT
    keyset_pagination = True

    def base_queryset(self) -> QuerySet[JournalEntry]:
        return with_lines(JournalEntry.objects.all())

    def get_table_kwargs(self) -> dict[str, Any]:
        return {"show_money": access_of(self.request.user).can("money.view")}


class JournalEntryDetailView(ObjectDetailView):
    model = JournalEntry
    template_name = "accounting/journalentry_detail.html"

    def get_queryset(self) -> QuerySet[JournalEntry]:
        return with_lines(super().get_queryset().select_related("operator", "reverses"))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["reversal"] = JournalEntry.objects.filter(reverses=self.object).first()
        context["show_money"] = access_of(self.request.user).can("money.view")
        return context


class TransferView(ServiceFormView):
    """Move money between an operator's cash, bank and gateway clearing accounts."""

    model = JournalEntry
    form_class = TransferForm
    title = gettext_lazy("Transfer between accounts")
    success_message = gettext_lazy("Transfer posted as %(object)s.")

    def perform(self, form: Any) -> JournalEntry:
        data = form.cleaned_data
        source = data["source"]
        return services.transfer(
            actor=self.request.user,
            source=source,
            target=services.account_for(source.operator, data["target"]),
            amount=data["amount"],
            fee=data.get("fee") or 0,
            reference=data["reference"],
            memo=data.get("memo") or "",
        )
