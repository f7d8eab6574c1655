"""v1 serializers of bills, billing runs and invoice previews (amounts as 2-decimal strings,
shown to users with ``money.view`` only)."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ispbills.billing.actions import billing_day
from ispbills.billing.models import Bill, BillingRun
from ispbills.billing.tables import named_lines, reason_label
from ispbills.core.api import MoneyFieldsMixin, ScopedModelSerializer

BILL_MONEY = (
    "subtotal",
    "discount",
    "vat",
    "total",
    "advance_applied",
    "paid_amount",
    "payable",
    "lines",
)


class BillLineSerializer(serializers.Serializer):
    label: Any = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class BillSerializer(MoneyFieldsMixin, ScopedModelSerializer):
    money_fields = BILL_MONEY

    display_number = serializers.CharField(read_only=True)
    customer_username = serializers.CharField(source="customer.username", read_only=True)
    payable = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    lines = serializers.SerializerMethodField()
    reversal = serializers.SerializerMethodField(help_text="The reversal that voided this bill")

    class Meta:
        model = Bill
        fields = [
            "id",
            "number",
            "display_number",
            "kind",
            "customer",
            "customer_username",
            "operator",
            "reverses",
            "reversal",
            "run",
            "period_start",
            "period_end",
            "issued_on",
            "due_on",
            "package",
            "description",
            "lines",
            "subtotal",
            "discount",
            "vat",
            "vat_rate",
            "vat_inclusive",
            "total",
            "advance_applied",
            "paid_amount",
            "payable",
            "status",
            "voided_at",
            "void_reason",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_reversal(self, bill: Bill) -> int | None:
        return bill.reversal.pk if bill.reversal else None

    @extend_schema_field(BillLineSerializer(many=True))
    def get_lines(self, bill: Bill) -> list[dict[str, Any]]:
        """The lines named in the caller's language."""
        return [{"label": label, "amount": f"{amount:.2f}"} for label, amount in named_lines(bill)]


class VoidSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class ChosenSerializer(serializers.Serializer):
    """Either ids or the list filters (those of the list endpoint, as an object)."""

    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=100_000
    )
    filters = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text='Every row these filters match, e.g. {"status": "unpaid"}.',
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if bool(data.get("ids")) == ("filters" in data):
            raise serializers.ValidationError("Give either ids or filters.")
        return data


class BulkVoidSerializer(ChosenSerializer):
    reason = serializers.CharField(max_length=200)


class BulkGenerateSerializer(ChosenSerializer):
    date = serializers.DateField(
        required=False,
        help_text="A day of the period to bill, in the ISP's calendar (default today).",
    )

    def validate_date(self, value: Any) -> Any:
        return billing_day(value)


class GenerateSerializer(serializers.Serializer):
    date = serializers.DateField(
        required=False,
        help_text="A day of the period to bill, in the ISP's calendar (default today).",
    )

    def validate_date(self, value: Any) -> Any:
        return billing_day(value)


class RunRequestSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The billing date, in the ISP's calendar.")

    def validate_date(self, value: Any) -> Any:
        return billing_day(value)


class RunStartedSerializer(serializers.Serializer):
    job = serializers.IntegerField(help_text="The job run to follow at /api/v1/jobs/{id}/.")


class PreviewQuerySerializer(serializers.Serializer):
    date = serializers.DateField(
        required=False, help_text="YYYY-MM-DD, read at noon in the ISP's zone (default now)."
    )


class PreviewSerializer(MoneyFieldsMixin, serializers.Serializer):
    money_fields = (
        "subtotal",
        "discount",
        "vat",
        "total",
        "advance",
        "advance_applied",
        "payable",
    )

    customer = serializers.IntegerField(source="customer_id")
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    days = serializers.IntegerField()
    cycle_days = serializers.IntegerField()
    package_name = serializers.CharField(allow_null=True)
    subtotal = serializers.DecimalField(max_digits=14, decimal_places=2)
    discount = serializers.DecimalField(max_digits=14, decimal_places=2)
    vat = serializers.DecimalField(max_digits=14, decimal_places=2)
    vat_rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    vat_inclusive = serializers.BooleanField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    advance = serializers.DecimalField(max_digits=14, decimal_places=2)
    advance_applied = serializers.DecimalField(max_digits=14, decimal_places=2)
    payable = serializers.DecimalField(max_digits=14, decimal_places=2)
    skip = serializers.CharField(allow_null=True, help_text="Why no bill would be issued.")
    skip_reason = serializers.CharField(allow_blank=True)


class BillingRunSerializer(MoneyFieldsMixin, ScopedModelSerializer):
    money_fields = ("total", "advance_applied")

    billed = serializers.SerializerMethodField()
    total = serializers.SerializerMethodField()
    advance_applied = serializers.SerializerMethodField()
    skipped = serializers.SerializerMethodField()

    class Meta:
        model = BillingRun
        fields = [
            "id",
            "run_date",
            "status",
            "billed",
            "total",
            "advance_applied",
            "skipped",
            "requested_by",
            "job_run",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_billed(self, run: BillingRun) -> int:
        return int(run.summary.get("billed", 0))

    def get_total(self, run: BillingRun) -> str:
        return str(run.summary.get("total", "0.00"))

    def get_advance_applied(self, run: BillingRun) -> str:
        return str(run.summary.get("advance_applied", "0.00"))

    @extend_schema_field(serializers.DictField(child=serializers.DictField()))
    def get_skipped(self, run: BillingRun) -> dict[str, dict[str, Any]]:
        """Reason code → its name and how many customers it skipped."""
        return {
            reason: {"label": reason_label(reason), "count": count}
            for reason, count in run.summary.get("skipped", {}).items()
        }
