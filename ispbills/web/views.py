"""Panel shell pages: login, dashboard, profile, password, jobs, audit log, exports."""

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from ispbills.core import exports
from ispbills.core.access import access_of
from ispbills.core.context import client_ip
from ispbills.core.errors import DomainError, NotAllowedError
from ispbills.core.exports import AUDIT_EXPORT
from ispbills.core.filtersets import AuditEventFilterSet, JobRunFilterSet
from ispbills.core.models import AuditEvent, JobRun
from ispbills.core.registry import ExportSpec, registry
from ispbills.core.views import ObjectDetailView, ObjectListView
from ispbills.reports.registry import get_report
from ispbills.reports.views import chart_data
from ispbills.tenancy import services as tenancy_services
from ispbills.tenancy.auth import find_user
from ispbills.tenancy.middleware import SELECTED_TENANT_KEY
from ispbills.tenancy.models import ApiToken, LoginAttempt, Operator, Tenant, User
from ispbills.web.forms import LoginForm, PasswordChangeForm, TokenForm
from ispbills.web.navigation import unresolved_disconnects
from ispbills.web.tables import AuditEventTable, JobRunTable


def _staff(request: HttpRequest) -> User:
    """The signed-in staff user (these views are never reached anonymously)."""
    return cast(User, request.user)


