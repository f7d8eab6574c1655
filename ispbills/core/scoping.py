"""Central scoping: every tenant-owned query goes through ``restrict()``.

A model says where its tenant and operator live (``scope_tenant_field``,
``scope_operator_field``) and which permission area guards it (``access_area``);
``ScopedQuerySet.restrict(user, action)`` does the rest. Views, viewsets, forms, filtersets
and serializers call it in their base classes, so app code never filters by tenant by hand.
"""

from typing import TYPE_CHECKING, Any, ClassVar, Self

from django.db import models
from django.db.models import Q

from ispbills.core.access import Access, access_of

if TYPE_CHECKING:
    from ispbills.tenancy.models import Operator


class ScopedQuerySet(models.QuerySet[Any]):
    """QuerySet that knows how to narrow itself to what an actor may reach."""

    def restrict(self, user: Any, action: str = "view") -> Self:
        access = access_of(user)
        model: Any = self.model
        if not access.can(model.permission(action)):
            return self.none()
        tenant_field = model.scope_tenant_field
        if access.is_superadmin:
            if access.tenant_id is not None and tenant_field is not None:
                return self.filter(**{tenant_field: access.tenant_id})
            return self
        if tenant_field is None or access.tenant_id is None:
            return self.none()
        queryset = self.filter(**{tenant_field: access.tenant_id})
        operator_field = model.scope_operator_field
        if not access.tenant_wide and operator_field is not None:
            lookup = f"{operator_field}__path__startswith" if operator_field else "path__startswith"
            reach = Q(**{lookup: access.operator_path})
            if model.scope_shared_down and action == "view":
                ancestors = [int(part) for part in access.operator_path.strip("/").split("/")]
                reach |= Q(
                    **{f"{operator_field}_id__in" if operator_field else "pk__in": ancestors}
                )
            queryset = queryset.filter(reach)
        return model.scope_rows(queryset, access, action)

    def for_operator(self, operator: "Operator") -> Self:
        """Rows of an operator's subtree, for jobs that act on behalf of an operator."""
        model: Any = self.model
        queryset = self.filter(**{model.scope_tenant_field: operator.tenant_id})
        field = model.scope_operator_field
        if field is None:
            return queryset
        lookup = f"{field}__path__startswith" if field else "path__startswith"
        return queryset.filter(**{lookup: operator.path})


class Scoped:
    """Mixin for models reachable only through ``restrict()``.

    ``scope_operator_field`` names the relation to the owning operator ("" when the model
    is the operator itself, None when rows belong to the whole tenant).
    ``scope_shared_down`` lets the subtree see (not change) rows owned by its ancestors.
    """

    access_area: ClassVar[str] = ""
    scope_tenant_field: ClassVar[str | None] = "tenant"
    scope_operator_field: ClassVar[str | None] = "operator"
    # Catalog rows (packages, zones, profiles) of an ancestor operator are visible, read-only,
    # to the operators below it.
    scope_shared_down: ClassVar[bool] = False

    @classmethod
    def permission(cls, action: str) -> str:
        return f"{cls.access_area}.{action}"

    @classmethod
    def scope_rows(cls, queryset: Any, access: Access, action: str) -> Any:
        """Hook for narrowing further than tenant and subtree (e.g. a manager's customers)."""
        return queryset


def scoped_models() -> list[type[models.Model]]:
    """Every concrete model that is scoped (used by the isolation meta-test)."""
    from django.apps import apps

    return [
        model
        for model in apps.get_models()
        if issubclass(model, Scoped) and not model._meta.abstract and not model._meta.proxy
    ]
