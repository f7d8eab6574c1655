"""v1 endpoints of billing: bills (list, read, void), a customer's bill and invoice preview,
billing runs (list, read, start as a job)."""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from ispbills.billing import bulk, services, voids
from ispbills.billing.actions import noon_of, parse_day, start_billing_run
from ispbills.billing.api.v1 import serializers
from ispbills.billing.filtersets import BillFilterSet, BillingRunFilterSet, tenant_today
from ispbills.billing.models import Bill, BillingRun
from ispbills.core.access import access_of
from ispbills.core.api import ScopedGenericViewSet, ScopedReadOnlyViewSet
from ispbills.core.errors import DomainError
from ispbills.customers.models import Customer


class BillViewSet(ScopedReadOnlyViewSet):
    """Bills of the customers the caller may see, newest number first."""

    queryset = Bill.objects.select_related("customer").prefetch_related("reversals")
    serializer_class = serializers.BillSerializer
    filterset_class = BillFilterSet
    action_permissions = {"bulk_issue": "add"}

    @extend_schema(
        summary="Void the bill: a reversal bill cancels it and its advance goes back.",
        request=serializers.VoidSerializer,
        responses={200: serializers.BillSerializer},
    )
    @action(detail=True, methods=["post"], serializer_class=serializers.VoidSerializer)
    def void(self, request: Request, pk: Any = None) -> Response:
        bill = self.get_object()
        body = serializers.VoidSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            voids.void_bill(actor=request.user, bill=bill, reason=body.validated_data["reason"])
        bill.refresh_from_db()
        return Response(serializers.BillSerializer(bill, context={"request": request}).data)

    @extend_schema(
        summary="Void the given bills, or every bill the filters match, as a job.",
        request=serializers.BulkVoidSerializer,
        responses={202: serializers.RunStartedSerializer},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="bulk-void",
        serializer_class=serializers.BulkVoidSerializer,
    )
    def bulk_void(self, request: Request) -> Response:
        body = serializers.BulkVoidSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = bulk.start_bulk_void(
            actor=request.user,
            ids=body.validated_data.get("ids"),
            filters=body.validated_data.get("filters"),
            reason=body.validated_data["reason"],
        )
        return Response({"job": job.pk}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Issue the bills of the given customers, or of every customer the customer "
        "list filters match, for the period holding the date, as a job.",
        request=serializers.BulkGenerateSerializer,
        responses={202: serializers.RunStartedSerializer},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="bulk-issue",
        serializer_class=serializers.BulkGenerateSerializer,
    )
    def bulk_issue(self, request: Request) -> Response:
        body = serializers.BulkGenerateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        tenant_id = access_of(request.user).tenant_id
        if tenant_id is None:
            raise DomainError(_("Pick an ISP first."))
        day = body.validated_data.get("date") or tenant_today(tenant_id)
        job = bulk.start_bulk_generate(
            actor=request.user,
            ids=body.validated_data.get("ids"),
            filters=body.validated_data.get("filters"),
            at=noon_of(day, tenant_id),
        )
        return Response({"job": job.pk}, status=status.HTTP_202_ACCEPTED)


class CustomerBillingViewSet(ScopedGenericViewSet):
    """Billing actions on one customer, found with ``customers.view``."""

    queryset = Customer.objects.select_related("tenant")
    serializer_class = serializers.PreviewSerializer
    action_permissions = {"bills": "view", "invoice_preview": "view"}

    def require(self, permission: str) -> None:
        if not access_of(self.request.user).can(permission):
            raise PermissionDenied()

    @extend_schema(
        summary="Issue the customer's bill for the period holding the date (default today).",
        request=serializers.GenerateSerializer,
        responses={
            201: serializers.BillSerializer,
            400: OpenApiResponse(description="No bill to issue, with the reason."),
            409: OpenApiResponse(description="Already billed for this period."),
        },
    )
    @action(detail=True, methods=["post"], serializer_class=serializers.GenerateSerializer)
    def bills(self, request: Request, pk: Any = None) -> Response:
        self.require("billing.add")
        customer = self.get_object()
        body = serializers.GenerateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        day = body.validated_data.get("date")
        at = noon_of(day, customer.tenant_id) if day else None
        bill = services.generate_bill(actor=request.user, customer=customer, at=at)
        return Response(
            serializers.BillSerializer(bill, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="What the customer's bill for the period holding the date would be.",
        parameters=[serializers.PreviewQuerySerializer],
        responses={200: serializers.PreviewSerializer},
    )
    @action(detail=True, methods=["get"], url_path="invoice-preview")
    def invoice_preview(self, request: Request, pk: Any = None) -> Response:
        self.require("billing.view")
        customer = self.get_object()
        day = parse_day(request.query_params.get("date"))
        at = noon_of(day, customer.tenant_id) if day else None
        preview = services.preview(customer, at=at)
        data = serializers.PreviewSerializer(preview, context={"request": request}).data
        return Response(data)


class BillingRunViewSet(mixins.CreateModelMixin, ScopedReadOnlyViewSet):
    """Billing runs of the caller's ISP; starting one queues a job (whole ISP: root staff)."""

    queryset = BillingRun.objects.select_related("requested_by")
    serializer_class = serializers.BillingRunSerializer
    filterset_class = BillingRunFilterSet

    @extend_schema(
        summary="Start a billing run of the ISP for a date; follow the job for progress.",
        request=serializers.RunRequestSerializer,
        responses={202: serializers.RunStartedSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = serializers.RunRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = start_billing_run(actor=request.user, day=body.validated_data["date"])
        return Response({"job": run.pk}, status=status.HTTP_202_ACCEPTED)
