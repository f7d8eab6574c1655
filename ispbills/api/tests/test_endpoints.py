"""The v1 endpoints: me, operators, users, audit events, jobs, pagination and the schema."""

import json
import re
from decimal import Decimal
from typing import Any

from django.contrib.auth import authenticate
from rest_framework.test import APIClient

from ispbills.core import audit
from ispbills.core.models import AuditEvent, JobRun
from ispbills.tenancy import services
from ispbills.tenancy.models import Membership, Operator, User

ME = "/api/v1/me/"
OPERATORS = "/api/v1/operators/"
USERS = "/api/v1/users/"
AUDIT = "/api/v1/audit-events/"
JOBS = "/api/v1/jobs/"
NEW_PASSWORD = "Sturdy-new-pass-42"


def names(response: Any) -> set[str]:
    return {row["name"] for row in response.json()["results"]}


# ---- me ---------------------------------------------------------------------------------


def test_me_names_the_user_their_tenant_and_permissions(cast: Any, api_for: Any) -> None:
    bob = cast.fresh(cast.bob)

    response = api_for(bob).get(ME)

    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "bob"
    assert body["role"] == "operator_admin"
    assert body["operator"] == cast.north.pk
    assert body["tenant"] == cast.acme.pk
    assert body["permissions"] == sorted(bob.access.permissions)
    assert "operators.add" in body["permissions"]
    assert "tenant.change" not in body["permissions"]
    assert body["is_superadmin"] is False


def test_me_reflects_a_revoked_special_permission(cast: Any, api_for: Any) -> None:
    services.set_special_permission(
        actor=None, user=cast.carol, permission="money.view", granted=False
    )
    carol = cast.fresh(cast.carol)

    body = api_for(carol).get(ME).json()

    assert "money.view" not in body["permissions"]
    assert body["permissions"] == sorted(carol.access.permissions)


def test_me_marks_the_platform_super_admin(cast: Any, api_for: Any) -> None:
    response = api_for(cast.zed).get(ME)

    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "zed"
    assert body["is_superadmin"] is True
    assert body["tenant"] is None
    assert body["role"] is None


# ---- operators --------------------------------------------------------------------------


def test_reseller_lists_only_his_own_subtree(cast: Any, api_for: Any) -> None:
    response = api_for(cast.bob).get(OPERATORS)

    assert response.status_code == 200
    assert names(response) == {"Acme North", "North Point"}


def test_group_admin_lists_every_operator_of_the_isp(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).get(OPERATORS)

    assert response.status_code == 200
    assert names(response) == {"Acme", "Acme North", "North Point", "Acme South"}


def test_money_fields_are_shown_to_a_user_with_money_view(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).get(f"{OPERATORS}{cast.north.pk}/")

    assert response.status_code == 200
    assert response.json()["credit_limit"] == "10000.00"
    assert response.json()["balance"] == "0.00"


def test_money_fields_are_hidden_once_money_view_is_revoked(cast: Any, api_for: Any) -> None:
    services.set_special_permission(
        actor=None, user=cast.bob, permission="money.view", granted=False
    )

    listing = api_for(cast.bob).get(OPERATORS)
    detail = api_for(cast.bob).get(f"{OPERATORS}{cast.north_point.pk}/")

    assert listing.status_code == 200
    assert len(listing.json()["results"]) == 2
    for row in [*listing.json()["results"], detail.json()]:
        assert "credit_limit" not in row
        assert "balance" not in row
        assert "name" in row


def test_filters_operators_by_kind(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).get(OPERATORS, {"kind": "operator"})

    assert response.status_code == 200
    assert names(response) == {"Acme North", "Acme South"}


def test_searches_operators_by_name(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).get(OPERATORS, {"q": "North"})

    assert response.status_code == 200
    assert names(response) == {"Acme North", "North Point"}


