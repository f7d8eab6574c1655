"""Billing forms: void bills, issue bills in bulk, start a run, pick a report's range."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ispbills.core.forms import ScopedForm

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class VoidBillForm(ScopedForm):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        help_text=_("Kept on the bill and in the audit log."),
    )


class BulkGenerateForm(ScopedForm):
    date = forms.DateField(
        label=_("Billing date"),
        widget=DATE,
        help_text=_(
            "Each customer is billed for its period holding this day (the ISP's calendar)."
        ),
    )


class BillingRunForm(ScopedForm):
    date = forms.DateField(
        label=_("Billing date"),
        widget=DATE,
        help_text=_("Customers are billed for the period holding this day (the ISP's calendar)."),
    )


class VatReportForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=DATE)
    end = forms.DateField(label=_("To"), widget=DATE)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(_("The range ends before it starts."))
        return data


class BillingSettingsForm(ScopedForm):
    prorate_package_change = forms.BooleanField(
        label=_("Prorate package changes"),
        required=False,
        help_text=_(
            "When a billed customer changes package mid-period, credit the unused days of the "
            "old package and charge the days left at the new one, on an adjustment bill."
        ),
    )
