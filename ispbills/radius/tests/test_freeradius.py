"""FreeRADIUS 3.2 from the generated configuration, on the test database, with real packets."""

from datetime import UTC, datetime, timedelta

import pytest

from ispbills.radius.models import RadAcct, RadCheck, RadGroupReply, RadPostAuth, RadReply
from ispbills.radius.models import RadUserGroup as UserGroup
from ispbills.radius.services import expiration_value

pytestmark = pytest.mark.django_db(transaction=True)


def add_user(username: str, password: str, *extra: tuple[str, str, str]) -> None:
    RadCheck.objects.create(
        username=username, attribute="Cleartext-Password", op=":=", value=password
    )
    for attribute, op, value in extra:
        RadCheck.objects.create(username=username, attribute=attribute, op=op, value=value)


def test_accepts_the_right_password_over_pap(freeradius):
    add_user("u-pap", "s3cret-pap")

    reply = freeradius.auth("u-pap", "s3cret-pap")

    assert reply is not None
    assert reply.code == "Access-Accept"


def test_accepts_the_right_password_over_chap(freeradius):
    add_user("u-chap", "s3cret-chap")

    reply = freeradius.auth("u-chap", "s3cret-chap", chap=True)

    assert reply is not None
    assert reply.code == "Access-Accept"


def test_rejects_a_wrong_password(freeradius):
    add_user("u-wrong", "s3cret")

    pap = freeradius.auth("u-wrong", "not-it")
    chap = freeradius.auth("u-wrong", "not-it", chap=True)

    assert pap is not None
    assert pap.code == "Access-Reject"
    assert chap is not None
    assert chap.code == "Access-Reject"


def test_rejects_an_unknown_user(freeradius):
    reply = freeradius.auth("u-nobody", "anything")

    assert reply is not None
    assert reply.code == "Access-Reject"


def test_rejects_a_user_whose_expiration_is_past(freeradius):
    past = datetime.now(UTC) - timedelta(minutes=1)
    add_user("u-expired", "s3cret", ("Expiration", ":=", expiration_value(past)))

    reply = freeradius.auth("u-expired", "s3cret")

    assert reply is not None
    assert reply.code == "Access-Reject"
    assert "Session-Timeout" not in reply.attributes


def test_caps_session_timeout_at_the_expiration(freeradius):
    soon = datetime.now(UTC) + timedelta(minutes=10)
    add_user("u-soon", "s3cret", ("Expiration", ":=", expiration_value(soon)))

    reply = freeradius.auth("u-soon", "s3cret")

    assert reply is not None
    assert reply.code == "Access-Accept"
    session_timeout = int(reply.get("Session-Timeout") or 0)
    assert 590 <= session_timeout <= 600


def test_keeps_a_shorter_session_timeout_than_the_expiration(freeradius):
    later = datetime.now(UTC) + timedelta(days=3)
    add_user("u-later", "s3cret", ("Expiration", ":=", expiration_value(later)))
    RadReply.objects.create(username="u-later", attribute="Session-Timeout", op=":=", value="3600")

    reply = freeradius.auth("u-later", "s3cret")

    assert reply is not None
    assert reply.code == "Access-Accept"
    assert reply.attributes["Session-Timeout"] == ["3600"]


def test_rejects_a_user_with_auth_type_reject(freeradius):
    add_user("u-disabled", "s3cret", ("Auth-Type", ":=", "Reject"))

    reply = freeradius.auth("u-disabled", "s3cret")

    assert reply is not None
    assert reply.code == "Access-Reject"


def test_replies_with_user_and_group_attributes(freeradius):
    add_user("u-plan", "s3cret")
    RadReply.objects.create(
        username="u-plan", attribute="Framed-IP-Address", op=":=", value="100.64.10.20"
    )
    UserGroup.objects.create(username="u-plan", groupname="PLAN_20M", priority=1)
    RadGroupReply.objects.create(
        groupname="PLAN_20M", attribute="Mikrotik-Rate-Limit", op=":=", value="20M/20M"
    )
    RadGroupReply.objects.create(
        groupname="PLAN_20M", attribute="Acct-Interim-Interval", op=":=", value="300"
    )

    reply = freeradius.auth("u-plan", "s3cret")

    assert reply is not None
    assert reply.code == "Access-Accept"
    assert reply.attributes["Framed-IP-Address"] == ["100.64.10.20"]
    assert reply.attributes["Mikrotik-Rate-Limit"] == ["20M/20M"]
    assert reply.attributes["Acct-Interim-Interval"] == ["300"]


