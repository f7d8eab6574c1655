"""v1 endpoints of customers (with their lifecycle actions), zones and custom fields.

Every write is one ``customers.services`` call inside a transaction that is rolled back when
the result would fall outside the caller's reach.
"""

from collections.abc import Callable
from typing import Any

import django_filters
from django.db import transaction
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ispbills.core.api import ScopedReadOnlyViewSet, changed, documented
from ispbills.customers import services, sessions
from ispbills.customers.api.v1 import serializers
from ispbills.customers.filtersets import (
    AccountingSessionFilterSet,
    AuthAttemptFilterSet,
    CustomerFilterSet,
    ZoneFilterSet,
)
from ispbills.customers.models import AccountingSession, AuthAttempt, Customer, CustomField, Zone
from ispbills.tenancy.api import OperatorOwnedViewSet, own_operator
from ispbills.tenancy.models import Operator


class CustomerApiFilterSet(CustomerFilterSet):
    """The panel's customer filters; ``search`` is the API's name for ``q``."""

    search = django_filters.CharFilter(method="search", label=gettext_lazy("Search"))


def lifecycle_doc(summary: str) -> Any:
    return extend_schema(
        summary=summary,
        request=serializers.ReasonSerializer,
        responses=serializers.CustomerSerializer,
    )


