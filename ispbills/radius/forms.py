"""NAS device form. The secret is a password input, never shown back."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ispbills.core.forms import ScopedForm
from ispbills.radius.models import NasDevice
from ispbills.tenancy.api import reachable_operators
from ispbills.tenancy.models import Operator


class NasDeviceForm(ScopedForm):
    operator = forms.ModelChoiceField(queryset=Operator.objects.all(), label=_("Owner"))
    name = forms.CharField(label=_("Name"), max_length=64)
    address = forms.CharField(
        label=_("Address"), max_length=45, help_text=_("The source address of its RADIUS requests")
    )
    secret = forms.CharField(
        label=_("Shared secret"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters; the router's RADIUS secret."),
    )
    kind = forms.ChoiceField(choices=NasDevice.Kind.choices, label=_("Type"))
    coa_port = forms.IntegerField(
        label=_("CoA port"),
        min_value=1,
        max_value=65535,
        initial=3799,
        help_text=_("3799 is the standard port; MikroTik listens on 1700"),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            del self.fields["operator"]
            self.fields["secret"].help_text = _("Leave empty to keep the current secret.")
        else:
            # The owners the service accepts (a NOC user holds no operators.view).
            owner: Any = self.fields["operator"]
            owner.queryset = reachable_operators(self.user)

    def service_values(self) -> dict[str, Any]:
        """What the service takes: everything but the owner (an empty secret keeps it)."""
        return {key: value for key, value in self.cleaned_data.items() if key != "operator"}
