"""v1 serializers for NAS devices and disconnect requests. The secret is write-only."""

from rest_framework import serializers

from ispbills.core.api import ScopedModelSerializer
from ispbills.radius.models import Disconnect, DisconnectAttempt, NasDevice
from ispbills.tenancy.api import OwnedCreateMixin


class NasDeviceSerializer(ScopedModelSerializer):
    """A NAS as read and changed; ``secret`` is accepted, never returned."""

    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="The shared secret; leave out (or empty) on change to keep it.",
    )
    address = serializers.CharField(required=False, allow_blank=True)
    online = serializers.IntegerField(read_only=True, help_text="Open sessions on it now.")

    class Meta:
        model = NasDevice
        fields = [
            "id",
            "operator",
            "name",
            "address",
            "secret",
            "kind",
            "coa_port",
            "description",
            "is_active",
            "online",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "operator", "online", "created_at", "updated_at"]
        # The service checks every value (and reports every problem at once).
        extra_kwargs = {
            "name": {"required": False, "allow_blank": True},
            "coa_port": {"min_value": None, "max_value": None},
        }


class NasDeviceCreateSerializer(OwnedCreateMixin, NasDeviceSerializer):
    pass


class DisconnectAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DisconnectAttempt
        fields = ["sent_at", "nas_address", "session_id", "kind", "result", "error_cause", "rtt_ms"]


class DisconnectSerializer(ScopedModelSerializer):
    packets = DisconnectAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Disconnect
        fields = [
            "id",
            "operator",
            "customer_id",
            "username",
            "kind",
            "reason",
            "status",
            "attempts",
            "next_try_at",
            "resolved_at",
            "outcome",
            "requested_by",
            "packets",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