@extend_schema_view(
    create=extend_schema(
        request=serializers.CustomerCreateSerializer,
        responses={201: serializers.CustomerSerializer},
    ),
    destroy=extend_schema(
        request=serializers.ReasonSerializer,
        responses={204: OpenApiResponse(description="Moved to the archive (soft delete).")},
    ),
)
class CustomerViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedReadOnlyViewSet,
):
    """Customers of the caller's reach (a manager's: those assigned to it).

    The list leaves deleted customers out unless ``status=deleted`` is asked for; DELETE
    moves a customer to that archive and ``restore`` brings it back.
    """

    queryset = Customer.objects.all()
    filterset_class = CustomerApiFilterSet
    action_permissions = {
        "suspend": "change",
        "activate": "change",
        "disable": "change",
        "transfer": "change",
        "restore": "delete",
        "sessions": "view",
        "usage": "view",
        "disconnect": "change",
    }

    def get_serializer_class(self) -> Any:
        if self.action == "create":
            return serializers.CustomerCreateSerializer
        if self.action == "transfer":
            return serializers.TransferSerializer
        if self.action in {"suspend", "activate", "disable", "restore"}:
            return serializers.ReasonSerializer
        if self.action == "disconnect":
            return serializers.DisconnectResultSerializer
        return serializers.CustomerSerializer

    def filter_queryset(self, queryset: Any) -> Any:
        # The filters (and the list's "any but deleted") shape lists; by id, an archived
        # customer stays reachable so it can be read and restored.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def _read(self, customer: Customer) -> Any:
        return serializers.CustomerSerializer(customer, context=self.get_serializer_context()).data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        operator = values.pop("operator", None) or own_operator(request.user)
        with transaction.atomic():
            customer = services.register_customer(actor=request.user, operator=operator, **values)
            self.check_still_visible(customer)
        return Response(self._read(customer), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        customer = self.get_object()
        serializer = self.get_serializer(
            customer, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        values = changed(customer, serializer.validated_data)
        with transaction.atomic():
            customer = services.update_customer(actor=request.user, customer=customer, **values)
            self.check_still_visible(customer)
        return Response(self._read(customer))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self._change(services.delete_customer)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _change(self, service: Callable[..., Customer]) -> Customer:
        customer = self.get_object()
        body = serializers.ReasonSerializer(data=self.request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            customer = service(
                actor=self.request.user, customer=customer, reason=body.validated_data["reason"]
            )
            self.check_still_visible(customer)
        return customer

    @lifecycle_doc("Suspend the customer (active or FUP).")
    @action(detail=True, methods=["post"])
    def suspend(self, request: Request, pk: Any = None) -> Response:
        return Response(self._read(self._change(services.suspend_customer)))

    @lifecycle_doc("Activate the customer.")
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: Any = None) -> Response:
        return Response(self._read(self._change(services.activate_customer)))

    @lifecycle_doc("Disable the customer.")
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, pk: Any = None) -> Response:
        return Response(self._read(self._change(services.disable_customer)))

    @lifecycle_doc("Bring a deleted customer back to the status it had.")
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: Any = None) -> Response:
        return Response(self._read(self._change(services.restore_customer)))

    @extend_schema(
        summary="Move the customer to another operator of the caller's reach.",
        request=serializers.TransferSerializer,
        responses=serializers.CustomerSerializer,
    )
    @action(detail=True, methods=["post"])
    def transfer(self, request: Request, pk: Any = None) -> Response:
        customer = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            customer = services.transfer_customer(
                actor=request.user,
                customer=customer,
                to_operator=body.validated_data["operator"],
                reason=body.validated_data["reason"],
            )
            self.check_still_visible(customer)
        return Response(self._read(customer))

    @extend_schema(
        summary="The customer's sessions, open first, then closed ones newest first.",
        parameters=[OpenApiParameter("page", int, description="Page of 25, from 1.")],
        responses=serializers.SessionPageSerializer,
    )
    @action(detail=True, methods=["get"])
    def sessions(self, request: Request, pk: Any = None) -> Response:
        customer = self.get_object()
        found = sessions.sessions_of(
            customer, sessions.page_number(request.query_params.get("page"))
        )
        return Response(serializers.SessionPageSerializer(found).data)

    @extend_schema(
        summary="Daily usage (bytes) and the current cycle against the package's data limit.",
        parameters=[serializers.UsageQuerySerializer],
        responses=serializers.UsageSerializer,
    )
    @action(detail=True, methods=["get"])
    def usage(self, request: Request, pk: Any = None) -> Response:
        customer = self.get_object()
        query = serializers.UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = sessions.usage_of(
            customer, query.validated_data.get("since"), query.validated_data.get("until")
        )
        return Response(serializers.UsageSerializer(found).data)

    @extend_schema(
        summary="End the customer's live sessions (Disconnect-Request, verified by accounting).",
        request=None,
        responses={
            202: OpenApiResponse(
                serializers.DisconnectResultSerializer,
                description="Requested (or already pending).",
            ),
            200: OpenApiResponse(
                serializers.DisconnectResultSerializer, description="Not online: nothing sent."
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def disconnect(self, request: Request, pk: Any = None) -> Response:
        customer = self.get_object()
        item = services.disconnect_sessions(actor=request.user, customer=customer)
        if item is None:
            return Response({"status": "not online", "disconnect": None})
        return Response(
            {"status": "pending", "disconnect": item.pk}, status=status.HTTP_202_ACCEPTED
        )


class SessionViewSet(ScopedReadOnlyViewSet):
    """Open sessions (``radacct``) of the customers the caller may see, newest first.

    A session belongs to the customer that claims its username: the live customer with that
    username, the lowest id first across ISPs (the only one FreeRADIUS lets in).
    """

    queryset = AccountingSession.objects.filter(stop_time__isnull=True)
    serializer_class = serializers.LiveSessionSerializer
    filterset_class = AccountingSessionFilterSet


class AuthAttemptViewSet(ScopedReadOnlyViewSet):
    """Authentication attempts and their outcome, of the usernames the caller's customers
    claim (needs ``network.view``); attempted passwords are never stored."""

    queryset = AuthAttempt.objects.all()
    serializer_class = serializers.AuthAttemptSerializer
    filterset_class = AuthAttemptFilterSet


@documented(serializers.ZoneSerializer, serializers.ZoneCreateSerializer)
class ZoneViewSet(OperatorOwnedViewSet):
    """Zones (district > thana > area) of the caller's subtree and of the operators above."""

    queryset = Zone.objects.select_related("operator")
    serializer_class = serializers.ZoneSerializer
    create_serializer_class = serializers.ZoneCreateSerializer
    filterset_class = ZoneFilterSet

    def save(self, *, operator: Operator, instance: Any, values: dict[str, Any]) -> Any:
        # save_zone takes the whole zone: fill in what a partial update left out.
        keys = ("name", "kind", "parent")
        current = {key: getattr(instance, key) for key in keys} if instance else {}
        merged = {**current, **values}
        return services.save_zone(
            actor=self.request.user,
            operator=operator,
            zone=instance,
            name=merged.get("name", ""),
            **{key: merged[key] for key in ("kind", "parent") if key in merged},
        )


@documented(serializers.CustomFieldSerializer, serializers.CustomFieldCreateSerializer)
class CustomFieldViewSet(OperatorOwnedViewSet):
    """The ISP's own customer fields; the group admin defines them for the whole ISP."""

    queryset = CustomField.objects.select_related("operator")
    serializer_class = serializers.CustomFieldSerializer
    create_serializer_class = serializers.CustomFieldCreateSerializer

    def save(self, *, operator: Operator, instance: Any, values: dict[str, Any]) -> Any:
        # save_custom_field takes the whole definition: fill in what a partial update left out.
        keys = ("key", "label", "kind", "choices", "required", "position")
        current = {key: getattr(instance, key) for key in keys} if instance else {}
        merged = {**current, **values}
        return services.save_custom_field(
            actor=self.request.user,
            operator=operator,
            field=instance,
            key=merged.pop("key", ""),
            label=merged.pop("label", ""),
            **merged,
        )