@method_decorator(login_not_required, name="dispatch")
class LoginView(View):
    """Login by username or mobile, throttled per username and per address."""

    template_name = "web/login.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            return redirect("web:dashboard")
        return render(request, self.template_name, {"form": LoginForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = LoginForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        username = form.cleaned_data["username"]
        ip = client_ip(request.META)
        agent = request.META.get("HTTP_USER_AGENT", "")
        known = find_user(username)
        if tenancy_services.login_blocked(username, ip, known):
            tenancy_services.record_login_attempt(
                username=username,
                user=known,
                success=False,
                reason="throttled",
                ip=ip,
                user_agent=agent,
            )
            form.add_error(None, _("Too many failed attempts. Wait 15 minutes and try again."))
            return render(request, self.template_name, {"form": form}, status=429)
        from django.contrib.auth import authenticate

        user = authenticate(request, username=username, password=form.cleaned_data["password"])
        if user is None:
            reason = "bad_password" if known is not None else "unknown_user"
            if known is not None and known.check_password(form.cleaned_data["password"]):
                reason = "disabled"
            tenancy_services.record_login_attempt(
                username=username, user=known, success=False, reason=reason, ip=ip, user_agent=agent
            )
            message = (
                _("Your account or your ISP is disabled.")
                if reason == "disabled"
                else _("Wrong username/mobile or password.")
            )
            form.add_error(None, message)
            return render(request, self.template_name, {"form": form}, status=400)
        login(request, user)
        tenancy_services.record_login_attempt(
            username=username,
            user=user,
            success=True,
            ip=ip,
            user_agent=agent,
        )
        target = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
            target = ""
        return redirect(target or "web:dashboard")


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("web:login")


class DashboardView(TemplateView):
    """Real counts of what this user may see."""

    template_name = "web/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        access = access_of(user)
        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        cards = []
        if access.can("operators.view"):
            operators = Operator.objects.restrict(user, "view")
            cards.append(
                (
                    _("Operators"),
                    operators.exclude(kind=Operator.Kind.ROOT).count(),
                    "diagram-3",
                    "tenancy:operator_list",
                )
            )
        if access.can("users.view"):
            cards.append(
                (
                    _("Staff users"),
                    User.objects.restrict(user, "view").count(),
                    "people",
                    "tenancy:user_list",
                )
            )
        if access.can("audit.view"):
            cards.append(
                (
                    _("Audit events today"),
                    AuditEvent.objects.restrict(user, "view").filter(at__gte=today).count(),
                    "journal-text",
                    "web:audit_list",
                )
            )
            cards.append(
                (
                    _("Failed logins today"),
                    LoginAttempt.objects.restrict(user, "view")
                    .filter(at__gte=today, success=False)
                    .count(),
                    "shield-lock",
                    "tenancy:login_attempt_list",
                )
            )
        if access.can("jobs.view"):
            cards.append(
                (
                    _("Jobs running"),
                    JobRun.objects.restrict(user, "view")
                    .filter(status__in=[JobRun.Status.QUEUED, JobRun.Status.RUNNING])
                    .count(),
                    "hourglass-split",
                    "web:job_list",
                )
            )
        context["cards"] = cards
        unresolved = unresolved_disconnects(access)
        if unresolved:
            context["alerts"] = [
                (
                    _("%(n)s disconnects were not confirmed by accounting.") % {"n": unresolved},
                    reverse("radius:disconnect_list") + "?status=unresolved",
                )
            ]
        if access.can("audit.view"):
            context["recent_events"] = AuditEvent.objects.restrict(user, "view")[:8]
        chart = get_report("bills-vs-payments")
        if chart is not None and chart.allows(access):
            context["chart"] = chart_data(chart.run(access, {"operator": None}))
        return context


class ProfileView(TemplateView):
    """The user's own details, API tokens, and the password form link."""

    template_name = "web/profile.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["membership"] = getattr(user, "membership", None)
        context["tokens"] = ApiToken.objects.filter(user=_staff(self.request))
        context["token_form"] = kwargs.get("token_form") or TokenForm()
        context["new_token"] = kwargs.get("new_token")
        return context

    def post(self, request: HttpRequest) -> HttpResponse:
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                _token, plain = tenancy_services.create_api_token(
                    actor=request.user, user=_staff(request), name=form.cleaned_data["name"]
                )
            except DomainError as exc:
                form.add_error("name", exc.message)
            else:
                return self.render_to_response(self.get_context_data(new_token=plain))
        return self.render_to_response(self.get_context_data(token_form=form), status=400)


@require_POST
def revoke_token_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=_staff(request).pk)
    tenancy_services.revoke_api_token(actor=request.user, token=token)
    messages.success(request, _("Token revoked."))
    return redirect("web:profile")


class PasswordChangeView(View):
    """Change one's own password; other sessions end, this one stays signed in."""

    template_name = "web/password_change.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": PasswordChangeForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PasswordChangeForm(request.POST)
        if form.is_valid():
            try:
                tenancy_services.change_password(
                    actor=request.user,
                    user=_staff(request),
                    old_password=form.cleaned_data["old_password"],
                    new_password=form.cleaned_data["new_password"],
                )
            except DomainError as exc:
                for field, errors in exc.fields.items():
                    target = "new_password" if field == "password" else field
                    for error in errors:
                        form.add_error(target if target in form.fields else None, error)
            else:
                update_session_auth_hash(request, _staff(request))
                messages.success(request, _("Password changed. Other sessions were signed out."))
                return redirect("web:profile")
        return render(request, self.template_name, {"form": form}, status=400)


@require_POST
def switch_tenant_view(request: HttpRequest) -> HttpResponse:
    """Super admins pick the ISP they act for (or all ISPs)."""
    if not access_of(request.user).is_superadmin:
        raise PermissionDenied
    value = request.POST.get("tenant", "")
    if value:
        tenant = get_object_or_404(Tenant, pk=value)
        request.session[SELECTED_TENANT_KEY] = tenant.pk
    else:
        request.session.pop(SELECTED_TENANT_KEY, None)
    return redirect("web:dashboard")


# ---- jobs ---------------------------------------------------------------------------------


class JobListView(ObjectListView):
    model = JobRun
    table_class = JobRunTable
    filterset_class = JobRunFilterSet
    title = gettext_lazy("Background jobs")


class JobDetailView(ObjectDetailView):
    model = JobRun
    template_name = "web/job_detail.html"

    def get_template_names(self) -> list[str]:
        if getattr(self.request, "htmx", False):
            return ["web/partials/job_progress.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        run = self.object
        context["may_download"] = bool(
            run.result.get("file") and access_of(self.request.user).can(run.result_permission)
        )
        return context


class JobDownloadView(ObjectDetailView):
    """The file a job produced, for users who may see the job and its kind of result."""

    model = JobRun

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        run = self.get_object()
        if run.result_permission and not access_of(request.user).can(run.result_permission):
            raise PermissionDenied
        name = str(run.result.get("file") or "")
        fmt = name.rsplit(".", 1)[-1]
        # Only the run's own file (export-<id>.csv/.xlsx/.zip), never a path taken from elsewhere.
        if fmt not in exports.DOWNLOAD_FORMATS or name != exports.export_path(run.pk, fmt).name:
            raise Http404(_("This job has no file to download."))
        path = exports.export_path(run.pk, fmt)
        if run.status != JobRun.Status.SUCCEEDED or not path.exists():
            raise Http404(_("This job has no file to download."))
        response: Any = FileResponse(path.open("rb"), as_attachment=True, filename=name)
        return cast(HttpResponse, response)


@require_POST
def export_start_view(request: HttpRequest, name: str) -> HttpResponse:
    """Queue an export of a list with the filters on screen; shows the job's progress page."""
    spec: ExportSpec | None = registry.exports.get(name)
    if spec is None:
        raise Http404
    columns = request.POST.getlist("columns") or None
    fmt = request.POST.get("format", "csv")
    filters = {
        key: value
        for key, value in request.POST.dict().items()
        if key not in {"csrfmiddlewaretoken", "columns", "format"}
    }
    try:
        run = exports.start_export(
            actor=request.user, spec=spec, filters=filters, columns=columns, fmt=fmt
        )
    except NotAllowedError as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        back = request.META.get("HTTP_REFERER", "")
        safe = url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure())
        return redirect(back if safe and back else "web:dashboard")
    return redirect("web:job_detail", pk=run.pk)


# ---- audit --------------------------------------------------------------------------------


class AuditListView(ObjectListView):
    model = AuditEvent
    table_class = AuditEventTable
    filterset_class = AuditEventFilterSet
    title = gettext_lazy("Audit log")
    export = AUDIT_EXPORT


class AuditDetailView(ObjectDetailView):
    model = AuditEvent
    template_name = "web/audit_detail.html"
