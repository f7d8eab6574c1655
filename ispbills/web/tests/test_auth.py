"""Staff login, throttling, disabled access, logout, CSRF, passwords and cookies in the panel."""

import datetime as dt
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone

from ispbills.core.models import AuditEvent
from ispbills.core.testing.cast import PASSWORD
from ispbills.core.testing.isolation import client_as
from ispbills.tenancy import services
from ispbills.tenancy.models import LoginAttempt, User
from ispbills.tenancy.roles import Role

LOGIN = "/login/"
WRONG = "not-the-password"
NEW_PASSWORD = "purple-walrus-lantern-42"


def signed_in_as(client: Client) -> str | None:
    """The user id stored in the client's session, or None when nobody is signed in."""
    return client.session.get(SESSION_KEY)


# ---- login by username or mobile ---------------------------------------------------------


@pytest.mark.parametrize(
    "login",
    [
        "alice",
        "ALICE",
        "Alice",
        "01711000001",
        "+8801711000001",
        "8801711000001",
        "০১৭১১০০০০০১",
        "+880 1711-000001",
    ],
)
def test_signs_in_by_username_in_any_case_or_by_mobile_in_any_format(login: str, cast: Any) -> None:
    client = Client()

    response = client.post(LOGIN, {"username": login, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_as(client) == str(cast.alice.pk)


def test_refuses_a_wrong_password_and_records_the_attempt(cast: Any) -> None:
    client = Client()

    response = client.post(LOGIN, {"username": "alice", "password": WRONG})

    assert response.status_code == 400
    assert "Wrong username/mobile or password." in response.content.decode()
    assert signed_in_as(client) is None
    attempt = LoginAttempt.objects.get()
    assert attempt.username == "alice"
    assert attempt.user == cast.alice
    assert attempt.success is False
    assert attempt.reason == "bad_password"
    assert attempt.ip == "127.0.0.1"
    assert attempt.tenant_id == cast.acme.pk
    assert not AuditEvent.objects.filter(verb="user.logged_in").exists()


def test_refuses_an_unknown_user_with_the_same_message(cast: Any) -> None:
    client = Client()

    response = client.post(LOGIN, {"username": "nobody", "password": PASSWORD})

    assert response.status_code == 400
    assert "Wrong username/mobile or password." in response.content.decode()
    assert signed_in_as(client) is None
    attempt = LoginAttempt.objects.get()
    assert (attempt.username, attempt.user, attempt.success, attempt.reason) == (
        "nobody",
        None,
        False,
        "unknown_user",
    )


def test_refuses_an_empty_form_without_recording_an_attempt(cast: Any) -> None:
    client = Client()

    response = client.post(LOGIN, {"username": "", "password": ""})

    assert response.status_code == 400
    assert signed_in_as(client) is None
    assert LoginAttempt.objects.count() == 0


def test_a_successful_login_writes_an_attempt_and_an_audit_event(cast: Any) -> None:
    client = Client()

    response = client.post(
        LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="203.0.113.5"
    )

    assert response.status_code == 302
    attempt = LoginAttempt.objects.get()
    assert (attempt.user, attempt.success, attempt.reason, attempt.ip) == (
        cast.alice,
        True,
        "",
        "203.0.113.5",
    )
    event = AuditEvent.objects.get(verb="user.logged_in")
    assert event.actor == cast.alice
    assert event.object_id == str(cast.alice.pk)
    assert event.tenant_id == cast.acme.pk
    assert event.ip == "203.0.113.5"


def test_login_page_sends_a_signed_in_user_to_the_dashboard(cast: Any) -> None:
    response = client_as(cast.alice).get(LOGIN)

    assert response.status_code == 302
    assert response["Location"] == "/"


# ---- throttling --------------------------------------------------------------------------


def test_refuses_even_the_right_password_after_too_many_failures_for_the_username(
    cast: Any, settings: Any
) -> None:
    limit = settings.LOGIN_THROTTLE_ATTEMPTS
    client = Client()
    for _attempt in range(limit):
        assert client.post(LOGIN, {"username": "alice", "password": WRONG}).status_code == 400

    response = client.post(LOGIN, {"username": "ALICE", "password": PASSWORD})

    assert response.status_code == 429
    assert "Too many failed attempts." in response.content.decode()
    assert signed_in_as(client) is None
    assert not AuditEvent.objects.filter(verb="user.logged_in").exists()
    reasons = list(LoginAttempt.objects.values_list("reason", flat=True))
    assert reasons == ["throttled"] + ["bad_password"] * limit


def test_allows_the_right_password_one_failure_below_the_limit(cast: Any, settings: Any) -> None:
    client = Client()
    for _attempt in range(settings.LOGIN_THROTTLE_ATTEMPTS - 1):
        client.post(LOGIN, {"username": "alice", "password": WRONG})

    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 302
    assert signed_in_as(client) == str(cast.alice.pk)


def test_failures_older_than_the_window_no_longer_count(cast: Any, settings: Any) -> None:
    client = Client()
    for _attempt in range(settings.LOGIN_THROTTLE_ATTEMPTS):
        client.post(LOGIN, {"username": "alice", "password": WRONG})
    LoginAttempt.objects.update(
        at=timezone.now() - dt.timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS + 1)
    )

    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 302
    assert signed_in_as(client) == str(cast.alice.pk)


def test_the_username_throttle_spares_other_users_on_the_same_address(
    cast: Any, settings: Any
) -> None:
    client = Client()
    for _attempt in range(settings.LOGIN_THROTTLE_ATTEMPTS):
        client.post(LOGIN, {"username": "alice", "password": WRONG})

    response = client.post(LOGIN, {"username": "bob", "password": PASSWORD})

    assert response.status_code == 302
    assert signed_in_as(client) == str(cast.bob.pk)


def test_the_username_throttle_cannot_be_dodged_by_signing_in_by_mobile(
    cast: Any, settings: Any
) -> None:
    # Failures count against the account: otherwise every spelling of the mobile number
    # ("01711000001", "+880 1711 000001", "০১৭১১০০০০০১"…) gets a fresh allowance.
    client = Client()
    for _attempt in range(settings.LOGIN_THROTTLE_ATTEMPTS):
        client.post(LOGIN, {"username": "alice", "password": WRONG})

    response = client.post(LOGIN, {"username": "01711000001", "password": PASSWORD})

    assert response.status_code == 429
    assert signed_in_as(client) is None


def test_refuses_logins_from_an_address_with_too_many_failures(cast: Any, settings: Any) -> None:
    attacker, neighbour = Client(), Client()
    for number in range(settings.LOGIN_THROTTLE_IP_ATTEMPTS):
        attacker.post(
            LOGIN, {"username": f"guess{number}", "password": WRONG}, REMOTE_ADDR="198.51.100.7"
        )

    refused = attacker.post(
        LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="198.51.100.7"
    )
    allowed = neighbour.post(
        LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="198.51.100.8"
    )

    assert refused.status_code == 429
    assert "Too many failed attempts." in refused.content.decode()
    assert signed_in_as(attacker) is None
    assert allowed.status_code == 302
    assert signed_in_as(neighbour) == str(cast.alice.pk)
    throttled = LoginAttempt.objects.get(reason="throttled")
    assert (throttled.username, throttled.ip, throttled.success) == ("alice", "198.51.100.7", False)
    assert not AuditEvent.objects.filter(verb="user.logged_in", ip="198.51.100.7").exists()


# ---- disabled users, operators and ISPs --------------------------------------------------


def _set_carol_active(cast: Any, active: bool) -> None:
    services.update_staff_user(actor=None, user=cast.carol, is_active=active)


def _set_acme_north_active(cast: Any, active: bool) -> None:
    services.set_operator_active(actor=None, operator=cast.north, active=active)


def _set_acme_active(cast: Any, active: bool) -> None:
    services.set_tenant_active(actor=None, tenant=cast.acme, active=active)


DISABLED = {
    "disabled-user": (_set_carol_active, "carol"),
    "disabled-operator": (_set_acme_north_active, "bob"),
    "disabled-ancestor-operator": (_set_acme_north_active, "sam"),
    "disabled-isp": (_set_acme_active, "alice"),
}


@pytest.mark.parametrize("case", DISABLED)
def test_refuses_login_when_the_user_operator_or_isp_is_disabled(case: str, cast: Any) -> None:
    set_active, username = DISABLED[case]
    set_active(cast, False)
    client = Client()

    response = client.post(LOGIN, {"username": username, "password": PASSWORD})

    assert response.status_code == 400
    assert "Your account or your ISP is disabled." in response.content.decode()
    assert signed_in_as(client) is None
    attempt = LoginAttempt.objects.get()
    assert (attempt.username, attempt.success, attempt.reason) == (username, False, "disabled")
    assert not AuditEvent.objects.filter(verb="user.logged_in").exists()


@pytest.mark.parametrize("case", DISABLED)
def test_sends_an_open_session_to_login_once_the_user_operator_or_isp_is_disabled(
    case: str, cast: Any
) -> None:
    set_active, username = DISABLED[case]
    client = client_as(User.objects.get(username=username))
    assert client.get("/").status_code == 200

    set_active(cast, False)
    response = client.get("/operators/")

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert client.get("/profile/")["Location"].startswith(LOGIN)


@pytest.mark.parametrize("case", DISABLED)
def test_ends_the_session_for_good_so_enabling_again_does_not_revive_it(
    case: str, cast: Any
) -> None:
    set_active, username = DISABLED[case]
    client = client_as(User.objects.get(username=username))
    set_active(cast, False)

    response = client.get("/", follow=True)
    set_active(cast, True)

    assert client.get("/").status_code == 302
    assert signed_in_as(client) is None
    assert "Your access has been disabled. Ask your ISP admin." in response.content.decode()


def test_a_disabled_isp_does_not_lock_out_another_isp(cast: Any) -> None:
    services.set_tenant_active(actor=None, tenant=cast.acme, active=False)
    client = Client()

    response = client.post(LOGIN, {"username": "mallory", "password": PASSWORD})

    assert response.status_code == 302
    assert signed_in_as(client) == str(cast.mallory.pk)


# ---- logout and CSRF ---------------------------------------------------------------------


def test_logout_refuses_get_and_keeps_the_session(cast: Any) -> None:
    client = client_as(cast.alice)

    response = client.get("/logout/")

    assert response.status_code == 405
    assert signed_in_as(client) == str(cast.alice.pk)


def test_logout_by_post_ends_the_session(cast: Any) -> None:
    client = client_as(cast.alice)

    response = client.post("/logout/")

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert signed_in_as(client) is None
    assert client.get("/")["Location"] == "/login/?next=/"


def test_login_form_without_csrf_token_is_refused(cast: Any) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 403
    assert signed_in_as(client) is None
    assert LoginAttempt.objects.count() == 0


def test_login_form_with_its_csrf_token_is_accepted(cast: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get(LOGIN)
    token = client.cookies[django_settings.CSRF_COOKIE_NAME].value

    response = client.post(
        LOGIN, {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 302
    assert signed_in_as(client) == str(cast.alice.pk)


# ---- passwords ---------------------------------------------------------------------------


def test_stores_passwords_with_argon2(cast: Any, settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]

    user = services.create_staff_user(
        actor=None, operator=cast.acme_root, username="hana", password=NEW_PASSWORD, role=Role.NOC
    )

    assert user.password.startswith("argon2$argon2id$")
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
    client = Client()
    assert client.post(LOGIN, {"username": "hana", "password": NEW_PASSWORD}).status_code == 302


def test_password_change_refuses_a_wrong_current_password(cast: Any) -> None:
    client = client_as(cast.alice)
    hash_before = User.objects.get(pk=cast.alice.pk).password

    response = client.post(
        "/profile/password/",
        {"old_password": WRONG, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
    )

    assert response.status_code == 400
    assert "Wrong password." in response.content.decode()
    assert User.objects.get(pk=cast.alice.pk).password == hash_before
    assert not AuditEvent.objects.filter(verb="user.password_changed").exists()


def test_password_change_refuses_two_different_new_passwords(cast: Any) -> None:
    client = client_as(cast.alice)
    hash_before = User.objects.get(pk=cast.alice.pk).password

    response = client.post(
        "/profile/password/",
        {
            "old_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD + "x",
        },
    )

    assert response.status_code == 400
    assert "The two new passwords differ." in response.content.decode()
    assert User.objects.get(pk=cast.alice.pk).password == hash_before


def test_password_change_keeps_this_session_and_ends_the_others(cast: Any) -> None:
    this_session = Client()
    this_session.post(LOGIN, {"username": "alice", "password": PASSWORD})
    other_session = Client()
    other_session.post(LOGIN, {"username": "alice", "password": PASSWORD})
    assert other_session.get("/profile/").status_code == 200

    response = this_session.post(
        "/profile/password/",
        {
            "old_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/profile/"
    assert this_session.get("/profile/").status_code == 200
    assert other_session.get("/profile/")["Location"] == "/login/?next=/profile/"
    alice = User.objects.get(pk=cast.alice.pk)
    assert alice.check_password(NEW_PASSWORD)
    assert alice.password_changed_at is not None
    event = AuditEvent.objects.get(verb="user.password_changed")
    assert (event.actor, event.object_id) == (cast.alice, str(cast.alice.pk))


# ---- deny by default and the next redirect -----------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/operators/", "/users/", "/audit/", "/jobs/", "/profile/", "/login-log/"]
)
def test_panel_pages_send_anonymous_users_to_login(path: str, cast: Any) -> None:
    response = Client().get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def test_login_follows_next_to_a_path_on_this_host(cast: Any) -> None:
    response = Client().post(
        "/login/?next=/operators/", {"username": "alice", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/operators/"


@pytest.mark.parametrize(
    "target", ["https://evil.example/steal", "//evil.example/steal", "http://testserver.evil/"]
)
def test_login_ignores_next_pointing_to_another_host(target: str, cast: Any) -> None:
    client = Client()

    response = client.post(f"/login/?next={target}", {"username": "alice", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_as(client) == str(cast.alice.pk)


# ---- cookies -----------------------------------------------------------------------------


def test_session_cookie_is_http_only_and_same_site_lax(cast: Any) -> None:
    response = Client().post(LOGIN, {"username": "alice", "password": PASSWORD})

    cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert django_settings.SESSION_COOKIE_HTTPONLY is True
    assert django_settings.SESSION_COOKIE_SAMESITE == "Lax"


def test_csrf_cookie_is_same_site_lax(cast: Any) -> None:
    response = Client().get(LOGIN)

    assert response.cookies[django_settings.CSRF_COOKIE_NAME]["samesite"] == "Lax"
    assert django_settings.CSRF_COOKIE_SAMESITE == "Lax"
