"""v1 endpoints of the ledger: accounts with their ledgers, the journal (read-only), and
resellers' funds."""

from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from ispbills.accounting import funds
from ispbills.accounting.api.v1 import serializers
from ispbills.accounting.filtersets import AccountFilterSet, JournalEntryFilterSet
from ispbills.accounting.models import Account, JournalEntry, with_lines
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
    action_permissions = {"funds": "view"}

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
