"""Accounting pages: accounts, an account's ledger, the journal, an entry, transfers, an
operator's funds."""

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext_lazy

from ispbills.accounting import approvals, funds, services
from ispbills.accounting.exports import ACCOUNT_EXPORT, JOURNAL_EXPORT
from ispbills.accounting.filtersets import (
    AccountFilterSet,
    JournalEntryFilterSet,
    TransferRequestFilterSet,
)
from ispbills.accounting.forms import (
    AddFundsForm,
    CloseOperatorForm,
    DecisionForm,
    FundsRequestForm,
    HandoverForm,
    RejectForm,
    TransferForm,
)
from ispbills.accounting.models import Account, JournalEntry, TransferRequest, with_lines
from ispbills.accounting.tables import AccountTable, JournalEntryTable, TransferRequestTable
from ispbills.core.access import access_of
from ispbills.core.views import (
    ObjectDetailView,
    ObjectListView,
    ServiceFormView,
)
from ispbills.tenancy.models import Operator

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


class OperatorFundsView(ObjectDetailView):
    """A reseller's balance with its parent, its floor, and its funds and charges."""

    model = Operator
    template_name = "accounting/operator_funds.html"

    @classmethod
    def allows(cls, access: Any) -> bool:
        return access.can("accounting.view") and super().allows(access)

    def get_queryset(self) -> QuerySet[Operator]:
        return super().get_queryset().filter(parent__isnull=False).select_related("parent")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        operator = self.object
        entries = funds.charges_of(operator).restrict(self.request.user, "view")
        access = access_of(self.request.user)
        parent_reached = (
            Operator.objects.restrict(self.request.user, "view")
            .filter(pk=operator.parent_id)
            .exists()
        )
        context.update(
            floor=funds.floor_of(operator),
            entries=with_lines(entries)[:LEDGER_PAGE],
            show_money=access.can("money.view"),
            may_add=AddFundsView.allows(access) and parent_reached,
            may_close=CloseOperatorView.allows(access)
            and parent_reached
            and not operator.disabled_reason.startswith(funds.CLOSED),
            unsettled=funds.unsettled_reasons(operator),
        )
        return context


class FormOnObjectMixin:
    """A service form about one object (found by ``get_object``) that it does not edit."""

    title: Any
    object: Any

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()  # type: ignore[misc]
        kwargs["instance"] = None
        return kwargs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context["title"] = f"{self.title}: {self.object}"
        return context


class AddFundsView(FormOnObjectMixin, ServiceFormView):
    """Record funds a reseller paid its parent, or a credit the parent grants."""

    model = Operator
    action = "view"  # the reseller is found among those the user sees; the service decides
    form_class = AddFundsForm
    title = gettext_lazy("Add funds")
    success_message = gettext_lazy("Funds recorded as %(object)s.")

    @classmethod
    def allows(cls, access: Any) -> bool:
        return access.can("accounting.add")

    def get_queryset(self) -> QuerySet[Operator]:
        return super().get_queryset().filter(parent__isnull=False)

    def perform(self, form: Any) -> JournalEntry:
        data = form.cleaned_data
        return funds.add_funds(
            actor=self.request.user,
            operator=self.object,
            amount=data["amount"],
            method=data["method"],
            reference=data["reference"],
            note=data.get("note") or "",
            credit=data.get("credit") or False,
        )

    def get_success_url_for(self, obj: Any) -> str:
        return reverse("accounting:operator_funds", args=[self.object.pk])


class CloseOperatorView(FormOnObjectMixin, ServiceFormView):
    """Close a settled reseller for good, keeping its records."""

    model = Operator
    action = "view"
    form_class = CloseOperatorForm
    title = gettext_lazy("Close operator")
    success_message = gettext_lazy("%(object)s is closed.")

    @classmethod
    def allows(cls, access: Any) -> bool:
        return access.can("accounting.change") and access.can("operators.change")

    def get_queryset(self) -> QuerySet[Operator]:
        return super().get_queryset().filter(parent__isnull=False)

    def perform(self, form: Any) -> Operator:
        return funds.close_operator(
            actor=self.request.user, operator=self.object, reason=form.cleaned_data["reason"]
        )

    def get_success_url_for(self, obj: Any) -> str:
        return reverse("accounting:operator_funds", args=[obj.pk])


