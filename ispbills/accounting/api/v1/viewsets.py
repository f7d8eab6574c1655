"""v1 endpoints of the ledger: accounts with their ledgers, and the journal (read-only)."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ispbills.accounting.api.v1 import serializers
from ispbills.accounting.filtersets import AccountFilterSet, JournalEntryFilterSet
from ispbills.accounting.models import Account, JournalEntry, with_lines
from ispbills.core.api import ScopedReadOnlyViewSet


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
