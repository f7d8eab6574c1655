"""v1 serializers for packages, billing profiles and VAT profiles.

The services hold the rules; these serializers check types only, narrow related choices to
the caller's reach and keep amounts away from users without ``money.view``.
"""

from typing import Any, ClassVar

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import serializers

from ispbills.catalog.models import BillingProfile, Package, VatProfile
from ispbills.core.access import access_of
from ispbills.core.api import ScopedModelSerializer
from ispbills.core.errors import NotAllowedError
from ispbills.tenancy.models import Operator


def reachable_operators(user: Any) -> QuerySet[Operator]:
    """Operators of the caller's subtree: the owners a service accepts from this caller.

    Not ``restrict(user, "view")``: a manager may add customers under its own node without
    holding ``operators.view``; the services check the reach again.
    """
    access = access_of(user)
    if access.is_superadmin:
        return Operator.objects.restrict(user, "view")
    if access.tenant_id is None or not access.operator_path:
        return Operator.objects.none()
    return Operator.objects.filter(
        tenant_id=access.tenant_id, path__startswith=access.operator_path
    )


def scoped_choices(**models: Any) -> dict[str, dict[str, Any]]:
    """``extra_kwargs`` giving related fields a scoped queryset to narrow.

    ModelSerializer builds related fields on the model's manager, which
    ScopedModelSerializer does not recognise as scoped; a ``.all()`` queryset it does.
    """
    return {name: {"queryset": model.objects.all()} for name, model in models.items()}


class MoneyFieldsMixin(serializers.Serializer):
    """Amounts are shown to, and written by, users with ``money.view`` only."""

    money_fields: ClassVar[tuple[str, ...]] = ()

    def _sees_money(self) -> bool:
        user = getattr(self.context.get("request"), "user", None)
        return access_of(user).can("money.view")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if not self._sees_money():
            for name in self.money_fields:
                data.pop(name, None)
        return data

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        written = sorted(name for name in self.money_fields if name in attrs)
        if written and not self._sees_money():
            raise NotAllowedError(
                _("You may not set amounts."),
                fields={name: [_("Needs the money permission.")] for name in written},
            )
        return attrs


class OwnedCreateMixin(serializers.Serializer):
    """On create, ``operator`` names the owner (default: the caller's own operator)."""

    operator = serializers.PrimaryKeyRelatedField(queryset=Operator.objects.all(), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = getattr(self.context.get("request"), "user", None)
        field: Any = self.fields["operator"]
        field.queryset = reachable_operators(user)


CATALOG_READ_ONLY = ["id", "operator", "created_at", "updated_at"]


class PackageSerializer(MoneyFieldsMixin, ScopedModelSerializer):
    money_fields = ("price",)

    class Meta:
        model = Package
        fields = [
            "id",
            "operator",
            "parent",
            "name",
            "service_model",
            "download_kbps",
            "upload_kbps",
            "burst_download_kbps",
            "burst_upload_kbps",
            "price",
            "vat_profile",
            "billing_type",
            "validity_days",
            "data_limit_mb",
            "fup_download_kbps",
            "fup_upload_kbps",
            "is_active",
            "created_at",
            "updated_at",
        ]
        # A variant's master is fixed once made.
        read_only_fields = [*CATALOG_READ_ONLY, "parent"]
        extra_kwargs = {
            "name": {"required": False, "allow_blank": True},
            "download_kbps": {"required": False},
            "upload_kbps": {"required": False},
            "price": {"required": False},
            **scoped_choices(vat_profile=VatProfile),
        }


class PackageCreateSerializer(OwnedCreateMixin, PackageSerializer):
    parent: Any = serializers.PrimaryKeyRelatedField(
        queryset=Package.objects.all(), required=False, allow_null=True
    )


class BillingProfileSerializer(MoneyFieldsMixin, ScopedModelSerializer):
    money_fields = ("discount_value",)

    class Meta:
        model = BillingProfile
        fields = [
            "id",
            "operator",
            "name",
            "term",
            "due_day",
            "auto_bill",
            "grace_days",
            "min_validity_days",
            "discount_kind",
            "discount_value",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = CATALOG_READ_ONLY
        # The bounds are the service's to check (and report with the rest).
        extra_kwargs = {
            "name": {"required": False, "allow_blank": True},
            "due_day": {"min_value": None, "max_value": None},
        }


class BillingProfileCreateSerializer(OwnedCreateMixin, BillingProfileSerializer):
    pass


class VatProfileSerializer(ScopedModelSerializer):
    class Meta:
        model = VatProfile
        fields = [
            "id",
            "operator",
            "name",
            "rate",
            "inclusive",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = CATALOG_READ_ONLY
        extra_kwargs = {
            "name": {"required": False, "allow_blank": True},
            "rate": {"min_value": None, "max_value": None},
        }


class VatProfileCreateSerializer(OwnedCreateMixin, VatProfileSerializer):
    pass
