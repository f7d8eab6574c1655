"""v1 endpoints of expenses: categories (list, read, create, change), expenses (list, read,
record with files, void) and an expense's attachments."""

from typing import Any

from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from ispbills.core.api import ScopedGenericViewSet, ScopedReadOnlyViewSet, documented
from ispbills.expenses import services
from ispbills.expenses.api.v1 import serializers
from ispbills.expenses.filtersets import ExpenseCategoryFilterSet, ExpenseFilterSet
from ispbills.expenses.models import Expense, ExpenseAttachment, ExpenseCategory
from ispbills.expenses.views import attachment_response
from ispbills.tenancy.api import OperatorOwnedViewSet, own_operator
from ispbills.tenancy.models import Operator


@documented(serializers.ExpenseCategorySerializer, serializers.ExpenseCategoryCreateSerializer)
class ExpenseCategoryViewSet(OperatorOwnedViewSet):
    """Expense categories of the caller's subtree and of the operators above it; retire one
    with ``is_active`` false (nothing is deleted)."""

    queryset = ExpenseCategory.objects.select_related("parent")
    serializer_class = serializers.ExpenseCategorySerializer
    create_serializer_class = serializers.ExpenseCategoryCreateSerializer
    filterset_class = ExpenseCategoryFilterSet

    def save(self, *, operator: Operator, instance: Any, values: dict[str, Any]) -> Any:
        return services.save_category(
            actor=self.request.user, operator=operator, category=instance, **values
        )


class ExpenseViewSet(mixins.CreateModelMixin, ScopedReadOnlyViewSet):
    """Expenses of the operators the caller may see, newest first; recording one posts it to
    the ledger."""

    queryset = (
        Expense.objects.select_related("category__parent", "account__user")
        .prefetch_related(
            Prefetch("attachments", queryset=ExpenseAttachment.objects.defer("data").order_by("id"))
        )
        .order_by("-id")
    )
    serializer_class = serializers.ExpenseSerializer
    filterset_class = ExpenseFilterSet
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        summary="Record an expense (JSON, or multipart/form-data with up to 5 files under "
        "`attachments`): posts Dr expenses, Cr the account that paid.",
        request={
            "application/json": serializers.ExpenseCreateSerializer,
            "multipart/form-data": serializers.ExpenseCreateSerializer,
        },
        responses={
            201: serializers.ExpenseSerializer,
            400: OpenApiResponse(
                description="A bad amount or date, a category the operator may not use, an "
                "attachment that is not a PDF, PNG or JPEG of at most 5 MB."
            ),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = serializers.ExpenseCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        operator = data.pop("operator", None) or own_operator(request.user)
        uploads = [
            services.Upload(name=item.name or "", data=item.read(services.ATTACHMENT_MAX_BYTES + 1))
            for item in data.pop("attachments", [])
        ]
        with transaction.atomic():
            expense = services.record_expense(
                actor=request.user, operator=operator, attachments=uploads, **data
            )
            self.check_still_visible(expense)
        expense = self.get_base_queryset().get(pk=expense.pk)
        return Response(
            self.get_serializer(expense).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Void the expense: its entry is reversed today; a void expense is not voided "
        "again (409).",
        request=serializers.ExpenseVoidSerializer,
        responses={200: serializers.ExpenseSerializer},
    )
    @action(detail=True, methods=["post"], serializer_class=serializers.ExpenseVoidSerializer)
    def void(self, request: Request, pk: Any = None) -> Response:
        expense = self.get_object()
        body = serializers.ExpenseVoidSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            services.void_expense(
                actor=request.user, expense=expense, reason=body.validated_data["reason"]
            )
        expense = self.get_base_queryset().get(pk=expense.pk)
        return Response(serializers.ExpenseSerializer(expense, context={"request": request}).data)


class ExpenseFileViewSet(ScopedGenericViewSet):
    """An expense's attachments, downloaded by those who may see the expense."""

    queryset = Expense.objects.all()
    # The isolation kit reaches the route with a sample attachment id.
    isolation_url_kwargs = {"attachment_id": 1}

    @extend_schema(
        summary="Download one of the expense's files (PDF, PNG or JPEG).",
        parameters=[OpenApiParameter("attachment_id", int, OpenApiParameter.PATH)],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
            (200, "image/jpeg"): OpenApiTypes.BINARY,
        },
        filters=False,
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<attachment_id>[0-9]+)",
    )
    def attachment(
        self, request: Request, pk: Any = None, attachment_id: Any = None
    ) -> HttpResponse:
        expense = self.get_object()
        found = get_object_or_404(
            ExpenseAttachment.objects.restrict(request.user), expense=expense, pk=attachment_id
        )
        return attachment_response(found)
