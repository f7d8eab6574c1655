"""v1 endpoints of payments: list, read, record cash (idempotent on its reference), reverse."""

from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from ispbills.billing.models import Bill
from ispbills.core.api import ScopedReadOnlyViewSet
from ispbills.customers.models import Customer
from ispbills.payments import services
from ispbills.payments.api.v1 import serializers
from ispbills.payments.filtersets import PaymentFilterSet
from ispbills.payments.models import Payment


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
