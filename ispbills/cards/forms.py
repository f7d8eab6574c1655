"""Card forms: generate a batch, issue it, void cards, redeem a PIN, record a distributor
payment."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ispbills.catalog.models import Package
from ispbills.core.access import access_of
from ispbills.core.forms import ScopedForm
from ispbills.tenancy.models import Operator, User

DISTRIBUTORS = User.objects.filter(membership__role="card_distributor", is_active=True)


def distributors_for(user: Any) -> Any:
    """Card distributors of the user's ISP and subtree (whoever may hand them cards or pay
    them needs no staff-user rights to pick them)."""
    access = access_of(user)
    if access.tenant_id is None:
        return DISTRIBUTORS if access.is_superadmin else DISTRIBUTORS.none()
    return DISTRIBUTORS.filter(
        membership__operator__tenant_id=access.tenant_id,
        membership__operator__path__startswith=access.operator_path or "/",
    )


class DistributorChoices(ScopedForm):
    """Narrows the ``distributor`` field to ``distributors_for()``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["distributor"]
        field.queryset = distributors_for(self.user)


class CardBatchForm(DistributorChoices):
    operator = forms.ModelChoiceField(queryset=Operator.objects.all(), label=_("Operator"))
    name = forms.CharField(label=_("Name"), max_length=100)
    package = forms.ModelChoiceField(
        queryset=Package.objects.filter(is_active=True),
        label=_("Package"),
        required=False,
        help_text=_("Empty for value cards, which add their value to the customer's advance."),
    )
    value = forms.DecimalField(
        label=_("Face value"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text=_("Defaults to the package's price."),
    )
    count = forms.IntegerField(label=_("Number of cards"), min_value=1, max_value=500_000)
    expires_at = forms.DateTimeField(
        label=_("Expires"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    distributor = forms.ModelChoiceField(
        queryset=DISTRIBUTORS,
        label=_("Distributor"),
        required=False,
        help_text=_("Issue the cards to this distributor at once; else they stay unissued."),
    )
    commission_percent = forms.DecimalField(
        label=_("Commission (%)"),
        max_digits=5,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=Decimal(100),
        initial=Decimal(0),
        required=False,
    )
    commission_on = forms.ChoiceField(
        label=_("Commission recorded"),
        choices=[("use", _("When redeemed")), ("sale", _("When issued to the distributor"))],
        initial="use",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault(
                "expires_at", (dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=180)).date()
            )


class IssueBatchForm(DistributorChoices):
    distributor = forms.ModelChoiceField(queryset=DISTRIBUTORS, label=_("Distributor"))


class VoidForm(ScopedForm):
    reason = forms.CharField(
        label=_("Reason"), max_length=200, help_text=_("Kept on each card and in the audit log.")
    )


class BulkVoidForm(VoidForm):
    serials = forms.CharField(
        label=_("Serials"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "One serial a line, or a range FIRST..LAST of one batch (000012-000001..000012-000500)."
        ),
    )

    def serial_filter(self) -> tuple[list[str], list[tuple[str, str]]]:
        """The single serials and the ranges given."""
        singles, ranges = [], []
        for line in self.cleaned_data["serials"].split():
            if ".." in line:
                first, last = line.split("..", 1)
                ranges.append((first.strip(), last.strip()))
            elif line.strip():
                singles.append(line.strip())
        return singles, ranges


class RedeemForm(ScopedForm):
    pin = forms.CharField(
        label=_("Card PIN"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "XXXX-XXXX-XXXX-XXXX"}),
    )


class DistributorPaymentForm(DistributorChoices):
    operator = forms.ModelChoiceField(queryset=Operator.objects.all(), label=_("Operator"))
    distributor = forms.ModelChoiceField(queryset=DISTRIBUTORS, label=_("Distributor"))
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            ("remittance", _("Distributor paid for cards")),
            ("payout", _("Commission paid to distributor")),
        ],
    )
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )
    reference = forms.CharField(label=_("Reference"), max_length=100)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class CustomerSearchForm(forms.Form):
    mobile = forms.CharField(label=_("Customer mobile"), max_length=20, required=False)
