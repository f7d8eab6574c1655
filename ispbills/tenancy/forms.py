"""Panel forms for operators, staff users, permissions and ISPs."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ispbills.core.forms import ScopedForm
from ispbills.tenancy.models import Operator
from ispbills.tenancy.roles import ALL_PERMISSIONS, Role


class OperatorForm(ScopedForm):
    parent = forms.ModelChoiceField(
        queryset=Operator.objects.exclude(kind=Operator.Kind.SUB_OPERATOR), label=_("Under")
    )
    name = forms.CharField(label=_("Name"), max_length=120)
    account_type = forms.ChoiceField(choices=Operator.AccountType.choices, label=_("Account type"))
    credit_limit = forms.DecimalField(
        label=_("Credit limit"), max_digits=14, decimal_places=2, min_value=0, initial=0
    )
    mobile = forms.CharField(label=_("Mobile"), max_length=20, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    address = forms.CharField(label=_("Address"), max_length=250, required=False)
    vat_registration = forms.CharField(
        label=_("VAT registration (BIN)"),
        max_length=40,
        required=False,
        help_text=_("Printed on bills; operators without one print the ISP's."),
    )
    logo = forms.FileField(
        label=_("Logo for bills"),
        required=False,
        help_text=_("PNG or JPEG, at most 512 KB; operators without one print the ISP's."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
    )
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            del self.fields["parent"]
        else:
            del self.fields["remove_logo"]

    def branding(self) -> dict[str, Any]:
        """Pop the logo fields off ``cleaned_data``: ``{"data": bytes | None}`` when the logo
        is to change, else ``{}``."""
        upload = self.cleaned_data.pop("logo", None)
        remove = self.cleaned_data.pop("remove_logo", False)
        if upload is not None:
            return {"data": upload.read()}
        return {"data": None} if remove else {}


class StaffUserForm(ScopedForm):
    operator = forms.ModelChoiceField(queryset=Operator.objects.all(), label=_("Operator"))
    role = forms.ChoiceField(choices=Role.choices, label=_("Role"))
    username = forms.CharField(label=_("Username"), max_length=150)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    mobile = forms.CharField(label=_("Mobile"), max_length=20, required=False)
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        min_length=10,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            for name in ("operator", "username", "password"):
                del self.fields[name]
        else:
            del self.fields["is_active"]


class SpecialPermissionForm(ScopedForm):
    STATES = (("grant", _("Grant")), ("revoke", _("Revoke")), ("default", _("Role default")))
    permission = forms.ChoiceField(
        choices=[(p, p) for p in sorted(ALL_PERMISSIONS)], label=_("Permission")
    )
    state = forms.ChoiceField(choices=STATES, label=_("Set to"))


class SetPasswordForm(ScopedForm):
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        min_length=10,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class TenantForm(ScopedForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    slug = forms.SlugField(label=_("Slug"), max_length=60, required=False)
    timezone = forms.CharField(label=_("Time zone"), max_length=64, initial="Asia/Dhaka")
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="BDT")
