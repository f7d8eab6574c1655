"""Network pages: IP pools (with usage), PPPoE profiles and the ISP's network settings."""

from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ispbills.core.access import access_of
from ispbills.core.views import (
    ObjectActionView,
    ObjectDetailView,
    ObjectListView,
    ServiceFormView,
)
from ispbills.network import services
from ispbills.network.addresses import next_free, usage_of, with_usage
from ispbills.network.filtersets import IpPoolFilterSet, PppoeProfileFilterSet
from ispbills.network.forms import (
    IpPoolForm,
    NetworkSettingsForm,
    PppoeProfileForm,
    ReplacePoolForm,
)
from ispbills.network.models import IpPool, NetworkSettings, PppoeProfile
from ispbills.network.tables import IpPoolTable, PppoeProfileTable
from ispbills.tenancy.models import Tenant


def _may_change(obj: Any, user: Any) -> bool:
    return bool(type(obj).objects.restrict(user, "change").filter(pk=obj.pk).exists())


class IpPoolListView(ObjectListView):
    model = IpPool
    table_class = IpPoolTable
    filterset_class = IpPoolFilterSet
    title = _("IP pools")
    add_url_name = "network:ippool_add"

    def base_queryset(self) -> QuerySet[IpPool]:
        return with_usage(IpPool.objects.select_related("operator"))


class IpPoolDetailView(ObjectDetailView):
    """A pool's usage, usable ranges and exclusions, who uses it, and the customers holding
    static addresses from it (paginated)."""

    model = IpPool
    template_name = "network/ippool_detail.html"

    def base_queryset(self) -> QuerySet[IpPool]:
        return with_usage(IpPool.objects.select_related("operator"))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        pool, user = self.object, self.request.user
        column = "static_ipv4" if pool.family == IpPool.Family.IPV4 else "static_ipv6"
        # By model label: customers sit above the network catalog and are not imported here.
        Customer: Any = apps.get_model("customers", "Customer")
        holders = (
            Customer.objects.restrict(user)
            .exclude(status="deleted")
            .filter(RawSQL(f"customers_customer.{column} << %s::cidr", [pool.cidr], BooleanField()))
            .order_by(column)
        )
        context.update(
            usage=usage_of(pool),
            may_change=_may_change(pool, user),
            may_delete=IpPool.objects.restrict(user, "delete").filter(pk=pool.pk).exists(),
            holders=Paginator(holders, 50).get_page(self.request.GET.get("page")),
            holder_column=column,
            profiles=PppoeProfile.objects.restrict(user).filter(services.uses_pool(pool)),
            next_free=next_free(pool) if pool.purpose == IpPool.Purpose.STATIC else None,
        )
        return context


class IpPoolCreateView(ServiceFormView):
    model = IpPool
    form_class = IpPoolForm
    title = _("New IP pool")
    success_message = _("Pool %(object)s saved.")

    def perform(self, form: Any) -> IpPool:
        return services.save_pool(
            actor=self.request.user,
            operator=form.cleaned_data["operator"],
            **form.service_values(),
        )


class IpPoolEditView(ServiceFormView):
    model = IpPool
    form_class = IpPoolForm
    action = "change"
    title = _("Edit IP pool")
    success_message = _("Pool %(object)s saved.")

    def get_initial(self) -> dict[str, Any]:
        initial = {key: getattr(self.object, key) for key in services.POOL_FIELDS}
        initial["exclusions"] = "\n".join(self.object.exclusions)
        return initial

    def perform(self, form: Any) -> IpPool:
        return services.save_pool(
            actor=self.request.user,
            operator=self.object.operator,
            pool=self.object,
            **form.service_values(),
        )


class IpPoolReplaceView(ServiceFormView):
    """Replace this pool with another in every profile (and the suspended pool setting)."""

    model = IpPool
    form_class = ReplacePoolForm
    action = "change"
    title = _("Replace pool everywhere")
    success_message = _("Replaced; now %(object)s.")

    def perform(self, form: Any) -> IpPool:
        new = form.cleaned_data["replacement"]
        services.replace_pool(actor=self.request.user, old=self.object, new=new)
        return new


