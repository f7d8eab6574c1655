"""Catalog forms."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ispbills.catalog.models import BillingProfile, Package, ServiceModel, VatProfile
from ispbills.core.forms import ScopedForm
from ispbills.tenancy.models import Operator


class PackageForm(ScopedForm):
    operator = forms.ModelChoiceField(queryset=Operator.objects.all(), label=_("Owner"))
    parent = forms.ModelChoiceField(
        queryset=Package.objects.filter(parent=None),
        label=_("Variant of (master package)"),
        required=False,
        help_text=_(
            "A variant keeps the master's speeds and rules and has its own name and price."
        ),
    )
    name = forms.CharField(label=_("Name"), max_length=120)
    service_model = forms.ChoiceField(
        choices=ServiceModel.choices, label=_("Service"), required=False
    )
    download_kbps = forms.IntegerField(label=_("Download (kbit/s)"), min_value=1, required=False)
    upload_kbps = forms.IntegerField(label=_("Upload (kbit/s)"), min_value=1, required=False)
    burst_download_kbps = forms.IntegerField(
        label=_("Burst download (kbit/s)"), min_value=1, required=False
    )
    burst_upload_kbps = forms.IntegerField(
        label=_("Burst upload (kbit/s)"), min_value=1, required=False
    )
    price = forms.DecimalField(label=_("Price"), min_value=0, max_digits=14, decimal_places=2)
    vat_profile = forms.ModelChoiceField(
        queryset=VatProfile.objects.filter(is_active=True), label=_("VAT profile"), required=False
    )
    billing_type = forms.ChoiceField(
        choices=Package.BillingType.choices, label=_("Billing type"), required=False
    )
    validity_days = forms.IntegerField(label=_("Validity (days)"), min_value=1, required=False)
    data_limit_mb = forms.IntegerField(label=_("Data limit (MB)"), min_value=1, required=False)
    fup_download_kbps = forms.IntegerField(
        label=_("FUP download (kbit/s)"), min_value=1, required=False
    )
    fup_upload_kbps = forms.IntegerField(
        label=_("FUP upload (kbit/s)"), min_value=1, required=False
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        package = self.instance
        if package is not None:
            del self.fields["operator"], self.fields["parent"]
            if package.parent_id is not None:
                for key in Package.TECHNICAL_FIELDS:
                    del self.fields[key]

    def service_values(self) -> dict[str, Any]:
        data = {
            key: value
            for key, value in self.cleaned_data.items()
            if key not in {"operator", "parent"}
        }
        if self.cleaned_data.get("parent") is not None:
            for key in Package.TECHNICAL_FIELDS:
                data.pop(key, None)
        return {
            key: value
            for key, value in data.items()
            if value not in ("", None)
            or key
            in {
                "burst_download_kbps",
                "burst_upload_kbps",
                "data_limit_mb",
                "fup_download_kbps",
                "fup_upload_kbps",
                "vat_profile",
            }
        }


class BillingProfileForm(ScopedForm):
    operator = forms.ModelChoiceField(queryset=Operator.objects.all(), label=_("Owner"))
    name = forms.CharField(label=_("Name"), max_length=120)
    term = forms.ChoiceField(choices=BillingProfile.Term.choices, label=_("Billing term"))
    due_day = forms.IntegerField(
        label=_("Due day of month"), min_value=1, max_value=31, required=False
    )
    auto_bill = forms.BooleanField(
        label=_("Generate bills automatically"), required=False, initial=True
    )
    grace_days = forms.IntegerField(label=_("Grace days"), min_value=0, initial=0)
    min_validity_days = forms.IntegerField(
        label=_("Minimum validity (days)"), min_value=0, initial=0
    )
    discount_kind = forms.ChoiceField(choices=BillingProfile.Discount.choices, label=_("Discount"))
    discount_value = forms.DecimalField(
        label=_("Discount value"), min_value=0, max_digits=14, decimal_places=2, initial=0
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            del self.fields["operator"]


class VatProfileForm(ScopedForm):
    operator = forms.ModelChoiceField(queryset=Operator.objects.all(), label=_("Owner"))
    name = forms.CharField(label=_("Name"), max_length=120)
    rate = forms.DecimalField(
        label=_("Rate (%)"), min_value=0, max_value=100, max_digits=5, decimal_places=2
    )
    inclusive = forms.BooleanField(label=_("Included in prices"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            del self.fields["operator"]
