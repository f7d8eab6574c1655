"""v1 endpoints of the ledger: accounts with their ledgers, the journal (read-only), and
resellers' funds."""

from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from ispbills.accounting import approvals, funds
from ispbills.accounting.api.v1 import serializers
from ispbills.accounting.filtersets import (
    AccountFilterSet,
    JournalEntryFilterSet,
    TransferRequestFilterSet,
)
from ispbills.accounting.models import Account, JournalEntry, TransferRequest, with_lines
from ispbills.core.access import access_of
from ispbills.core.api import ScopedGenericViewSet, ScopedReadOnlyViewSet
from ispbills.tenancy.models import Operator


class AccountViewSet(ScopedReadOnlyViewSet):
    """The accounts of the operators the caller may see, with their cached balances."""

    queryset = Account.objects.select_related("user", "counterparty")
    serializer_class = serializers.AccountSerializer
    filterset_class = AccountFilterSet

    @extend_schema(
        summary="The account's ledger: its lines newest first, each with the account's "
        "balance after it (keyset pages).",
        responses=serializers.LedgerLineSerializer(many=True),
        filters=False,
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def entries(self, request: Request, pk: Any = None) -> Response:
        account = self.get_object()
        page = self.paginate_queryset(account.ledger())
        data = serializers.LedgerLineSerializer(page, many=True, context={"request": request})
        return self.get_paginated_response(data.data)


class JournalEntryViewSet(ScopedReadOnlyViewSet):
    """Journal entries of the operators the caller may see, newest first, with their lines."""

    queryset = with_lines(JournalEntry.objects.select_related("reversal"))
    serializer_class = serializers.JournalEntrySerializer
    filterset_class = JournalEntryFilterSet


class OperatorFundsViewSet(ScopedGenericViewSet):
    """A reseller's funds: read its balance, record what it paid its parent."""

    queryset = Operator.objects.filter(parent__isnull=False)
    serializer_class = serializers.OperatorFundsSerializer
    action_permissions = {"funds": "view", "close": "view"}

    @extend_schema(
        summary="The reseller's balance with its parent; POST records funds it paid (or a "
        "credit), raising the balance.",
        request=serializers.AddFundsSerializer,
        responses={
            200: serializers.OperatorFundsSerializer,
            201: serializers.JournalEntrySerializer,
            400: OpenApiResponse(description="Bad amount or reference, with the reason."),
            409: OpenApiResponse(description="The reference was recorded before."),
        },
    )
    @action(detail=True, methods=["get", "post"])
    def funds(self, request: Request, pk: Any = None) -> Response:
        if not access_of(request.user).can("accounting.view"):
            raise PermissionDenied()
        operator = self.get_object()
        if request.method == "GET":
            data = serializers.OperatorFundsSerializer(operator, context={"request": request})
            return Response(data.data)
        body = serializers.AddFundsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            entry = funds.add_funds(actor=request.user, operator=operator, **body.validated_data)
        entry = with_lines(JournalEntry.objects.filter(pk=entry.pk)).get()
        return Response(
            serializers.JournalEntrySerializer(entry, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Close a settled reseller for good (disabled, records kept); 409 names what "
        "is still open.",
        request=serializers.DecisionSerializer,
        responses={200: serializers.OperatorFundsSerializer},
    )
    @action(detail=True, methods=["post"], serializer_class=serializers.DecisionSerializer)
    def close(self, request: Request, pk: Any = None) -> Response:
        body = serializers.DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            operator = funds.close_operator(
                actor=request.user,
                operator=self.get_object(),
                reason=body.validated_data.get("note", ""),
            )
        data = serializers.OperatorFundsSerializer(operator, context={"request": request})
        return Response(data.data)


class TransferRequestViewSet(ScopedReadOnlyViewSet):
    """Handovers and reported funds waiting for (or past) approval; approving posts them."""

    queryset = TransferRequest.objects.select_related("operator")
    serializer_class = serializers.TransferRequestSerializer
    filterset_class = TransferRequestFilterSet
    action_permissions = {"create": "view", "approve": "view", "reject": "view"}

    def get_permissions(self) -> Any:
        # Collectors ask for handovers with ``payments.add``; the service checks each right.
        if self.action == "create":
            return [permission() for permission in self.permission_classes[:1]]
        return super().get_permissions()

    def respond(self, request: Request, transfer: TransferRequest, code: int) -> Response:
        data = serializers.TransferRequestSerializer(transfer, context={"request": request})
        return Response(data.data, status=code)

    @extend_schema(
        summary="Ask for a cash handover (a collector's cash to its operator) or report funds "
        "a reseller paid its parent.",
        request=serializers.TransferRequestCreateSerializer,
        responses={201: serializers.TransferRequestSerializer},
    )
    def create(self, request: Request) -> Response:
        body = serializers.TransferRequestCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        kind = data.pop("kind")
        with transaction.atomic():
            if kind == TransferRequest.Kind.HANDOVER:
                cash = (
                    Account.objects.restrict(request.user, "view")
                    if access_of(request.user).can("accounting.view")
                    else Account.objects.filter(user_id=getattr(request.user, "pk", 0))
                )
                source = cash.filter(pk=data.get("account")).first()
                if source is None:
                    raise ValidationError({"account": ["Name a cash account you hold."]})
                transfer = approvals.request_handover(
                    actor=request.user,
                    source=source,
                    amount=data["amount"],
                    reference=data["reference"],
                    note=data.get("note", ""),
                )
            else:
                operators = Operator.objects.restrict(request.user, "view")
                operator = operators.filter(pk=data.get("operator")).first()
                if operator is None:
                    raise ValidationError({"operator": ["Name an operator you reach."]})
                transfer = approvals.request_funds(
                    actor=request.user,
                    operator=operator,
                    amount=data["amount"],
                    method=data.get("method", "bank"),
                    reference=data["reference"],
                    note=data.get("note", ""),
                )
        return self.respond(request, transfer, status.HTTP_201_CREATED)

    def decide(self, request: Request, decision: Any) -> Response:
        body = serializers.DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            transfer = decision(
                actor=request.user,
                request=self.get_object(),
                note=body.validated_data.get("note", ""),
            )
        return self.respond(request, transfer, status.HTTP_200_OK)

    @extend_schema(
        summary="Approve: post the money (the requester cannot approve its own).",
        request=serializers.DecisionSerializer,
        responses={200: serializers.TransferRequestSerializer},
    )
    @action(detail=True, methods=["post"], serializer_class=serializers.DecisionSerializer)
    def approve(self, request: Request, pk: Any = None) -> Response:
        return self.decide(request, approvals.approve)

    @extend_schema(
        summary="Reject with a note saying why; no money moves.",
        request=serializers.DecisionSerializer,
        responses={200: serializers.TransferRequestSerializer},
    )
    @action(detail=True, methods=["post"], serializer_class=serializers.DecisionSerializer)
    def reject(self, request: Request, pk: Any = None) -> Response:
        return self.decide(request, approvals.reject)
