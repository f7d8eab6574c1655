"""Panel pages for operators, staff users, special permissions, login log and ISPs."""

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ispbills.core.access import Access, access_of
from ispbills.core.models import AuditEvent
from ispbills.core.views import ObjectActionView, ObjectDetailView, ObjectListView, ServiceFormView
from ispbills.tenancy import services
from ispbills.tenancy.filtersets import LoginAttemptFilterSet, OperatorFilterSet, UserFilterSet
from ispbills.tenancy.forms import (
    OperatorForm,
    SetPasswordForm,
    SpecialPermissionForm,
    StaffUserForm,
    TenantForm,
)
from ispbills.tenancy.models import (
    LoginAttempt,
    Membership,
    Operator,
    OperatorLogo,
    Tenant,
    User,
)
from ispbills.tenancy.roles import ALL_PERMISSIONS, AREAS
from ispbills.tenancy.tables import LoginAttemptTable, OperatorTable, TenantTable, UserTable

# ---- operators ----------------------------------------------------------------------------


class OperatorListView(ObjectListView):
    model = Operator
    table_class = OperatorTable
    filterset_class = OperatorFilterSet
    title = _("Operators")
    add_url_name = "tenancy:operator_add"

    def base_queryset(self) -> QuerySet[Operator]:
        return Operator.objects.select_related("parent")

    def get_table_kwargs(self) -> dict[str, Any]:
        return {"show_money": access_of(self.request.user).can("money.view")}


class OperatorDetailView(ObjectDetailView):
    model = Operator
    template_name = "tenancy/operator_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        operator = self.object
        context["children"] = Operator.objects.restrict(user, "view").filter(parent=operator)
        context["staff"] = (
            Membership.objects.restrict(user, "view")
            .filter(operator=operator)
            .select_related("user")
        )
        context["may_change"] = (
            Operator.objects.restrict(user, "change").filter(pk=operator.pk).exists()
        )
        context["show_money"] = access_of(user).can("money.view")
        context["has_logo"] = OperatorLogo.objects.filter(operator=operator).exists()
        return context


class OperatorCreateView(ServiceFormView):
    model = Operator
    form_class = OperatorForm
    title = _("New operator")
    success_message = _("Operator %(object)s created.")

    def get_initial(self) -> dict[str, Any]:
        return {"parent": self.request.GET.get("parent")}

    def perform(self, form: Any) -> Operator:
        branding = form.branding()
        operator = services.create_operator(actor=self.request.user, **form.cleaned_data)
        if branding:
            services.set_operator_logo(actor=self.request.user, operator=operator, **branding)
        return operator


class OperatorEditView(ServiceFormView):
    model = Operator
    form_class = OperatorForm
    action = "change"
    title = _("Edit operator")
    success_message = _("Operator %(object)s saved.")

    def get_initial(self) -> dict[str, Any]:
        return {field: getattr(self.object, field) for field in services.OPERATOR_EDITABLE}

    def perform(self, form: Any) -> Operator:
        branding = form.branding()
        operator = services.update_operator(
            actor=self.request.user, operator=self.object, **form.cleaned_data
        )
        if branding:
            services.set_operator_logo(actor=self.request.user, operator=operator, **branding)
        return operator


class OperatorLogoView(ObjectDetailView):
    """The logo printed on an operator's bills (404 without one)."""

    model = Operator

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        operator = self.get_object()
        logo = OperatorLogo.objects.filter(operator=operator).first()
        if logo is None:
            raise Http404(_("This operator has no logo."))
        response = HttpResponse(bytes(logo.data), content_type=logo.content_type)
        response["Cache-Control"] = "private, max-age=300"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class OperatorToggleView(ObjectActionView):
    model = Operator
    title = _("Enable or disable operator")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        obj = self.get_object()
        if obj.is_active:
            self.question = str(_("Disable %(object)s? Its staff and everyone below lose access."))
            self.button, self.button_class = str(_("Disable")), "btn-danger"
        else:
            self.question = str(_("Enable %(object)s again?"))
            self.button = str(_("Enable"))
        return super().get_context_data(**kwargs)

    def perform(self, obj: Operator) -> None:
        services.set_operator_active(
            actor=self.request.user, operator=obj, active=not obj.is_active
        )


# ---- staff users --------------------------------------------------------------------------


