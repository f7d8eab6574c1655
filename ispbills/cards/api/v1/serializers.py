"""v1 serializers of cards (amounts for users with ``money.view``; never a plain PIN)."""

from decimal import Decimal

from rest_framework import serializers

from ispbills.cards.models import Card, CardBatch
from ispbills.core.api import MoneyFieldsMixin, ScopedModelSerializer


class CardBatchSerializer(MoneyFieldsMixin, ScopedModelSerializer):
    money_fields = ("value",)

    number = serializers.CharField(source="display_number", read_only=True)

    class Meta:
        model = CardBatch
        fields = [
            "id",
            "number",
            "name",
            "operator",
            "package",
            "value",
            "count",
            "expires_at",
            "distributor",
            "commission_percent",
            "commission_on",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class CardBatchCreateSerializer(serializers.Serializer):
    operator = serializers.IntegerField(min_value=1)
    name = serializers.CharField(max_length=100)
    package = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    value = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )
    count = serializers.IntegerField(min_value=1)
    expires_at = serializers.DateTimeField()
    distributor = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    commission_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, default=Decimal(0)
    )
    commission_on = serializers.ChoiceField(
        choices=CardBatch.CommissionOn.choices, required=False, default="use"
    )


class CardIssueSerializer(serializers.Serializer):
    distributor = serializers.IntegerField(min_value=1)


class CardSerializer(MoneyFieldsMixin, ScopedModelSerializer):
    money_fields = ("value",)

    batch_name = serializers.CharField(source="batch.name", read_only=True)

    class Meta:
        model = Card
        fields = [
            "id",
            "serial",
            "batch",
            "batch_name",
            "operator",
            "package",
            "value",
            "state",
            "distributor",
            "issued_at",
            "expires_at",
            "used_at",
            "customer",
            "redeemed_by",
            "payment",
            "void_reason",
        ]
        read_only_fields = fields


class CardRedeemSerializer(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1)
    pin = serializers.CharField(max_length=40, help_text="16 symbols; spaces and dashes ignored")


class CardVoidSerializer(serializers.Serializer):
    cards = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=100_000)
    reason = serializers.CharField(max_length=200)


class CardVoidResultSerializer(serializers.Serializer):
    voided = serializers.IntegerField()


class CardIssueResultSerializer(serializers.Serializer):
    issued = serializers.IntegerField()
