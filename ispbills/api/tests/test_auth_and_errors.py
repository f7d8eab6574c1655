"""Bearer tokens, the token command, session access and the one error body of the API."""

import hashlib
import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from ispbills.core.models import AuditEvent
from ispbills.tenancy import services
from ispbills.tenancy.models import ApiToken, Operator

ME = "/api/v1/me/"
OPERATORS = "/api/v1/operators/"


def bearer(plain: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return api


def raw_header(value: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=value)
    return api


# ---- bearer tokens ----------------------------------------------------------------------


def test_refuses_a_request_without_credentials(cast: Any) -> None:
    response = APIClient().get(ME)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
            "fields": {},
        }
    }


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "bearer  one two three"])
def test_refuses_a_malformed_bearer_header(header: str, cast: Any) -> None:
    response = raw_header(header).get(ME)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"] == {
        "code": "authentication_failed",
        "message": "Send exactly: Authorization: Bearer <token>.",
        "fields": {},
    }


def test_a_blank_authorization_header_is_refused_not_a_server_error(cast: Any) -> None:
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION="   ")

    response = api.get(ME)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["code"] in {"not_authenticated", "authentication_failed"}


def test_another_scheme_is_left_to_other_authenticators(cast: Any) -> None:
    response = raw_header("Token abc").get(ME)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_refuses_an_unknown_token(cast: Any) -> None:
    response = bearer("isp_this-token-was-never-issued").get(ME)

    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "authentication_failed",
        "message": "This token is unknown or revoked.",
        "fields": {},
    }


def test_accepts_a_valid_token_and_names_its_user(cast: Any) -> None:
    _token, plain = services.create_api_token(actor=cast.alice, user=cast.alice, name="billing")

    response = bearer(plain).get(ME)

    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def test_refuses_a_revoked_token_at_once(cast: Any) -> None:
    token, plain = services.create_api_token(actor=None, user=cast.alice, name="old")
    assert bearer(plain).get(ME).status_code == 200

    services.revoke_api_token(actor=cast.alice, token=token)
    response = bearer(plain).get(ME)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_refuses_the_token_of_a_disabled_user(cast: Any) -> None:
    _token, plain = services.create_api_token(actor=None, user=cast.carol, name="t")
    services.update_staff_user(actor=cast.alice, user=cast.carol, is_active=False)

    response = bearer(plain).get(ME)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_refuses_the_token_of_a_user_whose_operator_is_disabled(cast: Any) -> None:
    _token, plain = services.create_api_token(actor=None, user=cast.bob, name="t")
    services.set_operator_active(actor=cast.alice, operator=cast.north, active=False)

    response = bearer(plain).get(ME)

    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "authentication_failed",
        "message": "This user's access is disabled.",
        "fields": {},
    }


def test_refuses_the_token_of_a_user_below_a_disabled_operator(cast: Any) -> None:
    _token, plain = services.create_api_token(actor=None, user=cast.sam, name="t")
    services.set_operator_active(actor=cast.alice, operator=cast.north, active=False)

    response = bearer(plain).get(ME)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_refuses_the_token_of_a_user_whose_isp_is_disabled(cast: Any) -> None:
    _token, plain = services.create_api_token(actor=None, user=cast.alice, name="t")
    services.set_tenant_active(actor=cast.zed, tenant=cast.acme, active=False)

    response = bearer(plain).get(ME)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_stores_only_the_sha256_of_the_token(cast: Any) -> None:
    token, plain = services.create_api_token(actor=None, user=cast.alice, name="billing")

    stored = ApiToken.objects.get(pk=token.pk)

    assert plain.startswith("isp_")
    assert len(plain) > 40
    assert stored.key_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert stored.prefix == plain[:10]
    assert plain not in {stored.key_hash, stored.prefix, stored.name}


def test_records_when_a_token_is_first_used(cast: Any) -> None:
    token, plain = services.create_api_token(actor=None, user=cast.alice, name="billing")
    assert ApiToken.objects.get(pk=token.pk).last_used_at is None

    bearer(plain).get(ME)

    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


# ---- the token command ------------------------------------------------------------------


def test_token_command_prints_a_token_that_works(cast: Any) -> None:
    out = io.StringIO()

    call_command("token", "create", "alice", stdout=out)
    plain = out.getvalue().strip()

    token = ApiToken.objects.get(user=cast.alice)
    assert token.key_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert token.name == "command line"
    response = bearer(plain).get(ME)
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def test_token_list_never_prints_the_value(cast: Any) -> None:
    created = io.StringIO()
    call_command("token", "create", "alice", "--name", "radius sync", stdout=created)
    plain = created.getvalue().strip()
    token = ApiToken.objects.get(user=cast.alice)

    listed = io.StringIO()
    call_command("token", "list", "alice", stdout=listed)

    text = listed.getvalue()
    assert plain not in text
    assert text == f"{token.pk}\t{plain[:10]}…\tactive\tradius sync\n"


