"""The transfer form: money moved between an operator's cash, bank and clearing accounts."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ispbills.accounting.funds import FUNDS_METHODS
from ispbills.accounting.models import Account
from ispbills.accounting.services import TRANSFERABLE
from ispbills.core.forms import ScopedForm


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
        choices=[(kind.value, kind.label) for kind in FUNDS_METHODS],
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
