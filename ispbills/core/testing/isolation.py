"""The isolation kit: walks every panel view and API endpoint and proves it leaks nothing.

``registered_endpoints()`` classifies every URL pattern. Views built on the base classes
(ScopedViewMixin, ScopedViewSetMixin) are object endpoints with a model; pages that show no
tenant-owned rows are listed in ``OPEN_PAGES`` with the reason. Anything else is reported by
the meta-test, so a new endpoint cannot slip in unchecked.

Each scoped model registers a *maker* (``@maker(Model)`` in ``<app>/tests/makers.py``) that
creates one row owned by a given operator whose ``str()`` carries a unique marker; the checks
look for that marker in what a viewer gets back, and for a positive control in what the
platform super admin gets back (so a check can never pass because the page shows nothing).
"""

import importlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db.models import Model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from ispbills.core.api import ScopedGenericViewSet
from ispbills.core.models import AuditEvent
from ispbills.core.views import (
    ObjectActionView,
    ObjectDetailView,
    ObjectListView,
    ScopedViewMixin,
    ServiceFormView,
)

# Pages that show no tenant-owned rows of anyone but the user, and why.
OPEN_PAGES: dict[str, str] = {
    "web:login": "the login form",
    "web:logout": "ends the user's own session",
    "web:dashboard": "counts computed with restrict(); covered by the dashboard tests",
    "web:profile": "the user's own details and tokens (filtered by user=request.user)",
    "web:password_change": "the user's own password",
    "web:token_revoke": "get_object_or_404(ApiToken, user=request.user)",
    "web:switch_tenant": "super admins only",
    "web:export_start": "queues an export that restricts in the job; exports are checked below",
    "set_language": "the language cookie",
    "api-schema": "the OpenAPI document, no data",
    "api-docs": "the API docs page, no data",
    "api-v1:me": "the user's own record",
    "customers:customer_bulk": "its form narrows choices like every ScopedForm; the POST goes "
    "through restrict(change) and the service; covered by the bulk tests",
    "customers:customer_mac_bind": "resolves usernames through restrict(change); covered by "
    "the bulk tests",
    "customers:customer_export": "queues an export that restricts in the job (exports below)",
    "billing:vat_report": "sums of Bill.objects.restrict() narrowed like the bill list; covered "
    "by the VAT report tests",
    "billing:settings": "the settings of the user's own ISP (access.tenant_id), group admins "
    "only; covered by the billing settings tests",
    "billing:bill_bulk_void": "counts and queues bills found through restrict(change); the "
    "job restricts again; covered by the bulk billing tests",
    "billing:bill_bulk_generate": "counts and queues customers found through restrict(); the "
    "job restricts again; covered by the bulk billing tests",
    "api-v1:bill-bulk-void": "queues a job like billing:bill_bulk_void",
    "api-v1:bill-bulk-issue": "queues a job like billing:bill_bulk_generate",
    "reports:report_list": "names the reports the user may run, no rows",
    "reports:report_detail": "sums of rows found through restrict(), narrowed to a subtree "
    "chosen from restricted choices; covered by the report scoping tests",
    "api-v1:report-list": "like reports:report_list",
    "api-v1:report-detail": "like reports:report_detail",
    "payments:gateway_return": "a provider's browser return: no login by design, finds the "
    "attempt by its references and confirms with the provider; covered by the gateway tests",
    "payments:gateway_ipn": "a provider's server notification, as payments:gateway_return",
    "payments:gateway_page": "the payer's own attempt behind a signed token (a provider's "
    "script runs there); covered by the bKash Checkout tests",
    "payments:gateway_action": "POST only, CSRF-protected, acts on the attempt its signed "
    "token names (403 otherwise); covered by the bKash Checkout tests",
    "payments:attempt_result": "the payer's own attempt behind a signed token; covered by the "
    "payment link tests",
    "payments:pay_link": "the public payment page behind a signed, expiring token; covered by "
    "the payment link tests",
    "api-v1:card-redeem": "finds the customer through restrict() (404 otherwise) and the card "
    "by its PIN within that customer's ISP and operators above it; covered by the card tests",
    "api-v1:card-void": "voids only cards found through restrict(delete); covered by the card "
    "tests",
    "customers:replace": "finds the package/profile through restrict(); the job restricts the "
    "customers; covered by the replacement tests",
}

