"""v1 serializers of accounts, ledger lines and journal entries (amounts as 2-decimal
strings, shown to users with ``money.view`` only)."""

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from ispbills.accounting.funds import FUNDS_METHOD_CHOICES, floor_of
from ispbills.accounting.models import Account, JournalEntry, JournalLine, TransferRequest
from ispbills.core.api import MoneyFieldsMixin, ScopedModelSerializer
from ispbills.tenancy.models import Operator


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


class AddFundsSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    method = serializers.ChoiceField(
        choices=FUNDS_METHOD_CHOICES,
        default="cash",
        help_text="Where the parent received the money.",
    )
    reference = serializers.CharField(
        max_length=80, help_text="Receipt, deposit slip or transaction id: recorded once."
    )
    note = serializers.CharField(max_length=100, required=False, allow_blank=True)
    credit = serializers.BooleanField(
        default=False, help_text="A credit the parent grants without money (booked as a cost)."
    )


class OperatorFundsSerializer(MoneyFieldsMixin, serializers.ModelSerializer):
    """A reseller's balance with its parent (positive: paid ahead; negative: owed) and the
    lowest it may reach."""

    money_fields = ("balance", "credit_limit", "floor")

    floor = serializers.SerializerMethodField(help_text="The lowest balance it may reach.")

    class Meta:
        model = Operator
        fields = [
            "id",
            "name",
            "parent",
            "account_type",
            "credit_limit",
            "balance",
            "floor",
            "unsettled_since",
            "is_active",
            "disabled_reason",
        ]
        read_only_fields = fields

    def get_floor(self, operator: Operator) -> str:
        return str(floor_of(operator))


@extend_schema_serializer(component_name="TransferRequestRecord")
class TransferRequestSerializer(MoneyFieldsMixin, ScopedModelSerializer):
    money_fields = ("amount",)

    display_number = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = TransferRequest
        fields = [
            "id",
            "display_number",
            "kind",
            "status",
            "operator",
            "source",
            "method",
            "amount",
            "reference",
            "note",
            "requested_by",
            "created_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "entry",
        ]
        read_only_fields = fields


class TransferRequestCreateSerializer(serializers.Serializer):
    """A handover names the collector's cash ``account``; funds name the reseller that paid
    (``operator``) and how (``method``)."""

    kind = serializers.ChoiceField(choices=TransferRequest.Kind.choices)
    account = serializers.IntegerField(required=False, help_text="Handover: the cash account.")
    operator = serializers.IntegerField(required=False, help_text="Funds: the reseller.")
    method = serializers.ChoiceField(choices=FUNDS_METHOD_CHOICES, required=False)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    reference = serializers.CharField(max_length=80)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class DecisionSerializer(serializers.Serializer):
    note = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Required to reject."
    )
