"""RADIUS pages: NAS devices (with their open sessions) and the disconnect log."""

from typing import Any

from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ispbills.core.access import access_of
from ispbills.core.views import ObjectActionView, ObjectDetailView, ObjectListView, ServiceFormView
from ispbills.radius import services
from ispbills.radius.exports import DISCONNECT_EXPORT
from ispbills.radius.filtersets import DisconnectFilterSet, NasDeviceFilterSet
from ispbills.radius.forms import NasDeviceForm
from ispbills.radius.models import Disconnect, NasDevice, RadAcct
from ispbills.radius.tables import DisconnectTable, NasDeviceTable

SESSIONS_PER_PAGE = 50


def with_online_count(queryset: QuerySet[NasDevice]) -> QuerySet[NasDevice]:
    """Each device with ``online``: its open sessions in ``radacct`` (by source address)."""
    open_sessions = (
        RadAcct.objects.filter(nas_ip_address=OuterRef("address"), stop_time__isnull=True)
        .order_by()
        .values("nas_ip_address")
        .annotate(n=Count("*"))
        .values("n")
    )
    return queryset.annotate(
        online=Coalesce(Subquery(open_sessions, output_field=IntegerField()), 0)
    )


class NasDeviceListView(ObjectListView):
    model = NasDevice
    table_class = NasDeviceTable
    filterset_class = NasDeviceFilterSet
    title = _("NAS devices")
    add_url_name = "radius:nasdevice_add"

    def base_queryset(self) -> QuerySet[NasDevice]:
        return with_online_count(NasDevice.objects.select_related("operator"))


class NasDeviceDetailView(ObjectDetailView):
    model = NasDevice
    template_name = "radius/nasdevice_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        device, user = self.object, self.request.user
        sessions = RadAcct.objects.filter(
            nas_ip_address=device.address, stop_time__isnull=True
        ).order_by("-id")
        context["online"] = sessions.count()
        # Every session on the router is the ISP's; staff of a subtree see who is online
        # through the sessions page, which shows only the customers they may see.
        access = access_of(user)
        if access.tenant_wide or access.is_superadmin:
            context["sessions"] = Paginator(sessions, SESSIONS_PER_PAGE).get_page(
                self.request.GET.get("page")
            )
        context["may_change"] = (
            NasDevice.objects.restrict(user, "change").filter(pk=device.pk).exists()
        )
        context["may_delete"] = (
            NasDevice.objects.restrict(user, "delete").filter(pk=device.pk).exists()
        )
        return context


class NasDeviceCreateView(ServiceFormView):
    model = NasDevice
    form_class = NasDeviceForm
    title = _("New NAS device")
    success_message = _("NAS %(object)s saved.")

    def perform(self, form: Any) -> NasDevice:
        return services.save_nas_device(
            actor=self.request.user,
            operator=form.cleaned_data["operator"],
            **form.service_values(),
        )


class NasDeviceEditView(ServiceFormView):
    model = NasDevice
    form_class = NasDeviceForm
    action = "change"
    title = _("Edit NAS device")
    success_message = _("NAS %(object)s saved.")

    def get_initial(self) -> dict[str, Any]:
        keys = ("name", "address", "kind", "coa_port", "description", "is_active")
        return {key: getattr(self.object, key) for key in keys}  # never the secret

    def perform(self, form: Any) -> NasDevice:
        return services.save_nas_device(
            actor=self.request.user,
            operator=self.object.operator,
            device=self.object,
            **form.service_values(),
        )


class NasDeviceDeleteView(ObjectActionView):
    model = NasDevice
    action = "delete"
    title = _("Delete NAS device")
    question = _("Delete %(object)s? FreeRADIUS stops answering it; its sessions' history stays.")
    button = _("Delete")
    button_class = "btn-danger"

    def perform(self, obj: NasDevice) -> None:
        services.delete_nas_device(actor=self.request.user, device=obj)

    def get_success_url(self, obj: Any) -> str:
        return reverse("radius:nasdevice_list")


class DisconnectListView(ObjectListView):
    model = Disconnect
    table_class = DisconnectTable
    filterset_class = DisconnectFilterSet
    title = _("Disconnect log")
    template_name = "radius/disconnect_list.html"
    export = DISCONNECT_EXPORT
    keyset_pagination = True


class DisconnectDetailView(ObjectDetailView):
    model = Disconnect
    template_name = "radius/disconnect_detail.html"

    def base_queryset(self) -> QuerySet[Disconnect]:
        return Disconnect.objects.select_related("requested_by", "operator")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["attempts"] = self.object.packets.order_by("id")
        return context