def test_reseller_cannot_add_below_a_sub_operator(cast: Any, api_for: Any) -> None:
    before = Operator.objects.count()

    response = api_for(cast.bob).post(
        OPERATORS, {"parent": cast.north_point.pk, "name": "Point Corner"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "Sub-operators cannot have operators below them."
    )
    assert Operator.objects.count() == before
    assert not AuditEvent.objects.filter(verb="operator.created", actor=cast.bob).exists()


def test_reseller_adds_a_sub_operator_below_his_node(cast: Any, api_for: Any) -> None:
    response = api_for(cast.bob).post(
        OPERATORS,
        {"parent": cast.north.pk, "name": "North Hill", "credit_limit": "500"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "sub_operator"
    assert body["parent"] == cast.north.pk
    assert body["name"] == "North Hill"
    created = Operator.objects.get(pk=body["id"])
    assert created.tenant_id == cast.acme.pk
    assert created.path == f"{cast.north.path}{created.pk}/"
    assert created.credit_limit == Decimal("500.00")
    event = AuditEvent.objects.get(verb="operator.created", object_id=str(created.pk))
    assert event.actor_id == cast.bob.pk
    assert event.actor_label == "bob"
    assert event.tenant_id == cast.acme.pk
    assert event.changes == {
        "name": "North Hill",
        "kind": "sub_operator",
        "account_type": "debit",
        "credit_limit": "500.00",
    }


def test_reseller_sees_the_sub_operator_he_added(cast: Any, api_for: Any) -> None:
    api = api_for(cast.bob)

    created = api.post(OPERATORS, {"parent": cast.north.pk, "name": "North Hill"}, format="json")
    listing = api.get(OPERATORS)

    assert created.status_code == 201
    assert names(listing) == {"Acme North", "North Point", "North Hill"}


def test_reseller_cannot_pick_a_sibling_reseller_as_parent(cast: Any, api_for: Any) -> None:
    before = Operator.objects.count()

    response = api_for(cast.bob).post(
        OPERATORS, {"parent": cast.south.pk, "name": "South Annex"}, format="json"
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["parent"]
    assert Operator.objects.count() == before
    assert not Operator.objects.filter(name="South Annex").exists()


def test_reseller_cannot_change_his_own_node(cast: Any, api_for: Any) -> None:
    response = api_for(cast.bob).patch(
        f"{OPERATORS}{cast.north.pk}/", {"credit_limit": "999999", "name": "Mine"}, format="json"
    )

    assert response.status_code in {403, 404}
    north = Operator.objects.get(pk=cast.north.pk)
    assert north.credit_limit == Decimal("10000.00")
    assert north.name == "Acme North"
    assert not AuditEvent.objects.filter(verb="operator.updated").exists()


def test_reseller_changes_a_node_below_his_own(cast: Any, api_for: Any) -> None:
    response = api_for(cast.bob).patch(
        f"{OPERATORS}{cast.north_point.pk}/", {"address": "12 Hill Road"}, format="json"
    )

    assert response.status_code == 200
    assert Operator.objects.get(pk=cast.north_point.pk).address == "12 Hill Road"


def test_group_admin_changes_a_credit_limit_with_an_audit_row(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).patch(
        f"{OPERATORS}{cast.north.pk}/", {"credit_limit": "25000"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["credit_limit"] == "25000.00"
    assert Operator.objects.get(pk=cast.north.pk).credit_limit == Decimal("25000.00")
    event = AuditEvent.objects.get(verb="operator.updated")
    assert event.actor_id == cast.alice.pk
    assert event.object_id == str(cast.north.pk)
    assert event.changes == {"credit_limit": ["10000.00", "25000.00"]}


def test_parent_cannot_be_changed_by_a_patch(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).patch(
        f"{OPERATORS}{cast.north_point.pk}/", {"parent": cast.south.pk}, format="json"
    )

    # Moving a node would need its whole subtree re-pathed; the field is read-only on update.
    assert response.status_code in {200, 400}
    point = Operator.objects.get(pk=cast.north_point.pk)
    assert point.parent_id == cast.north.pk
    assert point.path == f"{cast.north.path}{point.pk}/"


def test_a_full_update_accepts_the_record_as_read(cast: Any, api_for: Any) -> None:
    api = api_for(cast.alice)
    record = api.get(f"{OPERATORS}{cast.north_point.pk}/").json()
    record["address"] = "12 Hill Road"

    response = api.put(f"{OPERATORS}{cast.north_point.pk}/", record, format="json")

    assert response.status_code == 200
    assert response.json()["address"] == "12 Hill Road"
    point = Operator.objects.get(pk=cast.north_point.pk)
    assert (point.address, point.parent_id) == ("12 Hill Road", cast.north.pk)


def test_balance_cannot_be_written_through_the_api(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).patch(
        f"{OPERATORS}{cast.north.pk}/", {"balance": "1000000"}, format="json"
    )

    assert response.status_code == 200
    assert Operator.objects.get(pk=cast.north.pk).balance == Decimal("0.00")


# ---- users ------------------------------------------------------------------------------


def test_reseller_lists_only_users_of_his_subtree(cast: Any, api_for: Any) -> None:
    response = api_for(cast.bob).get(USERS)

    assert response.status_code == 200
    rows = response.json()["results"]
    assert {row["username"] for row in rows} == {"bob", "sam"}
    assert {row["operator"] for row in rows} == {cast.north.pk, cast.north_point.pk}


def test_user_list_never_shows_password_hashes(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).get(USERS)

    assert response.status_code == 200
    assert all("password" not in row for row in response.json()["results"])
    assert "md5$" not in response.content.decode()


def test_reseller_cannot_appoint_a_group_admin(cast: Any, api_for: Any) -> None:
    before = User.objects.count()

    response = api_for(cast.bob).post(
        USERS,
        {
            "operator": cast.north.pk,
            "role": "group_admin",
            "username": "boss",
            "password": NEW_PASSWORD,
        },
        format="json",
    )

    assert response.status_code in {400, 403}
    assert "role" in response.json()["error"]["fields"]
    assert User.objects.count() == before
    assert not User.objects.filter(username="boss").exists()


def test_reseller_cannot_add_a_user_at_the_isp_root(cast: Any, api_for: Any) -> None:
    before = User.objects.count()

    response = api_for(cast.bob).post(
        USERS,
        {
            "operator": cast.acme_root.pk,
            "role": "group_admin",
            "username": "boss",
            "password": NEW_PASSWORD,
        },
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["operator"]
    assert User.objects.count() == before


def test_reseller_adds_a_manager_who_can_log_in(cast: Any, api_for: Any) -> None:
    response = api_for(cast.bob).post(
        USERS,
        {
            "operator": cast.north_point.pk,
            "role": "manager",
            "username": "pia",
            "password": NEW_PASSWORD,
            "first_name": "Pia",
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "pia"
    assert body["role"] == "manager"
    assert body["operator"] == cast.north_point.pk
    assert "password" not in body
    membership = Membership.objects.get(user__username="pia")
    assert (membership.operator_id, membership.role) == (cast.north_point.pk, "manager")
    assert authenticate(None, username="pia", password=NEW_PASSWORD) == membership.user
    event = AuditEvent.objects.get(verb="user.created", object_id=str(body["id"]))
    assert event.actor_id == cast.bob.pk
    assert api_for(membership.user).get(ME).json()["operator"] == cast.north_point.pk


def test_refuses_a_username_taken_in_another_case(cast: Any, api_for: Any) -> None:
    before = User.objects.count()

    response = api_for(cast.bob).post(
        USERS,
        {
            "operator": cast.north_point.pk,
            "role": "manager",
            "username": "SAM",
            "password": NEW_PASSWORD,
        },
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict",
        "message": "The username SAM is taken.",
        "fields": {"username": ["Already taken."]},
    }
    assert User.objects.count() == before


def test_refuses_a_weak_password(cast: Any, api_for: Any) -> None:
    before = User.objects.count()

    response = api_for(cast.bob).post(
        USERS,
        {
            "operator": cast.north_point.pk,
            "role": "manager",
            "username": "pia",
            "password": "1234567890",
        },
        format="json",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "This password is too common." in error["fields"]["password"]
    assert User.objects.count() == before
    assert not User.objects.filter(username="pia").exists()


def test_refuses_a_short_password(cast: Any, api_for: Any) -> None:
    response = api_for(cast.bob).post(
        USERS,
        {"operator": cast.north_point.pk, "role": "manager", "username": "pia", "password": "x1"},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["password"]
    assert not User.objects.filter(username="pia").exists()


# ---- audit events -----------------------------------------------------------------------


def test_audit_log_is_read_only(cast: Any, api_for: Any) -> None:
    api = api_for(cast.alice)
    event = AuditEvent.objects.filter(tenant=cast.acme).first()
    before = AuditEvent.objects.count()

    created = api.post(AUDIT, {"verb": "forged"}, format="json")
    changed = api.patch(f"{AUDIT}{event.pk}/", {"verb": "forged"}, format="json")
    deleted = api.delete(f"{AUDIT}{event.pk}/")

    assert created.status_code == 405
    assert created.json()["error"]["code"] == "method_not_allowed"
    assert changed.status_code == 405
    assert deleted.status_code == 405
    assert AuditEvent.objects.count() == before
    assert not AuditEvent.objects.filter(verb="forged").exists()


def test_filters_audit_events_by_verb(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).get(AUDIT, {"verb": "operator.created"})

    assert response.status_code == 200
    rows = response.json()["results"]
    assert {row["verb"] for row in rows} == {"operator.created"}
    assert sorted(row["object_label"] for row in rows) == [
        "Acme North",
        "Acme South",
        "North Point",
    ]


def test_reseller_sees_no_audit_events_of_a_sibling_reseller(cast: Any, api_for: Any) -> None:
    audit.record(None, "test.event", tenant=cast.acme, operator=cast.south, label="south-only")
    audit.record(None, "test.event", tenant=cast.acme, operator=cast.north_point, label="point")

    response = api_for(cast.bob).get(AUDIT, {"verb": "test.event"})

    assert response.status_code == 200
    assert [row["object_label"] for row in response.json()["results"]] == ["point"]
    everything = api_for(cast.bob).get(AUDIT, {"limit": 500}).json()["results"]
    assert {row["operator"] for row in everything} <= {cast.north.pk, cast.north_point.pk}
    assert "Acme South" not in {row["object_label"] for row in everything}


def test_reseller_sees_the_audit_row_of_an_operator_he_added(cast: Any, api_for: Any) -> None:
    api = api_for(cast.bob)
    created = api.post(OPERATORS, {"parent": cast.north.pk, "name": "North Hill"}, format="json")

    response = api.get(AUDIT, {"verb": "operator.created", "q": "North Hill"})

    assert created.status_code == 201
    rows = response.json()["results"]
    assert [(row["object_label"], row["actor_label"]) for row in rows] == [("North Hill", "bob")]


# ---- jobs -------------------------------------------------------------------------------


def test_jobs_list_shows_runs_of_the_callers_reach_with_progress(cast: Any, api_for: Any) -> None:
    JobRun.objects.create(
        tenant=cast.acme,
        operator=cast.north,
        kind="export",
        label="North export",
        status=JobRun.Status.RUNNING,
        percent=40,
        message="Writing rows",
    )
    JobRun.objects.create(
        tenant=cast.acme, operator=cast.south, kind="export", label="South export"
    )
    JobRun.objects.create(
        tenant=cast.globex, operator=cast.globex_east, kind="export", label="Globex export"
    )

    response = api_for(cast.bob).get(JOBS)

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["label"] for row in rows] == ["North export"]
    assert rows[0]["status"] == "running"
    assert rows[0]["percent"] == 40
    assert rows[0]["message"] == "Writing rows"
    assert rows[0]["finished_at"] is None
    alice_rows = api_for(cast.alice).get(JOBS).json()["results"]
    assert [row["label"] for row in alice_rows] == ["South export", "North export"]


def test_filters_jobs_by_status(cast: Any, api_for: Any) -> None:
    JobRun.objects.create(tenant=cast.acme, operator=cast.acme_root, kind="k", label="queued one")
    JobRun.objects.create(
        tenant=cast.acme,
        operator=cast.acme_root,
        kind="k",
        label="done one",
        status=JobRun.Status.SUCCEEDED,
        percent=100,
    )

    response = api_for(cast.alice).get(JOBS, {"status": "succeeded"})

    assert [(row["label"], row["percent"]) for row in response.json()["results"]] == [
        ("done one", 100)
    ]


# ---- keyset pagination ------------------------------------------------------------------


def test_walks_every_audit_event_once_by_cursor(cast: Any, api_for: Any) -> None:
    for i in range(120):
        audit.record(None, "test.event", tenant=cast.acme, operator=cast.acme_root, label=f"e{i}")
    expected = list(
        AuditEvent.objects.filter(verb="test.event").order_by("-pk").values_list("pk", flat=True)
    )
    api = api_for(cast.alice)

    pages = []
    previous_links = []
    url: str | None = f"{AUDIT}?verb=test.event&limit=50"
    while url is not None:
        response = api.get(url)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"next", "previous", "results"}
        pages.append([row["id"] for row in body["results"]])
        previous_links.append(body["previous"])
        url = body["next"]

    assert [len(page) for page in pages] == [50, 50, 20]
    seen = [pk for page in pages for pk in page]
    assert seen == expected
    assert len(set(seen)) == 120
    assert previous_links[0] is None
    assert all(link is not None for link in previous_links[1:])


def test_previous_link_returns_the_page_before(cast: Any, api_for: Any) -> None:
    for i in range(30):
        audit.record(None, "test.event", tenant=cast.acme, operator=cast.acme_root, label=f"e{i}")
    api = api_for(cast.alice)
    first = api.get(AUDIT, {"verb": "test.event", "limit": 10}).json()
    second = api.get(first["next"]).json()

    back = api.get(second["previous"]).json()

    assert [row["id"] for row in back["results"]] == [row["id"] for row in first["results"]]


def test_limit_is_capped_at_five_hundred(cast: Any, api_for: Any) -> None:
    AuditEvent.objects.bulk_create(
        AuditEvent(
            tenant=cast.acme,
            operator=cast.acme_root,
            verb="test.event",
            object_label=f"e{i}",
            at="2026-01-01T00:00:00Z",
        )
        for i in range(510)
    )

    response = api_for(cast.alice).get(AUDIT, {"verb": "test.event", "limit": 1000})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 500
    assert response.json()["next"] is not None
    rest = api_for(cast.alice).get(response.json()["next"]).json()
    assert len(rest["results"]) == 10


def test_default_page_is_fifty_rows(cast: Any, api_for: Any) -> None:
    for i in range(60):
        audit.record(None, "test.event", tenant=cast.acme, operator=cast.acme_root, label=f"e{i}")

    response = api_for(cast.alice).get(AUDIT, {"verb": "test.event"})

    assert len(response.json()["results"]) == 50
    assert "count" not in response.json()


# ---- OpenAPI ----------------------------------------------------------------------------


def test_schema_is_open_and_lists_the_endpoints(db: Any) -> None:
    response = APIClient().get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "ispbills API"
    for path in (OPERATORS, USERS, AUDIT, JOBS, ME):
        assert path in schema["paths"], path
    assert "post" in schema["paths"][OPERATORS]
    assert "post" not in schema["paths"][AUDIT]
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    assert {"bearerAuth": []} in schema["paths"][OPERATORS]["get"]["security"]


def test_docs_page_loads_only_local_assets(db: Any) -> None:
    response = APIClient().get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    sources = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert any(source.endswith("swagger-ui-bundle.js") for source in sources)
    assert [source for source in sources if not source.startswith("/")] == []
    assert "//" not in "".join(sources)
