"""v1 serializers for the foundation endpoints."""

from typing import Any

from rest_framework import serializers

from ispbills.core.access import access_of
from ispbills.core.api import ScopedModelSerializer
from ispbills.core.models import AuditEvent, JobRun
from ispbills.tenancy.models import Operator, User
from ispbills.tenancy.roles import Role


class OperatorSerializer(ScopedModelSerializer):
    parent = serializers.PrimaryKeyRelatedField(queryset=Operator.objects.all())  # type: ignore[assignment]

    class Meta:
        model = Operator
        fields = [
            "id",
            "parent",
            "kind",
            "name",
            "mobile",
            "email",
            "address",
            "vat_registration",
            "account_type",
            "credit_limit",
            "balance",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["kind", "balance", "is_active", "created_at", "updated_at"]

    def to_representation(self, instance: Operator) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if not access_of(getattr(request, "user", None)).can("money.view"):
            data.pop("credit_limit", None)
            data.pop("balance", None)
        return data


class OperatorUpdateSerializer(OperatorSerializer):
    """An operator's place in the tree is fixed once created."""

    parent: Any = serializers.PrimaryKeyRelatedField(read_only=True)


class UserSerializer(ScopedModelSerializer):
    role = serializers.CharField(source="membership.role", read_only=True)
    operator = serializers.IntegerField(source="membership.operator_id", read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "mobile",
            "role",
            "operator",
            "is_active",
            "last_login",
            "date_joined",
        ]
        read_only_fields = fields


class MeSerializer(UserSerializer):
    tenant = serializers.SerializerMethodField()
    permissions = serializers.SerializerMethodField()
    is_superadmin = serializers.BooleanField(source="is_superuser", read_only=True)

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "tenant", "permissions", "is_superadmin"]
        read_only_fields = fields

    def get_tenant(self, user: User) -> int | None:
        return user.access.tenant_id

    def get_permissions(self, user: User) -> list[str]:
        return sorted(user.access.permissions)


class StaffUserCreateSerializer(serializers.Serializer):
    operator = serializers.PrimaryKeyRelatedField(queryset=Operator.objects.all())
    role = serializers.ChoiceField(choices=Role.choices)
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, min_length=10)
    first_name = serializers.CharField(max_length=150, required=False, default="")
    last_name = serializers.CharField(max_length=150, required=False, default="")
    email = serializers.EmailField(required=False, default="")
    mobile = serializers.CharField(max_length=20, required=False, default="")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = getattr(self.context.get("request"), "user", None)
        operator_field: Any = self.fields["operator"]
        operator_field.queryset = Operator.objects.restrict(user, "view")


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "tenant",
            "operator",
            "actor",
            "actor_label",
            "verb",
            "object_type",
            "object_id",
            "object_label",
            "changes",
            "ip",
            "user_agent",
        ]
        read_only_fields = fields


class JobRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobRun
        fields = [
            "id",
            "kind",
            "label",
            "status",
            "percent",
            "message",
            "result",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields
