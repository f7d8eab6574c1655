"""v1 serializers for customers, zones and custom fields.

``customers.services`` holds every rule (required fields, normalising mobiles and MACs,
duplicates, references usable by the operator); these serializers check types only, so a
client gets the service's messages in one error body.
"""

import datetime as dt
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from ispbills.core.access import access_of
from ispbills.core.api import MoneyFieldsMixin, ScopedModelSerializer
from ispbills.customers.models import AccountingSession, AuthAttempt, Customer, CustomField, Zone
from ispbills.radius.models import RadAcct
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


# ---- RADIUS: sessions, authentication log, usage, disconnect --------------------------------

SESSION_FIELDS = [
    "id",
    "username",
    "session_id",
    "nas_ip_address",
    "nas_port_id",
    "framed_ip_address",
    "calling_station_id",
    "start_time",
    "update_time",
    "stop_time",
    "session_time",
    "input_octets",
    "output_octets",
    "terminate_cause",
]


class SessionSerializer(serializers.ModelSerializer):
    """An accounting session; octets are cumulative bytes, input = the customer's upload."""

    class Meta:
        model = RadAcct
        fields = SESSION_FIELDS
        read_only_fields = SESSION_FIELDS


class LiveSessionSerializer(SessionSerializer):
    """An open session with the customer that claims its username."""

    customer = serializers.IntegerField(source="claimant_id", read_only=True, allow_null=True)

    class Meta(SessionSerializer.Meta):
        model = AccountingSession
        fields = [*SESSION_FIELDS, "customer"]


class SessionPageSerializer(serializers.Serializer):
    page = serializers.IntegerField(source="number")
    has_next = serializers.BooleanField()
    claimed = serializers.BooleanField(
        help_text="False when another ISP's customer holds the username (no sessions shown)."
    )
    results = SessionSerializer(many=True, source="rows")


class AuthAttemptSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="claimant_id", read_only=True, allow_null=True)

    class Meta:
        model = AuthAttempt
        fields = [
            "id",
            "authdate",
            "username",
            "customer",
            "reply",
            "calling_station_id",
            "called_station_id",
        ]
        read_only_fields = fields


class UsageDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    upload = serializers.IntegerField(help_text="Bytes the customer sent.")
    download = serializers.IntegerField(help_text="Bytes the customer received.")


class UsageCycleSerializer(serializers.Serializer):
    start = serializers.DateField(source="cycle_start")
    end = serializers.DateField(source="cycle_end", help_text="The cycle's last day.")
    upload = serializers.IntegerField(source="cycle_upload")
    download = serializers.IntegerField(source="cycle_download")
    total = serializers.IntegerField(source="cycle_total")
    limit_bytes = serializers.IntegerField(allow_null=True)
    limit_percent = serializers.IntegerField(allow_null=True)


class UsageSerializer(serializers.Serializer):
    since = serializers.DateField()
    until = serializers.DateField()
    days = UsageDaySerializer(many=True)
    cycle = UsageCycleSerializer(source="*")


class UsageQuerySerializer(serializers.Serializer):
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("since", "until"):
            day = attrs.get(name)
            if day and not dt.date(2000, 1, 1) <= day <= dt.date(2099, 12, 31):
                raise serializers.ValidationError({name: "Give a date from 2000 to 2099."})
        since = attrs.get("since")
        until = attrs.get("until") or timezone.localdate()
        if since and since > until:
            raise serializers.ValidationError({"since": "Must not be after until."})
        if since and (until - since).days > 366:
            raise serializers.ValidationError({"since": "At most 367 days at a time."})
        return attrs


class DisconnectResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["pending", "not online"])
    disconnect = serializers.IntegerField(
        allow_null=True, help_text="The disconnect request (see /api/v1/disconnects/)."
    )