# Detail endpoints where even the super admin gets no 200 for a fresh row, and why.
NO_POSITIVE_DETAIL: dict[str, str] = {
    "cards:cardbatch_vouchers": "shows PINs, so a print is audited (a write the kit would count); "
    "scoped like the batch detail; its PDF is checked in the card view tests",
    "web:job_download": "serves only finished runs that produced a file",
    "tenancy:operator_logo": "serves only operators that have a logo (the others get 404); "
    "its scoping is the operator detail's, checked in the branding tests",
}

MAKERS: dict[type[Model], Callable[[Any, str], Model]] = {}
# Models whose rows belong to the whole ISP (made at its root whatever operator is given):
# isolation between ISPs applies to them, isolation between sibling subtrees does not.
TENANT_WIDE: set[type[Model]] = set()


def maker(
    model: type[Model], *, tenant_wide: bool = False
) -> Callable[[Callable[[Any, str], Model]], Callable[[Any, str], Model]]:
    """Register how to make one row of ``model`` owned by an operator, labelled with a marker."""

    def register(function: Callable[[Any, str], Model]) -> Callable[[Any, str], Model]:
        MAKERS[model] = function
        if tenant_wide:
            TENANT_WIDE.add(model)
        return function

    return register


def load_makers() -> dict[type[Model], Callable[[Any, str], Model]]:
    for app in apps.get_app_configs():
        if app.name.startswith("ispbills."):
            try:
                importlib.import_module(f"{app.name}.tests.makers")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app.name}.tests.makers" and exc.name != f"{app.name}.tests":
                    raise
    return MAKERS


@dataclass(frozen=True)
class Endpoint:
    name: str
    route: str
    kind: str  # list | detail | form | edit | action | api-list | api-detail | open | unknown
    view: Any = None
    model: Any = None
    api_actions: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name

    def url(self, pk: Any = None) -> str:
        # Views whose URLs carry more than the pk name sample values (isolation_url_kwargs).
        extra = dict(getattr(self.view, "isolation_url_kwargs", {}))
        kwargs = {"pk": pk, **extra} if pk is not None else extra
        return reverse(self.name, kwargs=kwargs or None)

    def allows(self, access: Any) -> bool:
        if self.kind.startswith("api"):
            return bool(access.can(self.model.permission("view")))
        return bool(self.view.allows(access))


