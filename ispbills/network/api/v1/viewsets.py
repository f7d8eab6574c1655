"""v1 endpoints of the network catalog: IP pools (with usage) and PPPoE profiles.

Rows are written only through ``network.services``; a PUT or PATCH of ``packages`` replaces
the profile's packages, and the RADIUS groups of those packages follow in the same
transaction.
"""

from typing import Any

from django.db import transaction
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from ispbills.core.api import documented
from ispbills.network import services
from ispbills.network.addresses import with_usage
from ispbills.network.api.v1 import serializers
from ispbills.network.filtersets import IpPoolFilterSet, PppoeProfileFilterSet
from ispbills.network.models import IpPool, PppoeProfile
from ispbills.tenancy.api import OperatorOwnedViewSet
from ispbills.tenancy.models import Operator


@documented(serializers.IpPoolSerializer, serializers.IpPoolCreateSerializer)
class IpPoolViewSet(mixins.DestroyModelMixin, OperatorOwnedViewSet):
    """IP pools of the caller's subtree and of the operators above it, with usage counts."""

    queryset = with_usage(IpPool.objects.select_related("operator"))
    serializer_class = serializers.IpPoolSerializer
    create_serializer_class = serializers.IpPoolCreateSerializer
    filterset_class = IpPoolFilterSet

    def save(self, *, operator: Operator, instance: Any, values: dict[str, Any]) -> Any:
        return services.save_pool(
            actor=self.request.user, operator=operator, pool=instance, **values
        )

    def _read(self, instance: Any) -> Any:
        # Re-read with the usage counts a freshly saved row lacks.
        return super()._read(self.get_base_queryset().get(pk=instance.pk))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Delete a pool nothing uses (409 while a profile, the settings or a customer does)."""
        with transaction.atomic():
            services.delete_pool(actor=request.user, pool=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@documented(serializers.PppoeProfileSerializer, serializers.PppoeProfileCreateSerializer)
class PppoeProfileViewSet(mixins.DestroyModelMixin, OperatorOwnedViewSet):
    """PPPoE profiles: pools, addressing, rate limit and the packages that use them."""

    queryset = PppoeProfile.objects.select_related("operator")
    serializer_class = serializers.PppoeProfileSerializer
    create_serializer_class = serializers.PppoeProfileCreateSerializer
    filterset_class = PppoeProfileFilterSet

    def save(self, *, operator: Operator, instance: Any, values: dict[str, Any]) -> Any:
        packages = values.pop("packages", None)
        if instance is not None and packages is not None:
            # Packages the caller cannot see stay linked.
            visible = instance.packages.restrict(self.request.user).values("pk")
            packages = [*packages, *instance.packages.exclude(pk__in=visible)]
        return services.save_profile(
            actor=self.request.user,
            operator=operator,
            profile=instance,
            packages=packages,
            **values,
        )

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Delete a profile; its packages' groups lose its pools and rate."""
        with transaction.atomic():
            services.delete_profile(actor=request.user, profile=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