def test_signs_replies_with_message_authenticator(freeradius):
    add_user("u-signed", "s3cret")

    accept = freeradius.auth("u-signed", "s3cret")
    reject = freeradius.auth("u-signed", "wrong")

    assert accept is not None
    assert "Message-Authenticator" in accept.attributes
    assert reject is not None
    assert "Message-Authenticator" in reject.attributes


def test_drops_an_access_request_without_message_authenticator(freeradius):
    add_user("u-blast", "s3cret")

    reply = freeradius.request(
        "auth",
        [("User-Name", '"u-blast"'), ("User-Password", '"s3cret"')],
        message_authenticator=False,
        timeout=0.5,
    )

    assert reply is None
    assert not RadPostAuth.objects.filter(username="u-blast").exists()


def test_logs_each_attempt_in_radpostauth_without_the_password(freeradius):
    add_user("u-logged", "s3cret-logged")

    freeradius.auth("u-logged", "s3cret-logged")
    freeradius.auth("u-logged", "wrong-guess")

    rows = list(
        RadPostAuth.objects.filter(username="u-logged")
        .order_by("id")
        .values_list("reply", "password")
    )
    assert rows == [("Access-Accept", None), ("Access-Reject", None)]


def test_records_a_session_from_start_interim_and_stop_with_gigawords(freeradius):
    session = [
        ("User-Name", '"u-acct"'),
        ("Acct-Session-Id", '"81a00001"'),
        ("NAS-IP-Address", "10.0.0.1"),
    ]

    start = freeradius.request(
        "acct", [("Acct-Status-Type", "Start"), *session, ("Framed-IP-Address", "100.64.0.5")]
    )
    interim = freeradius.request(
        "acct",
        [
            ("Acct-Status-Type", "Interim-Update"),
            *session,
            ("Acct-Session-Time", "300"),
            ("Acct-Input-Octets", "5"),
            ("Acct-Input-Gigawords", "1"),
            ("Acct-Output-Octets", "700"),
        ],
    )
    stop = freeradius.request(
        "acct",
        [
            ("Acct-Status-Type", "Stop"),
            *session,
            ("Acct-Session-Time", "600"),
            ("Acct-Input-Octets", "9"),
            ("Acct-Input-Gigawords", "1"),
            ("Acct-Output-Octets", "900"),
            ("Acct-Output-Gigawords", "2"),
            ("Acct-Terminate-Cause", "User-Request"),
        ],
    )

    assert [start and start.code, interim and interim.code, stop and stop.code] == [
        "Accounting-Response"
    ] * 3
    row = RadAcct.objects.get(username="u-acct")
    assert row.session_id == "81a00001"
    assert row.nas_ip_address == "10.0.0.1"
    assert row.framed_ip_address == "100.64.0.5"
    assert row.session_time == 600
    assert row.input_octets == 2**32 + 9
    assert row.output_octets == 2 * 2**32 + 900
    assert row.terminate_cause == "User-Request"
    assert row.stop_time is not None


def test_refuses_a_second_session_beyond_simultaneous_use(freeradius):
    add_user("u-simul", "s3cret", ("Simultaneous-Use", ":=", "1"))
    first = freeradius.auth("u-simul", "s3cret")
    freeradius.request(
        "acct",
        [
            ("Acct-Status-Type", "Start"),
            ("User-Name", '"u-simul"'),
            ("Acct-Session-Id", '"81a00002"'),
            ("NAS-IP-Address", "10.0.0.1"),
        ],
    )

    second = freeradius.auth("u-simul", "s3cret")

    assert first is not None
    assert first.code == "Access-Accept"
    assert second is not None
    assert second.code == "Access-Reject"
