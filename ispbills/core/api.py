"""Base DRF pieces: scoped viewsets and serializers whose related choices are narrowed."""

from typing import Any, cast

from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.utils.translation import gettext
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request

from ispbills.core.access import access_of
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
            raise PermissionDenied(gettext("That change would move this outside your reach."))


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
            if isinstance(queryset, ScopedQuerySet):
                cast(Any, field).queryset = queryset.restrict(user, "view")
