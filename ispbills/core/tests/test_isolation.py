"""Every panel view and API endpoint, walked with another tenant's and another subtree's rows."""

import contextlib
from typing import Any

import pytest
from django.apps import apps
from django.test import Client

from ispbills.core.api import ScopedGenericViewSet
from ispbills.core.jobs import Progress
from ispbills.core.models import JobRun
from ispbills.core.registry import registry
from ispbills.core.scoping import scoped_models
from ispbills.core.testing.isolation import (
    MAKERS,
    TENANT_WIDE,
    check_export_hidden,
    check_hidden,
    client_as,
    label_of,
    load_makers,
    new_marker,
    registered_endpoints,
)

load_makers()
ENDPOINTS = registered_endpoints()
OBJECT_ENDPOINTS = [endpoint for endpoint in ENDPOINTS if endpoint.model is not None]
LIST_ENDPOINTS = [
    endpoint for endpoint in OBJECT_ENDPOINTS if endpoint.kind in {"list", "api-list"}
]
FORM_ENDPOINTS = [endpoint for endpoint in OBJECT_ENDPOINTS if endpoint.kind in {"form", "edit"}]

# (viewer, owner of the hidden row): another tenant, a sibling subtree, and the reverse.
SCENARIOS = {
    "reseller-vs-other-isp": ("bob", "globex_east"),
    "reseller-vs-sibling-reseller": ("bob", "south"),
    "other-isp-admin-vs-acme": ("mallory", "south"),
}


def test_every_url_is_classified_by_the_kit() -> None:
    unknown = [f"{e.name} ({e.route})" for e in ENDPOINTS if e.kind == "unknown"]
    assert unknown == [], "build these on the scoped base views or list them in OPEN_PAGES"


def test_every_scoped_model_has_a_maker() -> None:
    missing = [model._meta.label for model in scoped_models() if model not in MAKERS]
    assert missing == [], "register a @maker for each in <app>/tests/makers.py"


def test_every_scoped_viewset_is_routed() -> None:
    for app in apps.get_app_configs():
        if app.name.startswith("ispbills."):
            with contextlib.suppress(ModuleNotFoundError):
                __import__(f"{app.name}.api.v1.viewsets")

    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        return found.union(*(subclasses(sub) for sub in found)) if found else found

    concrete = {
        cls
        for cls in subclasses(ScopedGenericViewSet)
        if getattr(cls, "queryset", None) is not None
    }
    routed = {endpoint.view for endpoint in ENDPOINTS if endpoint.kind.startswith("api")}
    assert sorted(cls.__name__ for cls in concrete - routed) == []


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("endpoint", OBJECT_ENDPOINTS, ids=str)
def test_endpoint_hides_rows_of_others(
    endpoint: Any, scenario: str, cast: Any, api_for: Any
) -> None:
    viewer_name, owner_operator = SCENARIOS[scenario]
    if endpoint.model in TENANT_WIDE and owner_operator == "south":
        pytest.skip("rows of the whole ISP are shared by its subtrees")
    viewer = getattr(cast, viewer_name)
    hidden = MAKERS[endpoint.model](getattr(cast, owner_operator), new_marker())

    problems = check_hidden(
        endpoint, client_as(viewer), client_as(cast.zed), hidden, api_for(viewer), api_for(cast.zed)
    )

    assert problems == []


@pytest.mark.parametrize("endpoint", FORM_ENDPOINTS, ids=str)
def test_forms_offer_no_choice_of_others(endpoint: Any, cast: Any) -> None:
    # Rows of the whole ISP are edited by its group admin, who may see every subtree; the
    # rest by bob, a reseller, who may see neither a sibling reseller's rows nor Globex's.
    tenant_wide = endpoint.model in TENANT_WIDE
    viewer = cast.alice if tenant_wide else cast.bob
    others = (cast.globex_east,) if tenant_wide else (cast.globex_east, cast.south)
    hidden = [
        make(operator, new_marker())
        for model, make in MAKERS.items()
        for operator in others
        if not (model in TENANT_WIDE and operator == cast.south)
    ]
    own_operator = cast.acme_root if tenant_wide else cast.north
    own = MAKERS[endpoint.model](own_operator, new_marker()) if endpoint.kind == "edit" else None

    page = client_as(viewer).get(endpoint.url(own.pk if own else None))

    assert page.status_code in {200, 403}
    text = page.content.decode()
    assert [label_of(obj) for obj in hidden if label_of(obj) in text] == []


@pytest.mark.parametrize("spec", list(registry.exports.values()), ids=lambda spec: spec.name)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_exports_hide_rows_of_others(
    spec: Any, scenario: str, cast: Any, settings: Any, tmp_path: Any
) -> None:
    settings.EXPORT_ROOT = tmp_path
    viewer_name, owner_operator = SCENARIOS[scenario]
    hidden = MAKERS[spec.model](getattr(cast, owner_operator), new_marker())
    progress = Progress(JobRun.objects.create(kind="test", label="export").pk)

    problems = check_export_hidden(spec, getattr(cast, viewer_name), cast.zed, hidden, progress)

    assert problems == []


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.kind != "open"], ids=str)
def test_anonymous_is_sent_to_login_or_refused(endpoint: Any, db: Any) -> None:
    url = endpoint.url(1 if "pk" in endpoint.route else None)

    response = Client().get(url)

    if endpoint.kind.startswith("api"):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


ROLE_USERS = ["alice", "bob", "sam", "carol", "nina", "dave", "ann", "mallory", "zed"]


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS, ids=str)
def test_each_role_gets_exactly_the_lists_its_permissions_allow(
    endpoint: Any, cast: Any, api_for: Any
) -> None:
    outcomes = {}
    for name in ROLE_USERS:
        user = cast.fresh(getattr(cast, name))
        if endpoint.kind == "api-list":
            status = api_for(user).get(endpoint.url()).status_code
        else:
            status = client_as(user).get(endpoint.url()).status_code
        outcomes[name] = status

    expected = {
        name: 200 if endpoint.allows(cast.fresh(getattr(cast, name)).access) else 403
        for name in ROLE_USERS
    }
    assert outcomes == expected
