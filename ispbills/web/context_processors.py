"""Template context for the panel shell."""

from typing import Any

from django.http import HttpRequest

from ispbills.core.access import access_of
from ispbills.tenancy.models import Tenant
from ispbills.web.navigation import menu_for


def shell(request: HttpRequest) -> dict[str, Any]:
    access = access_of(getattr(request, "user", None))
    if access.is_anonymous:
        return {"access": access}
    context: dict[str, Any] = {
        "access": access,
        "menu": menu_for(access),
        "current_tenant": getattr(request, "tenant", None),
        "current_url_name": getattr(request.resolver_match, "view_name", ""),
    }
    if access.is_superadmin:
        context["switchable_tenants"] = Tenant.objects.only("pk", "name")
    return context
