"""API pieces for rows owned by an operator: the owner a caller may name, and a viewset whose
writes go through one service call each."""

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from ispbills.core.access import access_of
from ispbills.core.api import ScopedReadOnlyViewSet, changed
from ispbills.core.errors import DomainError
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


def own_operator(user: Any) -> Operator:
    """The caller's own operator: the owner when a create names none."""
    operator_id = access_of(user).operator_id
    if operator_id is None:
        raise DomainError(_("Choose the operator."), fields={"operator": [_("Required.")]})
    return Operator.objects.get(pk=operator_id)


class OwnedCreateMixin(serializers.Serializer):
    """On create, ``operator`` names the owner (default: the caller's own operator)."""

    operator = serializers.PrimaryKeyRelatedField(queryset=Operator.objects.all(), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = getattr(self.context.get("request"), "user", None)
        field: Any = self.fields["operator"]
        field.queryset = reachable_operators(user)


class OperatorOwnedViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, ScopedReadOnlyViewSet):
    """List, retrieve, create and update, each write through one service call.

    Subclasses set the read serializer (``serializer_class``), the create serializer
    (``create_serializer_class``, which adds ``operator``) and implement ``save()``.
    """

    create_serializer_class: Any = None

    def get_serializer_class(self) -> Any:
        if self.action == "create":
            return self.create_serializer_class
        return self.serializer_class

    save: Any  # ``save(*, operator, instance, values)`` calls the model's service

    def _read(self, instance: Any) -> Any:
        reader: Any = self.serializer_class
        return reader(instance, context=self.get_serializer_context()).data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        operator = values.pop("operator", None) or own_operator(request.user)
        with transaction.atomic():
            item = self.save(operator=operator, instance=None, values=values)
            self.check_still_visible(item)
        return Response(self._read(item), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        serializer = self.get_serializer(
            instance, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        values = changed(instance, serializer.validated_data)
        if not values:
            return Response(self._read(instance))  # nothing to change, nothing to log
        with transaction.atomic():
            item = self.save(operator=instance.operator, instance=instance, values=values)
            self.check_still_visible(item)
        return Response(self._read(item))
