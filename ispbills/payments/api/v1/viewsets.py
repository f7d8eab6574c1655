"""v1 endpoints of payments: list, read, record cash (idempotent on its reference), reverse."""

from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from ispbills.billing.models import Bill
from ispbills.core.access import access_of
from ispbills.core.api import ScopedGenericViewSet, ScopedReadOnlyViewSet
from ispbills.customers.models import Customer
from ispbills.payments import services
from ispbills.payments.api.v1 import serializers
from ispbills.payments.filtersets import (
    GatewayAccountFilterSet,
    PaymentAttemptFilterSet,
    PaymentFilterSet,
)
from ispbills.payments.gateways import links
from ispbills.payments.gateways import services as gateways
from ispbills.payments.models import GatewayAccount, Payment, PaymentAttempt
from ispbills.payments.views import ACCOUNT_FIELDS, payment_link
from ispbills.tenancy.models import Operator


class PaymentViewSet(mixins.CreateModelMixin, ScopedReadOnlyViewSet):
    """Payments of the customers the caller may see, newest first; creating one records cash
    through the payment pipeline."""

    queryset = (
        Payment.objects.select_related("customer", "reversal")
        .prefetch_related("allocations__bill")
        .order_by("-id")
    )
    serializer_class = serializers.PaymentSerializer
    filterset_class = PaymentFilterSet

    @extend_schema(
        summary="Record a cash payment for a customer: bills oldest due first, the rest to "
        "the advance; a reused reference answers 409.",
        request=serializers.CashPaymentSerializer,
        responses={
            201: serializers.PaymentSerializer,
            400: OpenApiResponse(description="A bad amount, a deleted customer."),
            409: OpenApiResponse(description="The reference was recorded before."),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = serializers.CashPaymentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        customer = Customer.objects.restrict(request.user).filter(pk=data["customer"]).first()
        if customer is None:
            raise NotFound("No such customer.")
        bill = None
        if data.get("bill"):
            bill = Bill.objects.restrict(request.user).filter(pk=data["bill"]).first()
            if bill is None:
                raise NotFound("No such bill.")
        with transaction.atomic():
            payment = services.receive_payment(
                actor=request.user,
                customer=customer,
                amount=data["amount"],
                method=Payment.Method.CASH,
                reference=data["reference"],
                bill=bill,
                note=data.get("note", ""),
                collector=request.user,
            )
        payment = self.get_base_queryset().get(pk=payment.pk)
        return Response(
            serializers.PaymentSerializer(payment, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Reverse the payment exactly: its bills owe again, its advance, expiry and "
        "reactivation are undone.",
        request=serializers.ReverseSerializer,
        responses={201: serializers.PaymentSerializer},
    )
    @action(detail=True, methods=["post"], serializer_class=serializers.ReverseSerializer)
    def reverse(self, request: Request, pk: Any = None) -> Response:
        payment = self.get_object()
        body = serializers.ReverseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            reversal = services.reverse_payment(
                actor=request.user, payment=payment, reason=body.validated_data["reason"]
            )
        reversal = self.get_base_queryset().get(pk=reversal.pk)
        return Response(
            serializers.PaymentSerializer(reversal, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class GatewayAccountViewSet(ScopedReadOnlyViewSet):
    """Payment gateway accounts of the operators the caller may see (credentials never
    returned); create, change and test them with ``payments.change``."""

    queryset = GatewayAccount.objects.select_related("operator").order_by("provider", "id")
    serializer_class = serializers.GatewayAccountSerializer
    filterset_class = GatewayAccountFilterSet
    action_permissions = {"create": "change", "partial_update": "change", "test": "change"}

    def _operator(self, request: Request, data: dict[str, Any]) -> Operator:
        operator_id = data.get("operator") or access_of(request.user).operator_id
        operator = Operator.objects.restrict(request.user).filter(pk=operator_id).first()
        if operator is None:
            raise NotFound("No such operator.")
        return operator

    @extend_schema(
        summary="Set up a gateway for an operator (one per provider).",
        request=serializers.GatewayAccountWriteSerializer,
        responses={201: serializers.GatewayAccountSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = serializers.GatewayAccountWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        with transaction.atomic():
            account = gateways.save_account(
                actor=request.user,
                operator=self._operator(request, data),
                provider=data.get("provider", ""),
                values=data.pop("credentials", {}),
                **{k: data[k] for k in ACCOUNT_FIELDS if k in data},
            )
            self.check_still_visible(account)
        return Response(
            serializers.GatewayAccountSerializer(account, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Change a gateway; a secret left out keeps its saved value.",
        request=serializers.GatewayAccountWriteSerializer,
        responses={200: serializers.GatewayAccountSerializer},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        account = self.get_object()
        body = serializers.GatewayAccountWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        with transaction.atomic():
            account = gateways.save_account(
                actor=request.user,
                operator=account.operator,
                provider=account.provider,
                values=data.pop("credentials", {}),
                account=account,
                **{k: data[k] for k in ACCOUNT_FIELDS if k in data},
            )
        return Response(
            serializers.GatewayAccountSerializer(account, context={"request": request}).data
        )

    @extend_schema(
        summary="Test the saved credentials with a harmless call to the provider.",
        request=None,
        responses={200: serializers.GatewayTestSerializer},
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: Any = None) -> Response:
        ok, message = gateways.test_account(actor=request.user, account=self.get_object())
        return Response({"ok": ok, "message": message})


class PaymentAttemptViewSet(ScopedReadOnlyViewSet):
    """Online payment attempts with their states; one attempt with its redacted exchanges."""

    queryset = PaymentAttempt.objects.select_related("customer").order_by("-id")
    serializer_class = serializers.PaymentAttemptSerializer
    filterset_class = PaymentAttemptFilterSet
    action_permissions = {"check": "change", "resolve": "change"}

    def get_serializer_class(self) -> Any:
        if self.action == "retrieve":
            return serializers.PaymentAttemptDetailSerializer
        return super().get_serializer_class()

    @extend_schema(
        summary="Ask the provider about the attempt now and settle it.",
        request=None,
        responses={200: serializers.CheckResultSerializer},
    )
    @action(detail=True, methods=["post"])
    def check(self, request: Request, pk: Any = None) -> Response:
        attempt = self.get_object()
        result = gateways.check_attempt(attempt, actor=request.user)
        attempt.refresh_from_db()
        data = serializers.PaymentAttemptSerializer(attempt, context={"request": request}).data
        return Response({"result": result, "attempt": data})

    @extend_schema(
        summary="Decide an attempt needing attention: accept (credit what the provider "
        "confirms) or close.",
        request=serializers.ResolveSerializer,
        responses={200: serializers.PaymentAttemptSerializer, 409: OpenApiResponse()},
    )
    @action(detail=True, methods=["post"], serializer_class=serializers.ResolveSerializer)
    def resolve(self, request: Request, pk: Any = None) -> Response:
        attempt = self.get_object()
        body = serializers.ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        attempt = gateways.resolve_attempt(
            actor=request.user,
            attempt=attempt,
            accept=body.validated_data["accept"],
            note=body.validated_data["note"],
        )
        return Response(
            serializers.PaymentAttemptSerializer(attempt, context={"request": request}).data
        )


class CustomerPaymentLinkViewSet(ScopedGenericViewSet):
    """Payment links of one customer, found with ``customers.view``."""

    queryset = Customer.objects.select_related("tenant")
    serializer_class = serializers.PaymentLinkRequestSerializer
    action_permissions = {"payment_links": "view"}

    @extend_schema(
        summary="A signed, expiring payment link for the customer (or one of its bills).",
        request=serializers.PaymentLinkRequestSerializer,
        responses={201: serializers.PaymentLinkSerializer},
    )
    @action(detail=True, methods=["post"], url_path="payment-links")
    def payment_links(self, request: Request, pk: Any = None) -> Response:
        if not access_of(request.user).can("payments.add"):
            raise PermissionDenied()
        customer = self.get_object()
        body = serializers.PaymentLinkRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        bill = None
        if body.validated_data.get("bill"):
            bill = (
                Bill.objects.restrict(request.user)
                .filter(pk=body.validated_data["bill"], customer=customer)
                .first()
            )
            if bill is None:
                raise NotFound("No such bill of this customer.")
        days = body.validated_data["days"]
        url = payment_link(actor=request.user, customer=customer, bill=bill, days=days)
        expires = links.read_link_token(url.rstrip("/").rsplit("/", 1)[-1])
        return Response(
            {"url": url, "expires_at": expires.expires_at if expires else None},
            status=status.HTTP_201_CREATED,
        )
