"""The transfer form: money moved between an operator's cash, bank and clearing accounts."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ispbills.accounting.funds import FUNDS_METHOD_CHOICES
from ispbills.accounting.models import Account
from ispbills.accounting.services import TRANSFERABLE
from ispbills.core.access import access_of
from ispbills.core.forms import ScopedForm
from ispbills.tenancy.models import Operator


class TransferForm(ScopedForm):
    source = forms.ModelChoiceField(
        queryset=Account.objects.filter(kind__in=TRANSFERABLE).select_related(
            "operator", "user", "counterparty"
        ),
        label=_("From"),
    )
    target = forms.ChoiceField(
        choices=[(kind.value, kind.label) for kind in TRANSFERABLE],
        label=_("To"),
        help_text=_("The same operator's account of this kind (its own cash, not a collector's)."),
    )
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2)
    fee = forms.DecimalField(
        label=_("Gateway fee"),
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text=_("What a gateway kept when it settled (from gateway clearing only)."),
    )
    reference = forms.CharField(
        label=_("Reference"),
        max_length=100,
        help_text=_("Deposit slip, handover receipt or settlement id: unique."),
    )
    memo = forms.CharField(label=_("Memo"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].label_from_instance = (  # type: ignore[attr-defined]
            lambda account: f"{account.operator} · {account} ({account.balance})"
        )


class AddFundsForm(ScopedForm):
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2)
    method = forms.ChoiceField(
        label=_("Received in"),
        choices=FUNDS_METHOD_CHOICES,
        help_text=_("Where the parent received the money."),
    )
    reference = forms.CharField(
        label=_("Reference"),
        max_length=80,
        help_text=_("Receipt, deposit slip or transaction id: recorded once."),
    )
    note = forms.CharField(label=_("Note"), max_length=100, required=False)
    credit = forms.BooleanField(
        label=_("A credit, no money received"),
        required=False,
        help_text=_("Raise the balance as a goodwill or settlement credit (booked as a cost)."),
    )


class HandoverForm(ScopedForm):
    source = forms.ModelChoiceField(
        queryset=Account.objects.filter(kind=Account.Kind.CASH, user__isnull=False).select_related(
            "operator", "user"
        ),
        label=_("Cash held by"),
    )
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2)
    reference = forms.CharField(
        label=_("Reference"), max_length=80, help_text=_("The handover receipt number.")
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["source"]
        if not access_of(self.user).can("accounting.add"):
            # A collector sees no books: it picks from the cash it holds, nothing else.
            field.queryset = Account.objects.filter(
                kind=Account.Kind.CASH, user_id=self.user.pk
            ).select_related("operator", "user")
        field.label_from_instance = lambda account: (
            f"{account.operator} · {account.user} ({account.balance})"
        )


class FundsRequestForm(ScopedForm):
    operator = forms.ModelChoiceField(
        queryset=Operator.objects.filter(parent__isnull=False), label=_("Paid by")
    )
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2)
    method = forms.ChoiceField(label=_("Paid in"), choices=FUNDS_METHOD_CHOICES)
    reference = forms.CharField(
        label=_("Reference"), max_length=80, help_text=_("Deposit slip or transaction id.")
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class DecisionForm(ScopedForm):
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class RejectForm(ScopedForm):
    reason = forms.CharField(label=_("Why"), max_length=200)


class CloseOperatorForm(ScopedForm):
    reason = forms.CharField(label=_("Why"), max_length=150)
