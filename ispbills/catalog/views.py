"""Catalog pages: packages (masters and variants), billing profiles, VAT profiles."""

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ispbills.catalog import services
from ispbills.catalog.filtersets import (
    BillingProfileFilterSet,
    PackageFilterSet,
    VatProfileFilterSet,
)
from ispbills.catalog.forms import BillingProfileForm, PackageForm, VatProfileForm
from ispbills.catalog.models import BillingProfile, Package, VatProfile
from ispbills.catalog.tables import BillingProfileTable, PackageTable, VatProfileTable
from ispbills.core.access import access_of
from ispbills.core.views import ObjectDetailView, ObjectListView, ServiceFormView

PROFILE_FIELDS = (
    "name",
    "term",
    "due_day",
    "auto_bill",
    "grace_days",
    "min_validity_days",
    "discount_kind",
    "discount_value",
    "is_active",
)


class CatalogDetailView(ObjectDetailView):
    """A catalog row with its fields, whether the user may change it, and who uses it."""

    template_name = "catalog/item_detail.html"
    fields: tuple[str, ...] = ()
    edit_url_name = ""
    replace_field = ""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        obj, user = self.object, self.request.user
        context["rows"] = [
            (
                obj._meta.get_field(key).verbose_name,
                getattr(obj, f"get_{key}_display", lambda k=key: getattr(obj, k))(),
            )
            for key in self.fields
        ]
        context["may_change"] = (
            type(obj).objects.restrict(user, "change").filter(pk=obj.pk).exists()
        )
        context["edit_url_name"] = self.edit_url_name
        context["may_replace"] = access_of(user).can("customers.change")
        context["replace_field"] = self.replace_field
        return context


class PackageListView(ObjectListView):
    model = Package
    table_class = PackageTable
    filterset_class = PackageFilterSet
    title = _("Packages")
    add_url_name = "catalog:package_add"

    def base_queryset(self) -> QuerySet[Package]:
        return Package.objects.select_related("parent", "operator")

    def get_table_kwargs(self) -> dict[str, Any]:
        return {"show_money": access_of(self.request.user).can("money.view")}


class PackageDetailView(CatalogDetailView):
    model = Package
    template_name = "catalog/package_detail.html"
    fields = (
        "service_model",
        "billing_type",
        "validity_days",
        "data_limit_mb",
        "fup_download_kbps",
        "fup_upload_kbps",
        "burst_download_kbps",
        "burst_upload_kbps",
    )
    edit_url_name = "catalog:package_edit"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["variants"] = Package.objects.restrict(self.request.user).filter(parent=self.object)
        context["show_money"] = access_of(self.request.user).can("money.view")
        return context


class PackageCreateView(ServiceFormView):
    model = Package
    form_class = PackageForm
    title = _("New package")
    success_message = _("Package %(object)s saved.")

    def get_initial(self) -> dict[str, Any]:
        return {
            "operator": access_of(self.request.user).operator_id,
            "validity_days": 30,
            "parent": self.request.GET.get("parent"),
        }

    def perform(self, form: Any) -> Package:
        return services.save_package(
            actor=self.request.user,
            operator=form.cleaned_data["operator"],
            parent=form.cleaned_data.get("parent"),
            **form.service_values(),
        )


class PackageEditView(ServiceFormView):
    model = Package
    form_class = PackageForm
    action = "change"
    title = _("Edit package")
    success_message = _("Package %(object)s saved.")

    def get_initial(self) -> dict[str, Any]:
        return {key: getattr(self.object, key) for key in services.PACKAGE_FIELDS}

    def perform(self, form: Any) -> Package:
        return services.save_package(
            actor=self.request.user,
            operator=self.object.operator,
            package=self.object,
            **form.service_values(),
        )


class BillingProfileListView(ObjectListView):
    model = BillingProfile
    table_class = BillingProfileTable
    filterset_class = BillingProfileFilterSet
    title = _("Billing profiles")
    add_url_name = "catalog:billingprofile_add"


class BillingProfileDetailView(CatalogDetailView):
    model = BillingProfile
    fields = PROFILE_FIELDS[1:]
    edit_url_name = "catalog:billingprofile_edit"
    replace_field = "billing_profile"


class ProfileFormView(ServiceFormView):
    """Create (no pk) or change (pk) a billing or VAT profile through its service."""

    save: Callable[..., Any]  # the profile's service function
    initial_fields: tuple[str, ...] = ()

    def get_initial(self) -> dict[str, Any]:
        if self.object is None:
            return {"operator": access_of(self.request.user).operator_id}
        return {key: getattr(self.object, key) for key in self.initial_fields}

    def perform(self, form: Any) -> Any:
        data = dict(form.cleaned_data)
        operator = data.pop("operator", None) or self.object.operator
        return type(self).save(
            actor=self.request.user, operator=operator, profile=self.object, **data
        )


class BillingProfileCreateView(ProfileFormView):
    model = BillingProfile
    form_class = BillingProfileForm
    title = _("New billing profile")
    success_message = _("Billing profile %(object)s saved.")
    save = staticmethod(services.save_billing_profile)
    initial_fields = PROFILE_FIELDS


class BillingProfileEditView(BillingProfileCreateView):
    action = "change"
    title = _("Edit billing profile")


class VatProfileListView(ObjectListView):
    model = VatProfile
    table_class = VatProfileTable
    filterset_class = VatProfileFilterSet
    title = _("VAT profiles")
    add_url_name = "catalog:vatprofile_add"


class VatProfileDetailView(CatalogDetailView):
    model = VatProfile
    fields = ("rate", "inclusive", "is_active")
    edit_url_name = "catalog:vatprofile_edit"


class VatProfileCreateView(ProfileFormView):
    model = VatProfile
    form_class = VatProfileForm
    title = _("New VAT profile")
    success_message = _("VAT profile %(object)s saved.")
    save = staticmethod(services.save_vat_profile)
    initial_fields = ("name", "rate", "inclusive", "is_active")


class VatProfileEditView(VatProfileCreateView):
    action = "change"
    title = _("Edit VAT profile")
