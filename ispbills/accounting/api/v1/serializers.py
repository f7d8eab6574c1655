"""v1 serializers of accounts, ledger lines and journal entries (amounts as 2-decimal
strings, shown to users with ``money.view`` only)."""

from typing import Any

from rest_framework import serializers

from ispbills.accounting.models import Account, JournalEntry, JournalLine
from ispbills.core.api import MoneyFieldsMixin, ScopedModelSerializer


class AccountSerializer(MoneyFieldsMixin, ScopedModelSerializer):
    money_fields = ("balance",)

    display_name = serializers.CharField(source="__str__", read_only=True)
    debit_normal = serializers.BooleanField(
        read_only=True, help_text="Balance = debits - credits (else credits - debits)."
    )

    class Meta:
        model = Account
        fields = [
            "id",
            "operator",
            "kind",
            "user",
            "counterparty",
            "name",
            "display_name",
            "debit_normal",
            "balance",
            "created_at",
        ]
        read_only_fields = fields


class LedgerLineSerializer(MoneyFieldsMixin, serializers.ModelSerializer):
    """A line of an account's ledger, with the account's balance after it."""

    money_fields = ("debit", "credit", "balance_after")

    at = serializers.DateTimeField(source="entry.at", read_only=True)
    day = serializers.DateField(source="entry.day", read_only=True)
    memo = serializers.CharField(source="entry.memo", read_only=True)

    class Meta:
        model = JournalLine
        fields = ["id", "entry", "at", "day", "memo", "debit", "credit", "balance_after"]
        read_only_fields = fields


class EntryLineSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.__str__", read_only=True)

    class Meta:
        model = JournalLine
        fields = ["id", "account", "account_name", "debit", "credit", "balance_after"]
        read_only_fields = fields


class JournalEntrySerializer(MoneyFieldsMixin, ScopedModelSerializer):
    money_fields = ("amount", "lines")

    display_number = serializers.CharField(read_only=True)
    lines = EntryLineSerializer(many=True, read_only=True)
    reversal: Any = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The entry that reverses this one"
    )

    class Meta:
        model = JournalEntry
        fields = [
            "id",
            "display_number",
            "operator",
            "at",
            "day",
            "memo",
            "source_type",
            "source_id",
            "purpose",
            "amount",
            "reverses",
            "reversal",
            "lines",
        ]
        read_only_fields = fields