def _walk(patterns: list[Any], namespace: str = "", prefix: str = "") -> list[tuple[str, str, Any]]:
    found = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            full_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            found += _walk(entry.url_patterns, full_ns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            found.append((name, prefix + str(entry.pattern), entry))
    return found


def classify(name: str, route: str, pattern: URLPattern) -> Endpoint:
    callback = pattern.callback
    has_pk = "<int:pk>" in route or "(?P<pk>" in route
    viewset = getattr(callback, "cls", None)
    view_class = getattr(callback, "view_class", None)
    if name in OPEN_PAGES:
        return Endpoint(name, route, "open", view_class or viewset)
    if viewset is not None and issubclass(viewset, ScopedGenericViewSet):
        kind = "api-detail" if has_pk else "api-list"
        return Endpoint(
            name,
            route,
            kind,
            viewset,
            viewset.queryset.model,
            dict(getattr(callback, "actions", {}) or {}),
        )
    if view_class is not None and issubclass(view_class, ScopedViewMixin):
        model = view_class.scoped_model()
        if issubclass(view_class, ObjectListView):
            kind = "list"
        elif issubclass(view_class, ServiceFormView):
            kind = "edit" if has_pk else "form"
        elif issubclass(view_class, ObjectActionView):
            kind = "action"
        elif issubclass(view_class, ObjectDetailView):
            kind = "detail"
        else:
            kind = "unknown"
        return Endpoint(name, route, kind, view_class, model)
    return Endpoint(name, route, "unknown", view_class or viewset)


def registered_endpoints(urlconf: str | None = None) -> list[Endpoint]:
    """Every named URL of the project (or of ``urlconf``), classified."""
    resolver = get_resolver(urlconf)
    return [classify(name, route, pattern) for name, route, pattern in _walk(resolver.url_patterns)]


# ---- checks: each returns a list of problems (empty = isolated) --------------------------


def new_marker() -> str:
    return f"LEAK{uuid.uuid4().hex[:10]}"


def _text(response: Any) -> str:
    content = getattr(response, "content", b"")
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    return content.decode("utf-8", "replace")


def _json(response: Any) -> str:
    return json.dumps(response.json()) if response.content else ""


def check_hidden(
    endpoint: Endpoint,
    viewer_client: Any,
    owner_client: Any,
    obj: Model,
    viewer_api: Any = None,
    owner_api: Any = None,
) -> list[str]:
    """``obj`` (another tenant's or subtree's) must not reach the viewer through ``endpoint``."""
    marker = _marker_of(obj)
    problems: list[str] = []
    audit_before = AuditEvent.objects.count()
    if endpoint.kind in {"list", "form"}:
        seen = _text(viewer_client.get(endpoint.url()))
        if marker in seen:
            problems.append(f"{endpoint}: the viewer's page shows {obj!r}")
        if endpoint.kind == "list":
            control = owner_client.get(endpoint.url())
            if marker not in _text(control):
                problems.append(
                    f"{endpoint}: positive control failed, super admin cannot see {obj!r}"
                )
    elif endpoint.kind in {"detail", "edit", "action"}:
        url = endpoint.url(obj.pk)
        for method in ("get", "post"):
            if method == "post" and endpoint.kind == "detail":
                continue
            response = getattr(viewer_client, method)(url)
            if response.status_code not in {403, 404}:
                problems.append(
                    f"{endpoint}: {method.upper()} of another's object gave "
                    f"{response.status_code}, not 404/403"
                )
        if endpoint.kind == "detail" and endpoint.name not in NO_POSITIVE_DETAIL:
            control = owner_client.get(url)
            if control.status_code != 200:
                problems.append(
                    f"{endpoint}: positive control failed, super admin got {control.status_code}"
                )
    elif endpoint.kind == "api-list":
        seen = _json(viewer_api.get(endpoint.url())) if viewer_api else ""
        if marker in seen:
            problems.append(f"{endpoint}: the viewer's API list includes {obj!r}")
        if marker not in _json(owner_api.get(endpoint.url())):
            problems.append(f"{endpoint}: positive control failed, super admin cannot list {obj!r}")
    elif endpoint.kind == "api-detail":
        url = endpoint.url(obj.pk)
        # Every method the route maps (retrieve, update, destroy and @actions such as suspend).
        for method in endpoint.api_actions:
            response = getattr(viewer_api, method)(url, {}, format="json")
            if response.status_code not in {403, 404}:
                problems.append(
                    f"{endpoint}: {method.upper()} of another's object gave "
                    f"{response.status_code}, not 404/403"
                )
        if "retrieve" in endpoint.api_actions.values() and owner_api.get(url).status_code != 200:
            problems.append(f"{endpoint}: positive control failed for the super admin")
    if AuditEvent.objects.count() != audit_before:
        problems.append(f"{endpoint}: refused requests wrote audit rows (something changed)")
    return problems


def check_export_hidden(spec: Any, viewer: Any, owner: Any, obj: Model, progress: Any) -> list[str]:
    """The export job, run for the viewer, must not contain another's row."""
    from ispbills.core.exports import export_path, write_export

    marker = _marker_of(obj)
    problems = []
    for user, should_see in ((viewer, False), (owner, True)):
        write_export(progress=progress, export=spec.name, filters={}, user=user)
        content = export_path(progress.run_id).read_text(encoding="utf-8-sig")
        if (marker in content) != should_see:
            who = "viewer sees" if not should_see else "positive control: owner cannot see"
            problems.append(f"export {spec.name}: {who} {obj!r}")
    return problems


def label_of(obj: Model) -> str:
    """What marks a made row in a page: its ``isolation_label`` when its ``str()`` cannot
    carry the marker (a bill's str is its per-ISP number, shared by bills of other ISPs)."""
    return str(getattr(obj, "isolation_label", None) or obj)


def _marker_of(obj: Model) -> str:
    text = label_of(obj)
    start = text.find("LEAK")
    if start < 0:
        raise AssertionError(f"maker for {type(obj).__name__} made {text!r} without its marker")
    return text[start : start + 14]


def client_as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client
