"""v1 serializers for customers, zones and custom fields.

``customers.services`` holds every rule (required fields, normalising mobiles and MACs,
duplicates, references usable by the operator); these serializers check types only, so a
client gets the service's messages in one error body.
"""

from typing import Any

from rest_framework import serializers

from ispbills.core.access import access_of
from ispbills.core.api import MoneyFieldsMixin, ScopedModelSerializer
from ispbills.customers.models import Customer, CustomField, Zone
from ispbills.tenancy.api import OwnedCreateMixin, reachable_operators
from ispbills.tenancy.models import Operator, User
from ispbills.tenancy.roles import Role

# Required and non-blank only in the service, which reports them with the other problems.
OPTIONAL = {"required": False, "allow_blank": True}


class CustomerSerializer(MoneyFieldsMixin, ScopedModelSerializer):
    """A customer as read and changed; the service password is write-only."""

    money_fields = ("custom_price", "advance_balance")

    service_password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        style={"input_type": "password"},
    )

    class Meta:
        model = Customer
        fields = [
            "id",
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
            "advance_balance",
            "parent",
            "manager",
            "sales_notes",
            "custom_fields",
            "is_trial",
            "trial_ends_at",
            "status",
            "status_reason",
            "status_changed_at",
            "operator",
            "created_at",
            "updated_at",
            "service_password",
        ]
        # Status moves through the lifecycle actions, the owner through transfer.
        read_only_fields = [
            "advance_balance",
            "status",
            "status_reason",
            "status_changed_at",
            "operator",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "username": OPTIONAL,
            "name": OPTIONAL,
            "mobile": OPTIONAL,
            "email": OPTIONAL,
            "mac_address": OPTIONAL,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        access = access_of(getattr(self.context.get("request"), "user", None))
        manager: Any = self.fields["manager"]
        if access.role == Role.MANAGER:
            # A manager reaches no staff list but may assign a customer to itself.
            manager.queryset = manager.queryset | User.objects.filter(pk=access.user_id)


class CustomerCreateSerializer(OwnedCreateMixin, CustomerSerializer):
    """A new customer: ``operator`` is the owner (default: the caller's own operator)."""


class ReasonSerializer(serializers.Serializer):
    """Body of a lifecycle action."""

    reason = serializers.CharField(required=False, allow_blank=True, default="")


class TransferSerializer(ReasonSerializer):
    """Body of a transfer: the new operator, within the caller's reach."""

    operator = serializers.PrimaryKeyRelatedField(queryset=Operator.objects.all())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["operator"]
        field.queryset = reachable_operators(getattr(self.context.get("request"), "user", None))


class ZoneSerializer(ScopedModelSerializer):
    class Meta:
        model = Zone
        fields = ["id", "operator", "name", "kind", "parent", "created_at", "updated_at"]
        read_only_fields = ["operator", "created_at", "updated_at"]
        extra_kwargs = {"name": OPTIONAL}


class ZoneCreateSerializer(OwnedCreateMixin, ZoneSerializer):
    pass


class CustomFieldSerializer(ScopedModelSerializer):
    class Meta:
        model = CustomField
        fields = [
            "id",
            "operator",
            "key",
            "label",
            "kind",
            "choices",
            "required",
            "position",
            "is_active",
            "created_at",
            "updated_at",
        ]
        # customers.services.save_custom_field does not take is_active (yet).
        read_only_fields = ["operator", "is_active", "created_at", "updated_at"]
        extra_kwargs = {"key": OPTIONAL, "label": OPTIONAL}


class CustomFieldCreateSerializer(OwnedCreateMixin, CustomFieldSerializer):
    pass
