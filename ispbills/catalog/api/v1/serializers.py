"""v1 serializers for packages, billing profiles and VAT profiles.

The services hold the rules; these serializers check types only, narrow related choices to
the caller's reach and keep amounts away from users without ``money.view``.
"""

from typing import Any

from rest_framework import serializers

from ispbills.catalog.models import BillingProfile, Package, VatProfile
from ispbills.core.api import MoneyFieldsMixin, ScopedModelSerializer
from ispbills.tenancy.api import OwnedCreateMixin

CATALOG_READ_ONLY = ["id", "operator", "created_at", "updated_at"]


class PackageSerializer(MoneyFieldsMixin, ScopedModelSerializer):
    money_fields = ("price",)

    class Meta:
        model = Package
        fields = [
            "id",
            "operator",
            "parent",
            "name",
            "service_model",
            "download_kbps",
            "upload_kbps",
            "burst_download_kbps",
            "burst_upload_kbps",
            "price",
            "vat_profile",
            "billing_type",
            "validity_days",
            "data_limit_mb",
            "fup_download_kbps",
            "fup_upload_kbps",
            "is_active",
            "created_at",
            "updated_at",
        ]
        # A variant's master is fixed once made.
        read_only_fields = [*CATALOG_READ_ONLY, "parent"]
        extra_kwargs = {
            "name": {"required": False, "allow_blank": True},
            "download_kbps": {"required": False},
            "upload_kbps": {"required": False},
            "price": {"required": False},
        }


class PackageCreateSerializer(OwnedCreateMixin, PackageSerializer):
    parent: Any = serializers.PrimaryKeyRelatedField(
        queryset=Package.objects.all(), required=False, allow_null=True
    )


class BillingProfileSerializer(MoneyFieldsMixin, ScopedModelSerializer):
    money_fields = ("discount_value",)

    class Meta:
        model = BillingProfile
        fields = [
            "id",
            "operator",
            "name",
            "term",
            "due_day",
            "auto_bill",
            "grace_days",
            "min_validity_days",
            "discount_kind",
            "discount_value",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = CATALOG_READ_ONLY
        # The bounds are the service's to check (and report with the rest).
        extra_kwargs = {
            "name": {"required": False, "allow_blank": True},
            "due_day": {"min_value": None, "max_value": None},
        }


class BillingProfileCreateSerializer(OwnedCreateMixin, BillingProfileSerializer):
    pass


class VatProfileSerializer(ScopedModelSerializer):
    class Meta:
        model = VatProfile
        fields = [
            "id",
            "operator",
            "name",
            "rate",
            "inclusive",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = CATALOG_READ_ONLY
        extra_kwargs = {
            "name": {"required": False, "allow_blank": True},
            "rate": {"min_value": None, "max_value": None},
        }


class VatProfileCreateSerializer(OwnedCreateMixin, VatProfileSerializer):
    pass