class UserListView(ObjectListView):
    model = User
    table_class = UserTable
    filterset_class = UserFilterSet
    title = _("Staff users")
    add_url_name = "tenancy:user_add"

    def base_queryset(self) -> QuerySet[User]:
        return User.objects.select_related("membership__operator")


class UserDetailView(ObjectDetailView):
    model = User
    template_name = "tenancy/user_detail.html"

    def base_queryset(self) -> QuerySet[User]:
        return User.objects.select_related("membership__operator")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        target = self.object
        overrides = dict(target.permission_overrides.values_list("permission", "granted"))
        effective = target.access.permissions
        context["permission_rows"] = [
            (
                area,
                label,
                [
                    (
                        f"{area}.{action}",
                        f"{area}.{action}" in effective,
                        overrides.get(f"{area}.{action}"),
                    )
                    for action in ("view", "add", "change", "delete", "export")
                ],
            )
            for area, label in AREAS.items()
        ]
        context["may_change"] = (
            User.objects.restrict(self.request.user, "change").filter(pk=target.pk).exists()
        )
        context["recent_events"] = AuditEvent.objects.restrict(self.request.user, "view").filter(
            actor=target
        )[:10]
        return context


class UserCreateView(ServiceFormView):
    model = User
    form_class = StaffUserForm
    title = _("New staff user")
    success_message = _("Staff user %(object)s created.")

    def get_initial(self) -> dict[str, Any]:
        return {"operator": self.request.GET.get("operator")}

    def perform(self, form: Any) -> User:
        return services.create_staff_user(actor=self.request.user, **form.cleaned_data)


class UserEditView(ServiceFormView):
    model = User
    form_class: type[forms.Form] = StaffUserForm
    action = "change"
    title = _("Edit staff user")
    success_message = _("Staff user %(object)s saved.")

    form_kwargs = {"editing": True}

    def get_initial(self) -> dict[str, Any]:
        user = self.object
        membership = getattr(user, "membership", None)
        return {
            "role": membership.role if membership else "",
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "mobile": user.mobile or "",
            "is_active": user.is_active,
        }

    def perform(self, form: Any) -> User:
        return services.update_staff_user(
            actor=self.request.user, user=self.object, **form.cleaned_data
        )


class UserPermissionView(UserEditView):
    form_class: type[forms.Form] = SpecialPermissionForm
    form_kwargs: dict[str, Any] = {}
    title = _("Special permission")
    success_message = _("Permissions of %(object)s saved.")

    def get_initial(self) -> dict[str, Any]:
        permission = self.request.GET.get("permission", "")
        return {"permission": permission} if permission in ALL_PERMISSIONS else {}

    def perform(self, form: Any) -> User:
        state = form.cleaned_data["state"]
        granted = {"grant": True, "revoke": False}.get(state)
        services.set_special_permission(
            actor=self.request.user,
            user=self.object,
            permission=form.cleaned_data["permission"],
            granted=granted,
        )
        return self.object


class UserSetPasswordView(UserPermissionView):
    form_class = SetPasswordForm
    title = _("Set a new password")
    success_message = _("Password of %(object)s changed; their sessions were signed out.")

    def get_initial(self) -> dict[str, Any]:
        return {}

    def perform(self, form: Any) -> User:
        return services.change_password(
            actor=self.request.user,
            user=self.object,
            new_password=form.cleaned_data["new_password"],
        )


# ---- login log ----------------------------------------------------------------------------


class LoginAttemptListView(ObjectListView):
    model = LoginAttempt
    table_class = LoginAttemptTable
    filterset_class = LoginAttemptFilterSet
    title = _("Login log")


# ---- ISPs (platform super admins) ---------------------------------------------------------


class SuperadminOnlyMixin:
    """Pages of the platform itself, for super admins only."""

    @classmethod
    def allows(cls, access: Access) -> bool:
        return access.is_superadmin


class TenantListView(SuperadminOnlyMixin, ObjectListView):
    model = Tenant
    table_class = TenantTable
    filterset_class = None
    title = _("ISPs")
    add_url_name = "tenancy:tenant_add"


class TenantCreateView(SuperadminOnlyMixin, ServiceFormView):
    model = Tenant
    form_class = TenantForm
    title = _("New ISP")
    success_message = _("ISP %(object)s created.")

    def perform(self, form: Any) -> Tenant:
        return services.create_tenant(actor=self.request.user, **form.cleaned_data)

    def get_success_url_for(self, obj: Any) -> str:
        return reverse("tenancy:tenant_list")
