"""v1 serializers of payments (amounts as 2-decimal strings, for users with ``money.view``)."""

from rest_framework import serializers

from ispbills.core.api import MoneyFieldsMixin, ScopedModelSerializer
from ispbills.payments.models import Allocation, Payment

PAYMENT_MONEY = ("amount", "charge", "to_bills", "to_advance", "allocations")


class AllocationSerializer(serializers.ModelSerializer):
    bill_number = serializers.CharField(source="bill.display_number", read_only=True)

    class Meta:
        model = Allocation
        fields = ["bill", "bill_number", "amount"]
        read_only_fields = fields


class PaymentSerializer(MoneyFieldsMixin, ScopedModelSerializer):
    money_fields = PAYMENT_MONEY

    receipt = serializers.CharField(source="display_number", read_only=True)
    customer_username = serializers.CharField(source="customer.username", read_only=True)
    allocations = AllocationSerializer(many=True, read_only=True)
    reversal = serializers.SerializerMethodField(help_text="The reversal that undid it")

    class Meta:
        model = Payment
        fields = [
            "id",
            "receipt",
            "kind",
            "customer",
            "customer_username",
            "operator",
            "method",
            "gateway",
            "reference",
            "amount",
            "charge",
            "to_bills",
            "to_advance",
            "allocations",
            "received_at",
            "collector",
            "note",
            "status",
            "reverses",
            "reversal",
            "expiry_before",
            "expiry_after",
            "reactivated",
        ]
        read_only_fields = fields

    def get_reversal(self, payment: Payment) -> int | None:
        reversal = getattr(payment, "reversal", None)
        return reversal.pk if reversal is not None else None


class CashPaymentSerializer(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    reference = serializers.CharField(
        max_length=100,
        help_text="Your idempotency key: the receipt book number or your own unique id. "
        "Sending it again answers 409 with the receipt it was recorded as.",
    )
    bill = serializers.IntegerField(required=False, help_text="Pay this bill first.")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ReverseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)
