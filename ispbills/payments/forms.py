"""Payment forms: collect cash, reverse a payment."""

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ispbills.billing.models import Bill
from ispbills.core.forms import ScopedForm
from ispbills.tenancy.models import Operator


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


# -- online payment gateways -------------------------------------------------------------


class GatewayAccountForm(ScopedForm):
    """An operator's account at one provider: the provider's own settings appear as fields;
    saved secrets are never shown back (left empty, they are kept)."""

    operator = forms.ModelChoiceField(queryset=Operator.objects.all(), label=_("Operator"))
    provider = forms.ChoiceField(label=_("Provider"), choices=())
    label = forms.CharField(label=_("Label"), max_length=80, required=False)
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
    sandbox = forms.BooleanField(
        label=_("Sandbox"),
        required=False,
        initial=True,
        help_text=_("Test credentials at the provider's sandbox; untick for live payments."),
    )
    base_url = forms.URLField(
        label=_("Address"),
        required=False,
        assume_scheme="https",
        help_text=_("Leave empty for the provider's own sandbox or live address."),
    )
    for_customers = forms.BooleanField(label=_("Customer payments"), required=False, initial=True)
    for_operators = forms.BooleanField(
        label=_("Operator top-ups"),
        required=False,
        help_text=_("Operators below pay their balance top-ups and subscriptions here."),
    )

    def __init__(self, *args: Any, provider: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from ispbills.payments.gateways import gateway_class, provider_choices

        provider_field: Any = self.fields["provider"]
        provider_field.choices = provider_choices()
        account = self.instance
        code = (
            account.provider if account is not None else (provider or self.data.get("provider", ""))
        )
        self.credential_names: list[str] = []
        if account is not None:
            self.fields["provider"].disabled = True
            self.fields["operator"].disabled = True
            for name in (
                "operator",
                "label",
                "enabled",
                "sandbox",
                "base_url",
                "for_customers",
                "for_operators",
            ):
                self.initial[name] = getattr(account, name)
            self.initial["provider"] = account.provider
        saved = account.get_credentials() if account is not None else {}
        try:
            cls = gateway_class(code) if code else None
        except KeyError:
            cls = None
        if cls is None:
            return
        self.initial.setdefault("provider", code)
        for spec in cls.credential_fields:
            name = f"cred_{spec.name}"
            self.credential_names.append(spec.name)
            help_text = spec.help_text
            if spec.secret:
                widget: Any = (
                    forms.Textarea(attrs={"rows": 4, "autocomplete": "off"})
                    if spec.multiline
                    else forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
                )
                if saved.get(spec.name):
                    help_text = str(_("Saved (hidden). Leave empty to keep it."))
                field: Any = forms.CharField(
                    label=spec.label, required=False, widget=widget, help_text=help_text
                )
            elif spec.choices:
                field = forms.ChoiceField(
                    label=spec.label, required=False, choices=[("", "—"), *spec.choices]
                )
                self.initial[name] = saved.get(spec.name, spec.default)
            else:
                field = forms.CharField(label=spec.label, required=False, help_text=help_text)
                self.initial[name] = saved.get(spec.name, spec.default)
            self.fields[name] = field

    def credentials(self) -> dict[str, str]:
        return {
            name: str(self.cleaned_data.get(f"cred_{name}") or "") for name in self.credential_names
        }


class ResolveAttemptForm(ScopedForm):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("accept", _("Accept: credit what the provider confirms")),
            ("close", _("Close: nothing is credited")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("Why"), max_length=300)


class PaymentLinkForm(ScopedForm):
    bill = forms.ModelChoiceField(
        queryset=Bill.objects.none(),
        label=_("Bill"),
        required=False,
        help_text=_("Empty: the link pays whatever the customer owes, or an advance."),
    )
    days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, max_value=60, initial=7)

    def __init__(self, *args: Any, customer: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bill: Any = self.fields["bill"]
        bill.queryset = Bill.objects.restrict(self.user, "view").filter(
            customer=customer,
            kind__in=[Bill.Kind.INVOICE, Bill.Kind.ADJUSTMENT],
            status__in=[Bill.Status.UNPAID, Bill.Status.PARTIALLY_PAID],
        )


class OperatorTopUpForm(ScopedForm):
    gateway = forms.ChoiceField(label=_("Pay with"), choices=())
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=14, decimal_places=2, min_value=Decimal("1.00")
    )
    purpose = forms.ChoiceField(
        label=_("For"),
        choices=[
            ("operator_funds", _("Balance top-up")),
            ("subscription", _("Subscription")),
        ],
    )

    def __init__(self, *args: Any, accounts: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        gateway: Any = self.fields["gateway"]
        gateway.choices = [(str(a.pk), str(a)) for a in accounts]


class SendMoneyForm(ScopedForm):
    """A bKash "send money" TrxID the customer gives after paying the operator's wallet."""

    account = forms.ChoiceField(label=_("bKash account"), choices=())
    trx_id = forms.CharField(label=_("bKash TrxID"), max_length=20)

    def __init__(self, *args: Any, accounts: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        account: Any = self.fields["account"]
        account.choices = [(str(a.pk), str(a)) for a in accounts]