class TransferRequestListView(ObjectListView):
    """Handovers and reported funds, the pending ones first to decide."""

    model = TransferRequest
    table_class = TransferRequestTable
    filterset_class = TransferRequestFilterSet
    title = gettext_lazy("Transfer requests")
    template_name = "accounting/transferrequest_list.html"

    def base_queryset(self) -> QuerySet[TransferRequest]:
        return TransferRequest.objects.select_related("operator", "source__user", "requested_by")

    def get_table_kwargs(self) -> dict[str, Any]:
        return {"show_money": access_of(self.request.user).can("money.view")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        access = access_of(self.request.user)
        context["may_hand_over"] = HandoverRequestView.allows(access)
        context["may_report_funds"] = FundsRequestView.allows(access)
        return context


class TransferRequestDetailView(ObjectDetailView):
    model = TransferRequest
    template_name = "accounting/transferrequest_detail.html"

    def get_queryset(self) -> QuerySet[TransferRequest]:
        return (
            super()
            .get_queryset()
            .select_related("operator", "source__user", "requested_by", "decided_by", "entry")
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        request = self.object
        decider = request.operator.parent_id if request.kind == "funds" else request.operator_id
        context.update(
            show_money=access_of(self.request.user).can("money.view"),
            may_decide=request.status == TransferRequest.Status.PENDING
            and request.requested_by_id != self.request.user.pk
            and TransferDecisionView.allows(access_of(self.request.user))
            and Operator.objects.restrict(self.request.user, "view").filter(pk=decider).exists(),
        )
        return context


class HandoverRequestView(ServiceFormView):
    """A collector asks to hand its cash over (collectors hold ``payments.add``)."""

    model = TransferRequest
    form_class = HandoverForm
    title = gettext_lazy("Hand over cash")
    success_message = gettext_lazy("%(object)s sent for approval.")

    @classmethod
    def allows(cls, access: Any) -> bool:
        return access.can("payments.add")

    def still_visible(self, obj: Any) -> bool:
        return True  # a collector need not see the books to ask

    def perform(self, form: Any) -> TransferRequest:
        data = form.cleaned_data
        return approvals.request_handover(
            actor=self.request.user,
            source=data["source"],
            amount=data["amount"],
            reference=data["reference"],
            note=data.get("note") or "",
        )

    def get_success_url_for(self, obj: Any) -> str:
        if access_of(self.request.user).can("accounting.view"):
            return str(obj.get_absolute_url())
        return reverse("payments:payment_list")


class FundsRequestView(ServiceFormView):
    """A reseller reports funds it paid its parent."""

    model = TransferRequest
    form_class = FundsRequestForm
    title = gettext_lazy("Report funds paid to the parent")
    success_message = gettext_lazy("%(object)s sent for approval.")

    def perform(self, form: Any) -> TransferRequest:
        data = form.cleaned_data
        return approvals.request_funds(
            actor=self.request.user,
            operator=data["operator"],
            amount=data["amount"],
            method=data["method"],
            reference=data["reference"],
            note=data.get("note") or "",
        )


class TransferDecisionView(FormOnObjectMixin, ServiceFormView):
    """Approve (posting the money) or reject a pending request."""

    model = TransferRequest
    action = "change"
    form_class: Any = DecisionForm
    title = gettext_lazy("Approve transfer")
    success_message = gettext_lazy("%(object)s approved.")

    def get_object(self) -> Any:
        queryset = TransferRequest.objects.restrict(self.request.user, "view")
        return get_object_or_404(queryset, pk=self.kwargs["pk"])

    def perform(self, form: Any) -> TransferRequest:
        note = form.cleaned_data.get("note") or ""
        return approvals.approve(actor=self.request.user, request=self.object, note=note)


class TransferRejectView(TransferDecisionView):
    form_class = RejectForm
    title = gettext_lazy("Reject transfer")
    success_message = gettext_lazy("%(object)s rejected.")

    def perform(self, form: Any) -> TransferRequest:
        reason = form.cleaned_data["reason"]
        return approvals.reject(actor=self.request.user, request=self.object, note=reason)
