"""Panel forms for customers, their lifecycle and bulk work, zones and custom fields."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ispbills.catalog.models import BillingProfile, Package
from ispbills.core.access import access_of
from ispbills.core.errors import DomainError
from ispbills.core.forms import ScopedForm
from ispbills.customers.models import Customer, CustomField, Zone
from ispbills.customers.services import visible_managers
from ispbills.network.addresses import next_free
from ispbills.network.models import IpPool
from ispbills.tenancy.api import reachable_operators
from ispbills.tenancy.models import Operator

LOCAL_TIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class CustomerForm(ScopedForm):
    """Create or edit a customer; custom fields appear as cf_<key> fields."""

    operator = forms.ModelChoiceField(queryset=Operator.objects.all(), label=_("Operator"))
    username = forms.CharField(label=_("Username"), max_length=64)
    service_password = forms.CharField(
        label=_("Service password"),
        required=False,
        max_length=64,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("PPPoE/hotspot password. Leave empty to keep the current one."),
    )
    name = forms.CharField(label=_("Name"), max_length=150)
    mobile = forms.CharField(label=_("Mobile"), max_length=20)
    email = forms.EmailField(label=_("Email"), required=False)
    national_id = forms.CharField(label=_("National ID"), max_length=20, required=False)
    address = forms.CharField(label=_("Address"), max_length=250, required=False)
    house = forms.CharField(label=_("House"), max_length=40, required=False)
    road = forms.CharField(label=_("Road"), max_length=80, required=False)
    zone = forms.ModelChoiceField(queryset=Zone.objects.all(), label=_("Zone"), required=False)
    service_model = forms.ChoiceField(choices=Customer.ServiceModel.choices, label=_("Service"))
    package = forms.ModelChoiceField(
        queryset=Package.objects.filter(is_active=True), label=_("Package")
    )
    billing_profile = forms.ModelChoiceField(
        queryset=BillingProfile.objects.filter(is_active=True),
        label=_("Billing profile"),
        required=False,
    )
    custom_price = forms.DecimalField(
        label=_("Custom price"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text=_("Overrides the package price for this customer."),
    )
    mac_address = forms.CharField(label=_("MAC address"), max_length=20, required=False)
    static_ipv4 = forms.CharField(label=_("Static IPv4"), max_length=15, required=False)
    static_ipv6 = forms.CharField(label=_("Static IPv6"), max_length=45, required=False)
    static_pool = forms.ModelChoiceField(
        queryset=IpPool.objects.filter(purpose=IpPool.Purpose.STATIC),
        label=_("Static address from pool"),
        required=False,
        help_text=_("With the address left empty, the pool's next free address is assigned."),
    )
    expires_at = forms.DateTimeField(label=_("Expires"), required=False, widget=LOCAL_TIME)
    parent_username = forms.CharField(
        label=_("Parent account (username)"), required=False, max_length=64
    )
    manager = forms.ModelChoiceField(
        queryset=Operator.objects.none(), required=False, label=_("Assigned manager")
    )
    sales_notes = forms.CharField(
        label=_("Sales notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    is_trial = forms.BooleanField(label=_("Trial account"), required=False)
    trial_ends_at = forms.DateTimeField(label=_("Trial ends"), required=False, widget=LOCAL_TIME)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        customer = self.instance
        manager: Any = self.fields["manager"]
        manager.queryset = visible_managers(self.user)
        if customer is not None:
            del self.fields["operator"]
        else:
            # The owners a service accepts from this user (a manager holds no operators.view).
            owner: Any = self.fields["operator"]
            owner.queryset = reachable_operators(self.user)
        if not access_of(self.user).can("money.view"):
            del self.fields["custom_price"]
        self.custom_definitions = list(
            CustomField.objects.restrict(self.user).filter(is_active=True)
        )
        for definition in self.custom_definitions:
            self.fields[f"cf_{definition.key}"] = _custom_field(definition)

    def clean_parent_username(self) -> Customer | None:
        username = self.cleaned_data.get("parent_username", "").strip()
        if not username:
            return None
        parent = Customer.objects.restrict(self.user).filter(username__iexact=username).first()
        if parent is None:
            raise forms.ValidationError(_("No customer you can see has this username."))
        return parent

    def service_values(self) -> dict[str, Any]:
        """The cleaned data as service keyword arguments."""
        data = dict(self.cleaned_data)
        data.pop("operator", None)
        data["parent"] = data.pop("parent_username", None)
        custom = {d.key: data.pop(f"cf_{d.key}", None) for d in self.custom_definitions}
        data["custom_fields"] = {
            key: _plain(value) for key, value in custom.items() if value not in (None, "")
        }
        if self.instance is not None and not data.get("service_password"):
            data.pop("service_password", None)
        for key in ("static_ipv4", "static_ipv6"):
            data[key] = data.get(key) or None
        pool = data.pop("static_pool", None)
        if pool is not None:
            key = "static_ipv4" if pool.family == IpPool.Family.IPV4 else "static_ipv6"
            if not data[key]:
                # Inside the saving transaction: the pool stays locked until it commits.
                data[key] = next_free(pool, lock=True)
                if data[key] is None:
                    raise DomainError(
                        str(_("Pool %(pool)s has no free address.") % {"pool": pool}),
                        fields={"static_pool": [str(_("No free address left."))]},
                    )
        return data


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _custom_field(definition: CustomField) -> forms.Field:
    kwargs: dict[str, Any] = {"label": definition.label, "required": definition.required}
    if definition.kind == CustomField.Kind.NUMBER:
        return forms.DecimalField(**kwargs)
    if definition.kind == CustomField.Kind.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **kwargs)
    if definition.kind == CustomField.Kind.CHOICE:
        return forms.ChoiceField(
            choices=[("", "—")] + [(c, c) for c in definition.choices], **kwargs
        )
    return forms.CharField(max_length=500, **kwargs)


def customer_initial(customer: Customer) -> dict[str, Any]:
    initial = {
        key: getattr(customer, key)
        for key in (
            "username",
            "name",
            "mobile",
            "email",
            "national_id",
            "address",
            "house",
            "road",
            "zone",
            "service_model",
            "package",
            "billing_profile",
            "custom_price",
            "mac_address",
            "static_ipv4",
            "static_ipv6",
            "expires_at",
            "manager",
            "sales_notes",
            "is_trial",
            "trial_ends_at",
        )
    }
    initial["parent_username"] = customer.parent.username if customer.parent else ""
    for key, value in customer.custom_fields.items():
        initial[f"cf_{key}"] = value
    return initial


class ReasonForm(ScopedForm):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class TransferForm(ScopedForm):
    to_operator = forms.ModelChoiceField(queryset=Operator.objects.all(), label=_("Move to"))
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class NoteForm(ScopedForm):
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}))


class BulkUpdateForm(ScopedForm):
    """Set the same values on the selected (or all filtered) customers."""

    zone = forms.ModelChoiceField(queryset=Zone.objects.all(), label=_("Zone"), required=False)
    package = forms.ModelChoiceField(
        queryset=Package.objects.filter(is_active=True), label=_("Package"), required=False
    )
    billing_profile = forms.ModelChoiceField(
        queryset=BillingProfile.objects.filter(is_active=True),
        label=_("Billing profile"),
        required=False,
    )
    manager = forms.ModelChoiceField(
        queryset=Operator.objects.none(), required=False, label=_("Assigned manager")
    )
    expires_at = forms.DateTimeField(label=_("Expires"), required=False, widget=LOCAL_TIME)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager: Any = self.fields["manager"]
        manager.queryset = visible_managers(self.user)

    def changes(self) -> dict[str, Any]:
        return {key: value for key, value in self.cleaned_data.items() if value not in (None, "")}


class MacBindForm(ScopedForm):
    lines = forms.CharField(
        label=_("Username and MAC, one pair per line"),
        widget=forms.Textarea(attrs={"rows": 8, "placeholder": "user1, CB:19:71:17:44:94"}),
    )


class ExportForm(ScopedForm):
    format = forms.ChoiceField(
        choices=[("csv", "CSV"), ("xlsx", "Excel (XLSX)")], label=_("Format")
    )
    columns = forms.MultipleChoiceField(
        label=_("Columns"), choices=[], widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, spec: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        available = spec.columns_for(access_of(self.user))
        columns: Any = self.fields["columns"]
        columns.choices = [(header, header) for header, _accessor in available]
        self.fields["columns"].initial = [header for header, _accessor in available]


class ZoneForm(ScopedForm):
    operator = forms.ModelChoiceField(queryset=Operator.objects.all(), label=_("Owner"))
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(choices=Zone.Kind.choices, label=_("Kind"))
    parent = forms.ModelChoiceField(queryset=Zone.objects.all(), label=_("Inside"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zone = self.instance
        if zone is not None:
            del self.fields["operator"]
            parent: Any = self.fields["parent"]
            parent.queryset = parent.queryset.exclude(pk=zone.pk)


class CustomFieldForm(ScopedForm):
    key = forms.SlugField(label=_("Key"), max_length=40)
    label = forms.CharField(label=_("Label"), max_length=80)
    kind = forms.ChoiceField(choices=CustomField.Kind.choices, label=_("Type"))
    choices = forms.CharField(
        label=_("Choices (one per line)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    required = forms.BooleanField(label=_("Required"), required=False)
    position = forms.IntegerField(label=_("Position"), min_value=0, initial=0)

    def clean_choices(self) -> list[str]:
        raw = self.cleaned_data.get("choices") or ""
        return [line.strip() for line in raw.splitlines() if line.strip()]


class ReplaceForm(ScopedForm):
    """Move every customer of this package (or profile) to another one."""

    replacement = forms.ModelChoiceField(queryset=Package.objects.none(), label=_("Replace with"))

    def __init__(self, *args: Any, current: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model = type(current)
        choices: Any = self.fields["replacement"]
        queryset = model.objects.restrict(self.user).filter(is_active=True).exclude(pk=current.pk)
        if isinstance(current, Package):
            queryset = queryset.filter(service_model=current.service_model)
        choices.queryset = queryset
