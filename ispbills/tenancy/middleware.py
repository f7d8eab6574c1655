"""Per-request tenant context: the actor's Access, tenant time zone, audit request info."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from ispbills.core.access import NO_ACCESS
from ispbills.core.context import RequestInfo, client_ip, current_request
from ispbills.tenancy.models import Tenant

SELECTED_TENANT_KEY = "selected_tenant_id"


class TenantContextMiddleware:
    """Resolves who the user is acting for and ends sessions that lost their access."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_request.set(
            RequestInfo(
                ip=client_ip(request.META),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
            )
        )
        try:
            return self._handle(request)
        finally:
            current_request.reset(token)
            timezone.deactivate()

    def _handle(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        request.tenant = None  # type: ignore[attr-defined]
        if user.is_authenticated:
            if user.is_superuser:
                user.selected_tenant_id = request.session.get(SELECTED_TENANT_KEY)
            access = user.access
            if access is NO_ACCESS:
                # End the session for good; the API then answers 401 by itself.
                logout(request)
                if request.path.startswith("/api/"):
                    return self.get_response(request)
                messages.error(request, _("Your access has been disabled. Ask your ISP admin."))
                return redirect("web:login")
            if access.tenant_id is not None:
                tenant = Tenant.objects.filter(pk=access.tenant_id).first()
                request.tenant = tenant  # type: ignore[attr-defined]
                if tenant is not None:
                    timezone.activate(tenant.timezone)
        return self.get_response(request)
