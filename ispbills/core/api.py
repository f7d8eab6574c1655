"""Base DRF pieces: scoped viewsets and serializers whose related choices are narrowed."""

from typing import Any, ClassVar, cast

from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.db.models import Manager
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request

from ispbills.core.access import access_of
from ispbills.core.errors import NotAllowedError
from ispbills.core.scoping import ScopedQuerySet

ACTION_FOR_METHOD = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


class AreaPermission(permissions.BasePermission):
    """The model's ``area.action`` permission for the request method (or the view's action)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        model = view.get_model()
        return access_of(request.user).can(model.permission(view.scope_action()))


class ScopedGenericViewSet(viewsets.GenericViewSet):
    """Every viewset's queryset goes through ``restrict(user, action)``."""

    permission_classes = [permissions.IsAuthenticated, AreaPermission]
    # Extra @actions that change state map to "change" unless listed here.
    action_permissions: dict[str, str] = {}

    @classmethod
    def as_view(cls, *args: Any, **kwargs: Any) -> Any:
        # API requests authenticate with bearer tokens; the panel's login redirect is not theirs.
        return login_not_required(super().as_view(*args, **kwargs))

    def get_model(self) -> Any:
        return self.get_base_queryset().model

    def get_base_queryset(self) -> Any:
        queryset: Any = self.queryset
        return queryset.all()

    def scope_action(self) -> str:
        if self.action in self.action_permissions:
            return self.action_permissions[self.action]
        if self.action in {"list", "retrieve", "metadata"}:
            return "view"
        if self.action in {"create", "update", "partial_update", "destroy"}:
            return ACTION_FOR_METHOD[self.request.method or "GET"]
        return "view" if self.request.method in {"GET", "HEAD"} else "change"

    def get_queryset(self) -> Any:
        return self.get_base_queryset().restrict(self.request.user, self.scope_action())

    def check_still_visible(self, obj: Any) -> None:
        """After a write, the object must still be visible to the user (else roll back)."""
        queryset: Any = type(obj)._default_manager.filter(pk=obj.pk)
        if not queryset.restrict(self.request.user, "view").exists():
            transaction.set_rollback(True)
            raise PermissionDenied(_("That change would move this outside your reach."))


class ScopedReadOnlyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedGenericViewSet):
    """List and retrieve, scoped."""


class ScopedModelSerializer(serializers.ModelSerializer):
    """Related-field querysets narrowed to what the requesting user may see."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        for field in self.fields.values():
            queryset = getattr(field, "queryset", None)
            if isinstance(queryset, Manager):  # fields ModelSerializer builds hold the manager
                queryset = queryset.all()
            if isinstance(queryset, ScopedQuerySet):
                cast(Any, field).queryset = queryset.restrict(user, "view")


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


def changed(instance: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The submitted values that differ from the row's (so a PUT of the record as read
    changes, logs and re-checks only what the caller actually changed)."""
    return {key: value for key, value in values.items() if getattr(instance, key) != value}


def documented(read: Any, create: Any) -> Any:
    """Schema of an operator-owned viewset: create takes ``create`` and answers ``read``."""
    return extend_schema_view(create=extend_schema(request=create, responses={201: read}))
