"""v1 serializers of expense categories and expenses (amounts as 2-decimal strings, shown to
users with ``money.view`` only). The services hold the rules; these check types only."""

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ispbills.core.api import MoneyFieldsMixin, ScopedModelSerializer
from ispbills.expenses.models import Expense, ExpenseAttachment, ExpenseCategory
from ispbills.expenses.services import ATTACHMENTS_MAX, PaidFrom
from ispbills.tenancy.api import OwnedCreateMixin


class ExpenseCategorySerializer(ScopedModelSerializer):
    full_name = serializers.CharField(
        source="label", read_only=True, help_text="The name with its parent's"
    )

    class Meta:
        model = ExpenseCategory
        fields = [
            "id",
            "operator",
            "name",
            "parent",
            "full_name",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "operator", "full_name", "created_at", "updated_at"]
        # The service checks the name (unique per operator whatever its case) and the parent.
        extra_kwargs = {"name": {"required": False, "allow_blank": True, "validators": []}}


class ExpenseCategoryCreateSerializer(OwnedCreateMixin, ExpenseCategorySerializer):
    pass


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Where the file downloads")

    class Meta:
        model = ExpenseAttachment
        fields = ["id", "name", "content_type", "size", "url"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_url(self, attachment: ExpenseAttachment) -> str:
        return reverse(
            "api-v1:expense-file-attachment",
            kwargs={"pk": attachment.expense_id, "attachment_id": attachment.pk},
        )


class ExpenseSerializer(MoneyFieldsMixin, ScopedModelSerializer):
    money_fields = ("amount",)

    display_number = serializers.CharField(read_only=True)
    category_label = serializers.CharField(source="category.label", read_only=True)
    account_name = serializers.CharField(source="account.__str__", read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Expense
        fields = [
            "id",
            "display_number",
            "operator",
            "spent_on",
            "category",
            "category_label",
            "payee",
            "reference",
            "note",
            "amount",
            "account",
            "account_name",
            "status",
            "entry",
            "void_entry",
            "void_reason",
            "voided_at",
            "created_by",
            "created_at",
            "attachments",
        ]
        read_only_fields = fields


class ExpenseCreateSerializer(MoneyFieldsMixin, OwnedCreateMixin, serializers.Serializer):
    """An expense to record (JSON, or multipart with files under ``attachments``)."""

    money_fields = ("amount",)

    category = serializers.PrimaryKeyRelatedField(queryset=ExpenseCategory.objects.all())
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    spent_on = serializers.DateField(
        required=False, help_text="The date in the ISP's time zone; today when left out"
    )
    paid_from = serializers.ChoiceField(choices=PaidFrom.choices)
    payee = serializers.CharField(max_length=150)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)
    attachments = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        max_length=ATTACHMENTS_MAX,
        help_text="PDF, PNG or JPEG files of at most 5 MB each",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = getattr(self.context.get("request"), "user", None)
        field: Any = self.fields["category"]
        field.queryset = ExpenseCategory.objects.restrict(user, "view")


class ExpenseVoidSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)
