"""FreeRADIUS 3.2 from the generated configuration, on the test database, with real packets."""

import hashlib
import hmac
import os
import socket
import struct
import time
from datetime import UTC, datetime, timedelta

import pytest

from ispbills.radius.models import (
    Nas,
    RadAcct,
    RadCheck,
    RadGroupCheck,
    RadGroupReply,
    RadPostAuth,
    RadReply,
)
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


def test_a_user_reply_attribute_overrides_the_group_one(freeradius):
    add_user("u-override", "s3cret")
    UserGroup.objects.create(username="u-override", groupname="PLAN_5M", priority=1)
    RadGroupReply.objects.create(
        groupname="PLAN_5M", attribute="Mikrotik-Rate-Limit", op=":=", value="5M/5M"
    )
    RadGroupReply.objects.create(
        groupname="PLAN_5M", attribute="Acct-Interim-Interval", op=":=", value="300"
    )
    RadReply.objects.create(
        username="u-override", attribute="Mikrotik-Rate-Limit", op=":=", value="50M/50M"
    )

    reply = freeradius.auth("u-override", "s3cret")

    assert reply is not None
    assert reply.code == "Access-Accept"
    assert reply.attributes["Mikrotik-Rate-Limit"] == ["50M/50M"]
    assert reply.attributes["Acct-Interim-Interval"] == ["300"]


def test_groups_reply_by_priority_and_appended_attributes_add_up(freeradius):
    add_user("u-groups", "s3cret")
    UserGroup.objects.create(username="u-groups", groupname="WALLED", priority=1)
    UserGroup.objects.create(username="u-groups", groupname="PLAN_10M", priority=2)
    RadGroupReply.objects.create(
        groupname="WALLED", attribute="Mikrotik-Rate-Limit", op=":=", value="1M/1M"
    )
    RadGroupReply.objects.create(
        groupname="WALLED", attribute="Mikrotik-Address-List", op="+=", value="walled"
    )
    RadGroupReply.objects.create(
        groupname="PLAN_10M", attribute="Mikrotik-Rate-Limit", op=":=", value="10M/10M"
    )
    RadGroupReply.objects.create(
        groupname="PLAN_10M", attribute="Mikrotik-Address-List", op="+=", value="plan"
    )
    RadGroupReply.objects.create(groupname="PLAN_10M", attribute="Framed-Pool", op=":=", value="p")

    reply = freeradius.auth("u-groups", "s3cret")

    assert reply is not None
    assert reply.code == "Access-Accept"
    assert reply.attributes["Mikrotik-Rate-Limit"] == ["1M/1M"]
    assert reply.attributes["Mikrotik-Address-List"] == ["walled", "plan"]
    assert reply.attributes["Framed-Pool"] == ["p"]


def test_a_group_check_item_must_match_the_request(freeradius):
    add_user("u-ethernet", "s3cret")
    UserGroup.objects.create(username="u-ethernet", groupname="WIRED", priority=1)
    RadGroupCheck.objects.create(
        groupname="WIRED", attribute="NAS-Port-Type", op="==", value="Ethernet"
    )

    def login(port_type: str):
        return freeradius.request(
            "auth",
            [
                ("User-Name", '"u-ethernet"'),
                ("User-Password", '"s3cret"'),
                ("NAS-Port-Type", port_type),
            ],
        )

    wired = login("Ethernet")
    wireless = login("Wireless-802.11")

    assert wired is not None
    assert wired.code == "Access-Accept"
    assert wireless is not None
    assert wireless.code == "Access-Reject"


def test_accepts_a_second_session_within_simultaneous_use(freeradius):
    add_user("u-two", "s3cret", ("Simultaneous-Use", ":=", "2"))
    freeradius.request(
        "acct",
        [
            ("Acct-Status-Type", "Start"),
            ("User-Name", '"u-two"'),
            ("Acct-Session-Id", '"81a00003"'),
            ("NAS-IP-Address", "10.0.0.1"),
        ],
    )

    second = freeradius.auth("u-two", "s3cret")

    assert second is not None
    assert second.code == "Access-Accept"


def access_request(
    port: int, source: str, secret: str, username: str, password: str, *, tries: int = 3
) -> int | None:
    """Send a PAP Access-Request from ``source``; the reply's code, or None if none came."""
    key = secret.encode()
    for _ in range(tries):
        authenticator = os.urandom(16)
        mask = hashlib.md5(key + authenticator).digest()
        hidden = bytes(a ^ b for a, b in zip(password.encode().ljust(16, b"\0"), mask, strict=True))
        attributes = bytes((1, len(username) + 2)) + username.encode() + bytes((2, 18)) + hidden
        header = struct.pack("!BBH", 1, 1, 20 + len(attributes) + 18) + authenticator
        signature = hmac.new(key, header + attributes + b"\x50\x12" + bytes(16), "md5").digest()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((source, 0))
            sock.settimeout(1.0)
            sock.sendto(header + attributes + b"\x50\x12" + signature, ("127.0.0.1", port))
            try:
                data = sock.recv(4096)
            except TimeoutError:
                continue
        expected = hashlib.md5(data[:4] + authenticator + data[20:] + key).digest()
        if data[4:20] == expected:
            return data[0]
    return None


def test_serves_a_nas_added_after_the_server_started(freeradius):
    add_user("u-newnas", "s3cret")
    source = f"127.0.0.{10 + os.getpid() % 200}"
    unknown = access_request(
        freeradius.auth_port, source, "new-router-secret", "u-newnas", "s3cret", tries=1
    )
    time.sleep(1.1)  # FreeRADIUS looks up at most one new client a second

    Nas.objects.create(nasname=source, shortname="new-router", secret="new-router-secret")
    answered = access_request(
        freeradius.auth_port, source, "new-router-secret", "u-newnas", "s3cret"
    )

    assert unknown is None
    assert answered == 2  # Access-Accept
