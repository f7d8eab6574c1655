"""v1 endpoints of the catalog: packages, billing profiles and VAT profiles.

Rows are written only through ``catalog.services``; nothing is hard-deleted (set
``is_active`` to false instead).
"""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from ispbills.catalog import services
from ispbills.catalog.api.v1 import serializers
from ispbills.catalog.filtersets import (
    BillingProfileFilterSet,
    PackageFilterSet,
    VatProfileFilterSet,
)
from ispbills.catalog.models import BillingProfile, Package, VatProfile
from ispbills.core.access import access_of
from ispbills.core.api import ScopedReadOnlyViewSet
from ispbills.core.errors import DomainError
from ispbills.tenancy.models import Operator


def own_operator(user: Any) -> Operator:
    """The caller's own operator: the owner when a create names none."""
    operator_id = access_of(user).operator_id
    if operator_id is None:
        raise DomainError(_("Choose the operator."), fields={"operator": [_("Required.")]})
    return Operator.objects.get(pk=operator_id)


def changed(instance: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The submitted values that differ from the row's (so a PUT of the record as read
    changes, logs and re-checks only what the caller actually changed)."""
    return {key: value for key, value in values.items() if getattr(instance, key) != value}


class ServiceWriteViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, ScopedReadOnlyViewSet):
    """List, retrieve, create and update, each write through one service call.

    Subclasses set the read serializer (``serializer_class``), the create serializer
    (``create_serializer_class``, which adds ``operator``) and implement ``save()``.
    """

    create_serializer_class: Any = None

    def get_serializer_class(self) -> Any:
        if self.action == "create":
            return self.create_serializer_class
        return self.serializer_class

    def save(self, *, operator: Operator, instance: Any, values: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _read(self, instance: Any) -> Any:
        reader: Any = self.serializer_class
        return reader(instance, context=self.get_serializer_context()).data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        operator = values.pop("operator", None) or own_operator(request.user)
        with transaction.atomic():
            item = self.save(operator=operator, instance=None, values=values)
            self.check_still_visible(item)
        return Response(self._read(item), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        serializer = self.get_serializer(
            instance, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        values = changed(instance, serializer.validated_data)
        if not values:
            return Response(self._read(instance))  # nothing to change, nothing to log
        with transaction.atomic():
            item = self.save(operator=instance.operator, instance=instance, values=values)
            self.check_still_visible(item)
        return Response(self._read(item))


def documented(read: Any, create: Any) -> Any:
    """Schema of a ServiceWriteViewSet: create takes ``create`` and answers ``read``."""
    return extend_schema_view(create=extend_schema(request=create, responses={201: read}))


@documented(serializers.PackageSerializer, serializers.PackageCreateSerializer)
class PackageViewSet(ServiceWriteViewSet):
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
class BillingProfileViewSet(ServiceWriteViewSet):
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
class VatProfileViewSet(ServiceWriteViewSet):
    """VAT profiles usable by the caller."""

    queryset = VatProfile.objects.select_related("operator")
    serializer_class = serializers.VatProfileSerializer
    create_serializer_class = serializers.VatProfileCreateSerializer
    filterset_class = VatProfileFilterSet

    def save(self, *, operator: Operator, instance: Any, values: dict[str, Any]) -> Any:
        return services.save_vat_profile(
            actor=self.request.user, operator=operator, profile=instance, **values
        )
