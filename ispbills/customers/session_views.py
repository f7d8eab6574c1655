"""RADIUS pages that need the claimant rule: live sessions, the authentication log, and a
customer's sessions, usage and disconnect button."""

from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ispbills.core.access import access_of
from ispbills.core.errors import DomainError
from ispbills.core.views import ObjectActionView, ObjectDetailView, ObjectListView
from ispbills.customers import services, sessions
from ispbills.customers.exports import AUTH_LOG_EXPORT
from ispbills.customers.filtersets import AccountingSessionFilterSet, AuthAttemptFilterSet
from ispbills.customers.models import AccountingSession, AuthAttempt, Customer
from ispbills.customers.tables import AccountingSessionTable, AuthAttemptTable
from ispbills.radius.models import Disconnect, NasDevice

REFRESH_SECONDS = 30


def attach_customers(rows: list[Any], user: Any) -> list[Any]:
    """Give each row its claimant customer (``customer``) and its NAS device's name
    (``nas_name``, when the user may see the device): two queries for the page."""
    ids = {row.claimant_id for row in rows if getattr(row, "claimant_id", None)}
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=ids).only("pk", "name")}
    addresses = {str(row.nas_ip_address) for row in rows if getattr(row, "nas_ip_address", None)}
    names = dict(
        NasDevice.objects.restrict(user, "view")
        .filter(address__in=addresses)
        .values_list("address", "name")
    )
    for row in rows:
        row.customer = customers.get(getattr(row, "claimant_id", None))
        row.nas_name = names.get(str(getattr(row, "nas_ip_address", "")))
    return rows


class AccountingSessionListView(ObjectListView):
    """Open sessions of the customers the user may see, refreshed every 30 seconds."""

    model = AccountingSession
    table_class = AccountingSessionTable
    filterset_class = AccountingSessionFilterSet
    title = gettext_lazy("Online sessions")
    keyset_pagination = True

    def base_queryset(self) -> QuerySet[AccountingSession]:
        return AccountingSession.objects.filter(stop_time__isnull=True)

    def get_table_data(self) -> Any:
        return attach_customers(super().get_table_data(), self.request.user)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["refresh_seconds"] = REFRESH_SECONDS
        return context


class AuthAttemptListView(ObjectListView):
    """Authentication attempts (FreeRADIUS's post-auth log) of the customers the user may see."""

    model = AuthAttempt
    table_class = AuthAttemptTable
    filterset_class = AuthAttemptFilterSet
    title = gettext_lazy("Authentication log")
    export = AUTH_LOG_EXPORT
    keyset_pagination = True

    def get_table_data(self) -> Any:
        return attach_customers(super().get_table_data(), self.request.user)


class CustomerSessionsView(ObjectDetailView):
    """A page of a customer's sessions (the Sessions tab, paged with HTMX)."""

    model = Customer
    template_name = "customers/partials/sessions_tab.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["session_page"] = sessions.sessions_of(
            self.object, sessions.page_number(self.request.GET.get("page"))
        )
        return context


def radius_context(customer: Customer, user: Any) -> dict[str, Any]:
    """What the customer page shows of RADIUS: online, last seen, usage, disconnects."""
    usage = sessions.usage_of(customer)
    return {
        "online": services.is_online(customer),
        "presence": sessions.presence_of(customer),
        "usage": usage,
        "usage_chart": usage.chart(),
        "disconnects": Disconnect.objects.filter(customer_id=customer.pk).order_by("-id")[:10],
        "may_disconnect": access_of(user).can("customers.change"),
    }


class CustomerDisconnectView(ObjectActionView):
    """Confirm, then end the customer's live sessions (Disconnect-Request, verified)."""

    model = Customer
    action = "change"
    title = gettext_lazy("Disconnect customer")
    question = gettext_lazy(
        "End every live session of %(object)s now? The router is asked to disconnect it; "
        "the customer can log in again at once."
    )
    button = gettext_lazy("Disconnect")
    button_class = "btn-danger"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        customer = self.get_object()
        try:
            item = services.disconnect_sessions(actor=request.user, customer=customer)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            self.report(customer, item)
        return redirect(f"{customer.get_absolute_url()}#usage")

    def report(self, customer: Customer, item: Disconnect | None) -> None:
        if item is None:
            messages.info(self.request, _("%(object)s is not online.") % {"object": customer})
        else:
            messages.success(
                self.request,
                _("Disconnect requested (request %(id)s); the log shows when it is verified.")
                % {"id": item.pk},
            )
