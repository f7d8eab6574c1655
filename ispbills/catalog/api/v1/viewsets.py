"""v1 endpoints of the catalog: packages, billing profiles and VAT profiles.

Rows are written only through ``catalog.services``; nothing is hard-deleted (set
``is_active`` to false instead).
"""

from typing import Any

from ispbills.catalog import services
from ispbills.catalog.api.v1 import serializers
from ispbills.catalog.filtersets import (
    BillingProfileFilterSet,
    PackageFilterSet,
    VatProfileFilterSet,
)
from ispbills.catalog.models import BillingProfile, Package, VatProfile
from ispbills.core.api import documented
from ispbills.tenancy.api import OperatorOwnedViewSet
from ispbills.tenancy.models import Operator


@documented(serializers.PackageSerializer, serializers.PackageCreateSerializer)
class PackageViewSet(OperatorOwnedViewSet):
    """Packages of the caller's subtree and the master packages of the operators above it."""

    queryset = Package.objects.select_related("operator")
    serializer_class = serializers.PackageSerializer
    create_serializer_class = serializers.PackageCreateSerializer
    filterset_class = PackageFilterSet

    def save(self, *, operator: Operator, instance: Any, values: dict[str, Any]) -> Any:
        if instance is None:
            parent = values.pop("parent", None)
            return services.save_package(
                actor=self.request.user, operator=operator, parent=parent, **values
            )
        return services.save_package(
            actor=self.request.user, operator=operator, package=instance, **values
        )


@documented(serializers.BillingProfileSerializer, serializers.BillingProfileCreateSerializer)
class BillingProfileViewSet(OperatorOwnedViewSet):
    """Billing profiles (term, due day, grace, discount) usable by the caller."""

    queryset = BillingProfile.objects.select_related("operator")
    serializer_class = serializers.BillingProfileSerializer
    create_serializer_class = serializers.BillingProfileCreateSerializer
    filterset_class = BillingProfileFilterSet

    def save(self, *, operator: Operator, instance: Any, values: dict[str, Any]) -> Any:
        return services.save_billing_profile(
            actor=self.request.user, operator=operator, profile=instance, **values
        )


@documented(serializers.VatProfileSerializer, serializers.VatProfileCreateSerializer)
class VatProfileViewSet(OperatorOwnedViewSet):
    """VAT profiles usable by the caller."""

    queryset = VatProfile.objects.select_related("operator")
    serializer_class = serializers.VatProfileSerializer
    create_serializer_class = serializers.VatProfileCreateSerializer
    filterset_class = VatProfileFilterSet

    def save(self, *, operator: Operator, instance: Any, values: dict[str, Any]) -> Any:
        return services.save_vat_profile(
            actor=self.request.user, operator=operator, profile=instance, **values
        )