class IpPoolDeleteView(ObjectActionView):
    model = IpPool
    action = "delete"
    title = _("Delete IP pool")
    question = _("Delete pool %(object)s?")
    button = _("Delete")
    button_class = "btn-danger"

    def perform(self, obj: IpPool) -> None:
        services.delete_pool(actor=self.request.user, pool=obj)

    def get_success_url(self, obj: Any) -> str:
        exists = IpPool.objects.filter(pk=obj.pk).exists()
        return obj.get_absolute_url() if exists else reverse("network:ippool_list")


class PppoeProfileListView(ObjectListView):
    model = PppoeProfile
    table_class = PppoeProfileTable
    filterset_class = PppoeProfileFilterSet
    title = _("PPPoE profiles")
    add_url_name = "network:pppoeprofile_add"

    def base_queryset(self) -> QuerySet[PppoeProfile]:
        return PppoeProfile.objects.select_related("operator", "ipv4_pool", "ipv6_pool", "fup_pool")


class PppoeProfileDetailView(ObjectDetailView):
    model = PppoeProfile
    template_name = "network/pppoeprofile_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["may_change"] = _may_change(self.object, self.request.user)
        context["may_delete"] = (
            PppoeProfile.objects.restrict(self.request.user, "delete")
            .filter(pk=self.object.pk)
            .exists()
        )
        context["packages"] = self.object.packages.restrict(self.request.user)
        return context


class PppoeProfileCreateView(ServiceFormView):
    model = PppoeProfile
    form_class = PppoeProfileForm
    title = _("New PPPoE profile")
    success_message = _("Profile %(object)s saved.")

    def perform(self, form: Any) -> PppoeProfile:
        return services.save_profile(
            actor=self.request.user,
            operator=form.cleaned_data["operator"],
            **form.service_values(),
        )


class PppoeProfileEditView(ServiceFormView):
    model = PppoeProfile
    form_class = PppoeProfileForm
    action = "change"
    title = _("Edit PPPoE profile")
    success_message = _("Profile %(object)s saved.")

    def get_initial(self) -> dict[str, Any]:
        initial = {key: getattr(self.object, key) for key in services.PROFILE_FIELDS}
        initial["packages"] = list(self.object.packages.values_list("pk", flat=True))
        return initial

    def perform(self, form: Any) -> PppoeProfile:
        values = form.service_values()
        # Packages the user cannot see stay linked: the form only offers what it may see.
        hidden = self.object.packages.exclude(
            pk__in=self.object.packages.restrict(self.request.user).values("pk")
        )
        values["packages"] = [*values["packages"], *hidden]
        return services.save_profile(
            actor=self.request.user,
            operator=self.object.operator,
            profile=self.object,
            **values,
        )


class PppoeProfileDeleteView(ObjectActionView):
    model = PppoeProfile
    action = "delete"
    title = _("Delete PPPoE profile")
    question = _("Delete profile %(object)s? Its packages keep their own speeds, without pools.")
    button = _("Delete")
    button_class = "btn-danger"

    def perform(self, obj: PppoeProfile) -> None:
        services.delete_profile(actor=self.request.user, profile=obj)

    def get_success_url(self, obj: Any) -> str:
        exists = PppoeProfile.objects.filter(pk=obj.pk).exists()
        return obj.get_absolute_url() if exists else reverse("network:pppoeprofile_list")


class NetworkSettingsView(ServiceFormView):
    """The ISP's own settings, changed by its group admins."""

    model = NetworkSettings
    form_class = NetworkSettingsForm
    action = "change"
    title = _("Network settings")
    success_message = _("Network settings saved.")
    template_name = "network/settings_form.html"

    def get_object(self) -> NetworkSettings:
        access = access_of(self.request.user)
        if access.tenant_id is None:
            raise Http404(_("Pick an ISP first."))
        if not (access.tenant_wide or access.is_superadmin):
            raise PermissionDenied(_("Only the ISP's group admins change its network settings."))
        return services.settings_for(Tenant.objects.get(pk=access.tenant_id))

    def get_initial(self) -> dict[str, Any]:
        return {key: getattr(self.object, key) for key in services.SETTINGS_FIELDS}

    def perform(self, form: Any) -> NetworkSettings:
        return services.save_settings(
            actor=self.request.user, tenant=self.object.tenant, **form.cleaned_data
        )

    def get_success_url_for(self, obj: Any) -> str:
        return reverse("network:settings")
