"""v1 serializers for IP pools (with their usage) and PPPoE profiles.

``network.services`` holds the rules (CIDR, overlap, exclusions, pools a profile may use);
these serializers check types only and narrow related choices to the caller's reach.
"""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ispbills.catalog.models import Package
from ispbills.core.api import ScopedModelSerializer
from ispbills.network.addresses import next_free, usage_of
from ispbills.network.models import IpPool, PppoeProfile
from ispbills.tenancy.api import OwnedCreateMixin

READ_ONLY = ["id", "operator", "created_at", "updated_at"]


class PoolUsageSerializer(serializers.Serializer):
    """Addresses (IPv6: prefixes) of a pool and how they are used."""

    size = serializers.IntegerField(help_text="Addresses (IPv6: prefixes) in the CIDR.")
    reserved = serializers.IntegerField(help_text="Network and broadcast addresses.")
    excluded = serializers.IntegerField()
    usable = serializers.IntegerField()
    assigned = serializers.IntegerField(help_text="Static addresses of live customers.")
    online = serializers.IntegerField(help_text="Held by open sessions.")
    free = serializers.IntegerField()


class IpPoolSerializer(ScopedModelSerializer):
    exclusions = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        help_text="Addresses, a-b ranges or CIDRs inside the pool (IPv4 pools).",
    )
    usage = serializers.SerializerMethodField()
    next_free = serializers.SerializerMethodField()

    class Meta:
        model = IpPool
        fields = [
            "id",
            "operator",
            "name",
            "cidr",
            "family",
            "purpose",
            "exclusions",
            "prefix_length",
            "notes",
            "usage",
            "next_free",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [*READ_ONLY, "family"]
        extra_kwargs = {
            "name": {"required": False, "allow_blank": True},
            "cidr": {"required": False, "allow_blank": True},
            "prefix_length": {"min_value": None, "max_value": None},
        }

    @extend_schema_field(PoolUsageSerializer)
    def get_usage(self, pool: IpPool) -> dict[str, int]:
        usage = usage_of(pool)
        return {
            "size": usage.size,
            "reserved": usage.reserved,
            "excluded": usage.excluded,
            "usable": usage.usable,
            "assigned": usage.assigned,
            "online": usage.online,
            "free": usage.free,
        }

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_next_free(self, pool: IpPool) -> str | None:
        """The lowest free address of a static pool, read on the pool itself (null in lists,
        for other pools or when full)."""
        view = self.context.get("view")
        if pool.purpose != IpPool.Purpose.STATIC or getattr(view, "action", None) == "list":
            return None
        return next_free(pool)


class IpPoolCreateSerializer(OwnedCreateMixin, IpPoolSerializer):
    pass


class PppoeProfileSerializer(ScopedModelSerializer):
    packages: Any = serializers.PrimaryKeyRelatedField(
        queryset=Package.objects.all(), many=True, required=False
    )

    class Meta:
        model = PppoeProfile
        fields = [
            "id",
            "operator",
            "name",
            "rate_limit",
            "ipv4_pool",
            "ipv6_pool",
            "fup_pool",
            "ip_mode",
            "local_address",
            "dns_servers",
            "packages",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = READ_ONLY
        extra_kwargs = {"name": {"required": False, "allow_blank": True}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        packages: Any = self.fields["packages"]
        packages.child_relation.queryset = Package.objects.restrict(
            getattr(request, "user", None), "view"
        )

    def to_representation(self, instance: PppoeProfile) -> dict[str, Any]:
        data = super().to_representation(instance)
        user = getattr(self.context.get("request"), "user", None)
        linked: Any = instance.packages  # a scoped manager: restrict() narrows it
        data["packages"] = sorted(linked.restrict(user).values_list("pk", flat=True))
        return data


class PppoeProfileCreateSerializer(OwnedCreateMixin, PppoeProfileSerializer):
    pass