def test_token_command_refuses_an_unknown_user(cast: Any) -> None:
    with pytest.raises(CommandError, match="No user 'nobody'"):
        call_command("token", "create", "nobody", stdout=io.StringIO())

    assert ApiToken.objects.count() == 0


def test_token_revoke_command_ends_the_token(cast: Any) -> None:
    token, plain = services.create_api_token(actor=None, user=cast.alice, name="t")

    call_command("token", "revoke", str(token.pk), stdout=io.StringIO())

    assert bearer(plain).get(ME).status_code == 401


# ---- error bodies -----------------------------------------------------------------------


def test_another_tenants_operator_is_not_found(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).get(f"{OPERATORS}{cast.globex_east.pk}/")

    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not found.", "fields": {}}
    }


def test_noc_user_is_refused_the_operator_list(cast: Any, api_for: Any) -> None:
    response = api_for(cast.nina).get(OPERATORS)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert response.json()["error"]["fields"] == {}


def test_invalid_fields_are_listed_by_name(cast: Any, api_for: Any) -> None:
    before = Operator.objects.count()

    response = api_for(cast.alice).post(OPERATORS, {"parent": cast.acme_root.pk}, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == "The request has invalid fields."
    assert list(error["fields"]) == ["name"]
    assert error["fields"]["name"] == ["This field is required."]
    assert Operator.objects.count() == before


def test_duplicate_operator_name_under_the_same_parent_is_a_conflict(
    cast: Any, api_for: Any
) -> None:
    before = Operator.objects.count()

    response = api_for(cast.alice).post(
        OPERATORS, {"parent": cast.acme_root.pk, "name": "acme NORTH"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict",
        "message": "Acme already has an operator named acme NORTH.",
        "fields": {"name": ["Already used under this parent."]},
    }
    assert Operator.objects.count() == before


def test_refuses_a_third_level_below_a_sub_operator(cast: Any, api_for: Any) -> None:
    before = Operator.objects.count()

    response = api_for(cast.alice).post(
        OPERATORS, {"parent": cast.north_point.pk, "name": "Too Deep"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "Sub-operators cannot have operators below them.",
        "fields": {},
    }
    assert Operator.objects.count() == before
    assert not AuditEvent.objects.filter(object_label="Too Deep").exists()


def test_negative_credit_limit_is_refused_by_field(cast: Any, api_for: Any) -> None:
    before = Operator.objects.count()

    response = api_for(cast.alice).post(
        OPERATORS,
        {"parent": cast.acme_root.pk, "name": "Acme West", "credit_limit": "-5"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "The credit limit cannot be negative.",
        "fields": {"credit_limit": ["Must be zero or more."]},
    }
    assert Operator.objects.count() == before


def test_malformed_json_is_a_parse_error(cast: Any, api_for: Any) -> None:
    before = Operator.objects.count()

    response = api_for(cast.alice).post(
        OPERATORS, data='{"name": ', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert response.json()["error"]["fields"] == {}
    assert Operator.objects.count() == before


def test_a_forged_cursor_is_not_found(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).get("/api/v1/audit-events/", {"cursor": "garbage"})

    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "Invalid cursor",
        "fields": {},
    }


# ---- session access ---------------------------------------------------------------------


def test_a_logged_in_panel_user_can_read_the_api(cast: Any) -> None:
    client = APIClient()
    client.force_login(cast.alice)

    response = client.get(ME)

    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def test_a_session_loses_the_api_when_its_operator_is_disabled(cast: Any) -> None:
    client = APIClient()
    client.force_login(cast.bob)
    services.set_operator_active(actor=cast.alice, operator=cast.north, active=False)

    response = client.get(ME)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_refuses_a_session_write_without_csrf_token(cast: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(cast.alice)
    before = Operator.objects.count()

    response = client.post(
        OPERATORS, {"parent": cast.acme_root.pk, "name": "Acme West"}, format="json"
    )

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "permission_denied"
    assert error["message"].startswith("CSRF Failed")
    assert Operator.objects.count() == before
    assert not Operator.objects.filter(name="Acme West").exists()


def test_a_bearer_token_write_needs_no_csrf_token(cast: Any) -> None:
    _token, plain = services.create_api_token(actor=None, user=cast.alice, name="t")
    api = APIClient(enforce_csrf_checks=True)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")

    response = api.post(
        OPERATORS, {"parent": cast.acme_root.pk, "name": "Acme West"}, format="json"
    )

    assert response.status_code == 201
    assert Operator.objects.filter(name="Acme West", parent=cast.acme_root).count() == 1
