"""Network forms."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ispbills.catalog.models import Package, ServiceModel
from ispbills.core.forms import ScopedForm
from ispbills.network.models import IpPool, NetworkSettings, PppoeProfile
from ispbills.tenancy.api import reachable_operators
from ispbills.tenancy.models import Operator


class IpPoolForm(ScopedForm):
    operator = forms.ModelChoiceField(queryset=Operator.objects.all(), label=_("Owner"))
    name = forms.CharField(
        label=_("Name"), max_length=63, help_text=_("The pool's name on the routers.")
    )
    cidr = forms.CharField(label="CIDR", max_length=43, help_text=_("e.g. 100.64.0.0/20"))
    purpose = forms.ChoiceField(choices=IpPool.Purpose.choices, label=_("Purpose"))
    exclusions = forms.CharField(
        label=_("Excluded addresses"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "103.7.8.1\n103.7.8.10-103.7.8.12"}),
        help_text=_("Addresses, ranges (a-b) or CIDRs, one per line (IPv4 pools)."),
    )
    prefix_length = forms.IntegerField(
        label=_("Delegated prefix length"),
        required=False,
        min_value=1,
        max_value=128,
        help_text=_("IPv6 prefix pools only: the prefix each customer gets (e.g. 56)."),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            del self.fields["operator"]
        else:  # the owners the service accepts (a NOC user holds no operators.view)
            owner: Any = self.fields["operator"]
            owner.queryset = reachable_operators(self.user)

    def service_values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("operator", None)
        return data


class ReplacePoolForm(ScopedForm):
    """Put another pool wherever this one is used."""

    replacement = forms.ModelChoiceField(queryset=IpPool.objects.all(), label=_("Replace with"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = self.instance
        choices: Any = self.fields["replacement"]
        choices.queryset = choices.queryset.filter(
            family=current.family, purpose=current.purpose
        ).exclude(pk=current.pk)


class PppoeProfileForm(ScopedForm):
    operator = forms.ModelChoiceField(queryset=Operator.objects.all(), label=_("Owner"))
    name = forms.CharField(label=_("Name"), max_length=63)
    ip_mode = forms.ChoiceField(choices=PppoeProfile.IpMode.choices, label=_("Addressing"))
    ipv4_pool = forms.ModelChoiceField(
        queryset=IpPool.objects.filter(family=4), label=_("IPv4 pool"), required=False
    )
    ipv6_pool = forms.ModelChoiceField(
        queryset=IpPool.objects.filter(family=6), label=_("IPv6 pool"), required=False
    )
    fup_pool = forms.ModelChoiceField(
        queryset=IpPool.objects.filter(family=4, purpose=IpPool.Purpose.DYNAMIC),
        label=_("FUP pool"),
        required=False,
        help_text=PppoeProfile._meta.get_field("fup_pool").help_text,
    )
    rate_limit = forms.CharField(
        label=_("Rate limit"),
        max_length=120,
        required=False,
        help_text=_("MikroTik rate limit (upload/download), e.g. 5M/20M. Empty: the package's."),
    )
    local_address = forms.GenericIPAddressField(
        label=_("Local address"), protocol="IPv4", required=False
    )
    dns_servers = forms.CharField(label=_("DNS servers"), max_length=200, required=False)
    packages = forms.ModelMultipleChoiceField(
        queryset=Package.objects.filter(service_model=ServiceModel.PPPOE),
        label=_("Packages"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            del self.fields["operator"]
        else:  # the owners the service accepts (a NOC user holds no operators.view)
            owner: Any = self.fields["operator"]
            owner.queryset = reachable_operators(self.user)

    def service_values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("operator", None)
        data["packages"] = list(data["packages"])
        return data


class NetworkSettingsForm(ScopedForm):
    suspended_action = forms.ChoiceField(
        choices=NetworkSettings.SuspendedAction.choices, label=_("Suspended customers")
    )
    suspended_pool = forms.ModelChoiceField(
        queryset=IpPool.objects.filter(purpose=IpPool.Purpose.SUSPENDED),
        label=_("Suspended pool"),
        required=False,
    )
    address_list = forms.CharField(
        label=_("Address list"),
        max_length=63,
        help_text=_("The MikroTik firewall address list suspended sessions join."),
    )
    walled_garden_rate = forms.CharField(
        label=_("Walled garden rate"), max_length=120, help_text=_("e.g. 256k/256k")
    )
