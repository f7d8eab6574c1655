"""Payment forms: collect cash, reverse a payment."""

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ispbills.billing.models import Bill
from ispbills.core.forms import ScopedForm


class CollectCashForm(ScopedForm):
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )
    reference = forms.CharField(
        label=_("Receipt book number"),
        max_length=100,
        required=False,
        help_text=_("The number on the paper receipt, if any; each is recorded once."),
    )
    bill = forms.ModelChoiceField(
        queryset=Bill.objects.none(),
        label=_("Pay this bill first"),
        required=False,
        help_text=_("Otherwise the oldest bills due are paid first."),
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    # A token made when the form is shown: submitting it twice records the payment once.
    token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, customer: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("token", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
        bill: Any = self.fields["bill"]
        bill.queryset = Bill.objects.restrict(self.user, "view").filter(
            customer=customer,
            kind__in=[Bill.Kind.INVOICE, Bill.Kind.ADJUSTMENT],
            status__in=[Bill.Status.UNPAID, Bill.Status.PARTIALLY_PAID],
        )

    def reference_value(self) -> str:
        """The receipt book number, else the form's token (so a resubmission is a replay)."""
        return self.cleaned_data.get("reference") or f"panel-{self.cleaned_data['token']}"


class ReversePaymentForm(ScopedForm):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        help_text=_("Kept on the reversal and in the audit log."),
    )
