"""v1 serializers of payments (amounts as 2-decimal strings, for users with ``money.view``)."""

from typing import Any

from rest_framework import serializers

from ispbills.core.api import MoneyFieldsMixin, ScopedModelSerializer
from ispbills.payments.models import (
    Allocation,
    GatewayAccount,
    GatewayExchange,
    Payment,
    PaymentAttempt,
)

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


class GatewayAccountSerializer(ScopedModelSerializer):
    """A gateway account; credentials are write-only and shown only as which are set."""

    credentials_set = serializers.SerializerMethodField(
        help_text="Names of the saved credentials and settings (values are never returned)"
    )
    settings = serializers.SerializerMethodField(
        help_text="The non-secret settings (store id, username…) with their values"
    )

    class Meta:
        model = GatewayAccount
        fields = [
            "id",
            "operator",
            "provider",
            "label",
            "enabled",
            "sandbox",
            "base_url",
            "for_customers",
            "for_operators",
            "credentials_set",
            "settings",
            "checked_at",
            "check_message",
        ]
        read_only_fields = fields

    def get_credentials_set(self, account: GatewayAccount) -> list[str]:
        return sorted(k for k, v in account.get_credentials().items() if v)

    def get_settings(self, account: GatewayAccount) -> dict[str, str]:
        from ispbills.payments.gateways import gateway_class

        try:
            specs = gateway_class(account.provider).credential_fields
        except KeyError:
            return {}
        saved = account.get_credentials()
        return {s.name: saved.get(s.name, "") for s in specs if not s.secret}


class GatewayAccountWriteSerializer(serializers.Serializer):
    operator = serializers.IntegerField(required=False, help_text="Default: your own operator")
    provider = serializers.CharField(max_length=30, required=False)
    enabled = serializers.BooleanField(required=False)
    sandbox = serializers.BooleanField(required=False)
    base_url = serializers.URLField(required=False, allow_blank=True)
    for_customers = serializers.BooleanField(required=False)
    for_operators = serializers.BooleanField(required=False)
    credentials = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="Credential values by name; an empty or missing secret keeps the saved one",
    )

    def get_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = super().get_fields()
        # Declared here: a class attribute named ``label`` would shadow Field.label.
        fields["label"] = serializers.CharField(max_length=80, required=False, allow_blank=True)
        return fields


class GatewayTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()


class ExchangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = GatewayExchange
        fields = [
            "at",
            "label",
            "direction",
            "method",
            "url",
            "request_headers",
            "request_body",
            "status_code",
            "response_body",
            "duration_ms",
            "error",
        ]
        read_only_fields = fields


class PaymentAttemptSerializer(MoneyFieldsMixin, ScopedModelSerializer):
    money_fields = ("amount", "confirmed_amount")

    class Meta:
        model = PaymentAttempt
        fields = [
            "id",
            "merchant_ref",
            "account",
            "provider",
            "purpose",
            "customer",
            "bill",
            "payer_operator",
            "operator",
            "amount",
            "currency",
            "state",
            "outcome",
            "message",
            "provider_ref",
            "provider_txn_id",
            "confirmed_amount",
            "payment",
            "needs_attention",
            "attention_reason",
            "checks",
            "last_checked_at",
            "verified_at",
            "created_at",
        ]
        read_only_fields = fields


class PaymentAttemptDetailSerializer(PaymentAttemptSerializer):
    exchanges = ExchangeSerializer(many=True, read_only=True)

    class Meta(PaymentAttemptSerializer.Meta):
        fields = [*PaymentAttemptSerializer.Meta.fields, "exchanges"]
        read_only_fields = fields


class CheckResultSerializer(serializers.Serializer):
    result = serializers.CharField()
    attempt = PaymentAttemptSerializer()


class ResolveSerializer(serializers.Serializer):
    accept = serializers.BooleanField(help_text="true: credit what the provider confirms")
    note = serializers.CharField(max_length=300)


class PaymentLinkRequestSerializer(serializers.Serializer):
    bill = serializers.IntegerField(required=False, help_text="Pay this bill only")
    days = serializers.IntegerField(min_value=1, max_value=60, default=7)


class PaymentLinkSerializer(serializers.Serializer):
    url = serializers.URLField()
    expires_at = serializers.DateTimeField()
