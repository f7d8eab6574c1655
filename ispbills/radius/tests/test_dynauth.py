"""The Disconnect/CoA client against the fake NAS, radclient and a real FreeRADIUS."""

import hashlib
import socket
import subprocess
import time

import pytest

from ispbills.core.testing.plugin import require_binary
from ispbills.radius import dynauth
from ispbills.radius.dynauth import (
    MIKROTIK_PORT,
    RFC_PORT,
    Target,
    build_request,
    change_authorization,
    disconnect,
)
from ispbills.radius.models import RadAcct
from ispbills.radius.tests.conftest import free_udp_ports, parse_radclient

SECRET = "test-only-coa-secret"
FAST = {"timeout": 1.0, "retries": 0}

DISCONNECT_REQUEST, DISCONNECT_ACK, DISCONNECT_NAK = 40, 41, 42
COA_REQUEST, COA_ACK, COA_NAK = 43, 44, 45


def test_a_disconnect_is_acknowledged_and_ends_the_session(fake_nas):
    nas = fake_nas(SECRET)
    nas.add_session("u1", "81a00001", "100.64.0.5")
    nas.add_session("u2", "81a00002", "100.64.0.6")

    outcome = disconnect(
        nas.target, username="u1", session_id="81a00001", framed_ip="100.64.0.5", **FAST
    )

    assert outcome.status == "ack"
    assert outcome.acknowledged
    assert outcome.sent == 1
    assert outcome.round_trip is not None
    assert 0 < outcome.round_trip < 1.0
    assert outcome.error_cause is None
    assert set(nas.sessions) == {"81a00002"}
    [received] = nas.received
    assert received.code == DISCONNECT_REQUEST
    assert received.verified
    assert received.reply_code == DISCONNECT_ACK
    assert received.attributes["User-Name"] == ["u1"]
    assert received.attributes["Acct-Session-Id"] == ["81a00001"]
    assert received.attributes["Framed-IP-Address"] == ["100.64.0.5"]
    assert abs(int(received.attributes["Event-Timestamp"][0]) - time.time()) <= 2


@pytest.mark.parametrize(
    ("cause", "name"),
    [(503, "Session-Context-Not-Found"), (504, "Session-Context-Not-Removable")],
)
def test_a_nak_carries_its_error_cause(fake_nas, cause, name):
    nas = fake_nas(SECRET, mode="nak", error_cause=cause)
    nas.add_session("u1", "81a00001", "100.64.0.5")

    outcome = disconnect(nas.target, username="u1", session_id="81a00001", **FAST)

    assert outcome.status == "nak"
    assert not outcome.acknowledged
    assert (outcome.error_cause, outcome.error_cause_name) == (cause, name)
    assert outcome.attributes == {"Error-Cause": [name]}
    assert set(nas.sessions) == {"81a00001"}


def test_a_session_the_router_does_not_hold_is_naked_as_not_found(fake_nas):
    nas = fake_nas(SECRET)
    nas.add_session("u1", "81a00001", "100.64.0.5")

    outcome = disconnect(nas.target, username="u1", session_id="81a0ffff", **FAST)

    assert outcome.status == "nak"
    assert outcome.error_cause == 503
    assert set(nas.sessions) == {"81a00001"}


def test_a_request_for_another_nas_is_naked_as_identification_mismatch(fake_nas):
    nas = fake_nas(SECRET, nas_ip="10.0.0.1")
    nas.add_session("u1", "81a00001", "100.64.0.5")

    outcome = disconnect(nas.target, username="u1", nas_ip="10.0.0.2", **FAST)

    assert (outcome.status, outcome.error_cause) == ("nak", 403)
    assert outcome.error_cause_name == "NAS-Identification-Mismatch"
    assert set(nas.sessions) == {"81a00001"}


def test_a_silent_router_times_out_after_every_retransmission(fake_nas):
    nas = fake_nas(SECRET, mode="silent")
    nas.add_session("u1", "81a00001", "100.64.0.5")

    started = time.monotonic()
    outcome = disconnect(nas.target, username="u1", timeout=0.2, retries=2)
    elapsed = time.monotonic() - started

    assert outcome.status == "timeout"
    assert outcome.sent == 3
    assert outcome.round_trip is None
    assert 0.6 <= elapsed < 3
    received = nas.wait_for(3)
    assert len({packet.identifier for packet in received}) == 1
    assert all(packet.verified and packet.reply_code is None for packet in received)


def test_a_lost_request_is_retransmitted_unchanged_and_then_acknowledged(fake_nas):
    nas = fake_nas(SECRET, drop_first=1)
    nas.add_session("u1", "81a00001", "100.64.0.5")

    outcome = disconnect(nas.target, username="u1", timeout=0.2, retries=2)

    assert (outcome.status, outcome.sent) == ("ack", 2)
    first, second = nas.received
    assert first.identifier == second.identifier
    assert first.attributes == second.attributes
    assert (first.reply_code, second.reply_code) == (None, DISCONNECT_ACK)
    assert nas.sessions == {}


def test_a_repeated_request_gets_the_first_answer_without_acting_twice(fake_nas):
    nas = fake_nas(SECRET)
    nas.add_session("u1", "81a00001", "100.64.0.5")
    request = build_request(DISCONNECT_REQUEST, SECRET, [("User-Name", "u1")], identifier=7)
    packet = request.RequestPacket()

    replies = exchange_raw(nas.port, packet, packet)

    assert replies[0] is not None
    assert replies[0] == replies[1]
    assert dynauth.verify_reply(request, replies[0]).code == DISCONNECT_ACK
    assert [(packet.reply_code, packet.duplicate) for packet in nas.received] == [
        (DISCONNECT_ACK, False),
        (DISCONNECT_ACK, True),
    ]


@pytest.mark.parametrize("tamper", ["response_authenticator", "message_authenticator"])
def test_a_reply_that_fails_verification_is_invalid_never_an_ack(fake_nas, tamper):
    nas = fake_nas(SECRET, tamper=tamper)
    nas.add_session("u1", "81a00001", "100.64.0.5")

    outcome = disconnect(nas.target, username="u1", timeout=0.3, retries=2)

    assert outcome.status == "invalid"
    assert not outcome.acknowledged
    assert outcome.sent == 1
    assert [packet.reply_code for packet in nas.received] == [DISCONNECT_ACK]


def test_a_request_under_another_secret_is_dropped_and_times_out(fake_nas):
    nas = fake_nas(SECRET)
    nas.add_session("u1", "81a00001", "100.64.0.5")

    outcome = disconnect(Target("127.0.0.1", nas.port, "not-the-secret"), username="u1", **FAST)

    # The strict NAS drops a request it cannot verify, so nothing answers and nothing changes.
    assert outcome.status == "timeout"
    assert not nas.wait_for(1)[0].authenticator_valid
    assert set(nas.sessions) == {"81a00001"}


def _without_message_authenticator() -> bytes:
    request = build_request(DISCONNECT_REQUEST, SECRET, [("User-Name", "u1")], identifier=1)
    request.message_authenticator = None
    del request[80]
    return request.RequestPacket()


def _with_wrong_message_authenticator() -> bytes:
    packet = bytearray(
        build_request(
            DISCONNECT_REQUEST, SECRET, [("User-Name", "u1")], identifier=2
        ).RequestPacket()
    )
    assert packet[20:22] == b"\x50\x12"  # Message-Authenticator comes first
    packet[22] ^= 0xFF
    return with_request_authenticator(bytes(packet))


def _with_wrong_request_authenticator() -> bytes:
    packet = bytearray(
        build_request(
            DISCONNECT_REQUEST, SECRET, [("User-Name", "u1")], identifier=3
        ).RequestPacket()
    )
    packet[4] ^= 0xFF
    return bytes(packet)


def _with_a_stale_timestamp() -> bytes:
    attributes = [("User-Name", "u1"), ("Event-Timestamp", str(int(time.time()) - 600))]
    return build_request(DISCONNECT_REQUEST, SECRET, attributes, identifier=4).RequestPacket()


@pytest.mark.parametrize(
    ("make_packet", "authenticator", "message_authenticator", "timestamp"),
    [
        (_without_message_authenticator, True, None, True),
        (_with_wrong_message_authenticator, True, False, True),
        (_with_wrong_request_authenticator, False, True, True),
        (_with_a_stale_timestamp, True, True, False),
    ],
)
def test_the_fake_drops_what_a_strict_router_drops(
    fake_nas, make_packet, authenticator, message_authenticator, timestamp
):
    nas = fake_nas(SECRET)
    nas.add_session("u1", "81a00001", "100.64.0.5")

    assert exchange_raw(nas.port, make_packet()) == [None]
    [received] = nas.wait_for(1)
    assert received.authenticator_valid is authenticator
    assert received.message_authenticator_valid is message_authenticator
    assert received.timestamp_valid is timestamp
    assert not received.verified
    assert received.reply_code is None
    assert set(nas.sessions) == {"81a00001"}


def test_a_coa_brings_the_rate_limit_to_the_session(fake_nas):
    nas = fake_nas(SECRET)
    session = nas.add_session("u1", "81a00001", "100.64.0.5", rate_limit="20M/20M")

    outcome = change_authorization(
        nas.target,
        username="u1",
        session_id="81a00001",
        attributes={"Mikrotik-Rate-Limit": "2M/2M", "Session-Timeout": "3600"},
        **FAST,
    )

    assert outcome.status == "ack"
    assert session.rate_limit == "2M/2M"
    [received] = nas.received
    assert received.code == COA_REQUEST
    assert received.verified
    assert received.reply_code == COA_ACK
    assert received.attributes["Mikrotik-Rate-Limit"] == ["2M/2M"]
    assert received.attributes["Session-Timeout"] == ["3600"]


def test_a_router_without_coa_naks_it_and_still_disconnects(fake_nas):
    nas = fake_nas(SECRET, mode="coa_unsupported")
    session = nas.add_session("u1", "81a00001", "100.64.0.5", rate_limit="20M/20M")

    coa = change_authorization(
        nas.target, username="u1", attributes={"Mikrotik-Rate-Limit": "2M/2M"}, **FAST
    )
    fallback = disconnect(nas.target, username="u1", **FAST)

    assert (coa.status, coa.error_cause, coa.error_cause_name) == (
        "nak",
        406,
        "Unsupported-Extension",
    )
    assert session.rate_limit == "20M/20M"
    assert fallback.status == "ack"
    assert nas.sessions == {}


def test_a_lying_router_acks_and_keeps_the_session(fake_nas):
    nas = fake_nas(SECRET, mode="liar")
    nas.add_session("u1", "81a00001", "100.64.0.5")

    outcome = disconnect(nas.target, username="u1", **FAST)

    assert outcome.status == "ack"
    assert set(nas.sessions) == {"81a00001"}


def test_the_mikrotik_port_is_just_a_port(fake_nas):
    try:
        nas = fake_nas(SECRET, port=MIKROTIK_PORT)
    except OSError as exc:
        pytest.skip(f"port {MIKROTIK_PORT} is taken on this machine: {exc}")
    nas.add_session("u1", "81a00001", "100.64.0.5")

    outcome = disconnect(Target("127.0.0.1", MIKROTIK_PORT, SECRET), username="u1", **FAST)

    assert (RFC_PORT, MIKROTIK_PORT) == (3799, 1700)
    assert outcome.status == "ack"


def test_nobody_listening_is_an_error():
    [port] = free_udp_ports(1)

    outcome = disconnect(Target("127.0.0.1", port, SECRET), username="u1", timeout=1, retries=2)

    assert outcome.status == "error"
    assert outcome.sent == 1
    assert "refused" in outcome.detail.lower()


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"Not-An-Attribute": "1"}, "Unknown RADIUS attribute 'Not-An-Attribute'"),
        ({"Session-Timeout": "an hour"}, "Invalid value 'an hour' for Session-Timeout"),
    ],
)
def test_refuses_attributes_it_cannot_encode_and_sends_nothing(fake_nas, attributes, message):
    nas = fake_nas(SECRET)

    with pytest.raises(ValueError, match=message):
        change_authorization(nas.target, username="u1", attributes=attributes, **FAST)

    time.sleep(0.1)
    assert nas.received == []


def test_refuses_a_request_without_username():
    with pytest.raises(ValueError, match="username is required"):
        disconnect(Target("127.0.0.1", 9, SECRET), username="")


@pytest.mark.parametrize(
    ("timeout", "retries", "message"),
    [(0, 1, "timeout"), (61, 1, "timeout"), (1, -1, "retries"), (1, 11, "retries")],
)
def test_refuses_unbounded_timeouts_and_retries(fake_nas, timeout, retries, message):
    nas = fake_nas(SECRET)

    with pytest.raises(ValueError, match=message):
        disconnect(nas.target, username="u1", timeout=timeout, retries=retries)

    time.sleep(0.1)
    assert nas.received == []


@pytest.mark.parametrize(
    ("address", "port", "secret", "message"),
    [
        ("", 3799, SECRET, "address is required"),
        ("127.0.0.1", 0, SECRET, "Invalid port 0"),
        ("127.0.0.1", 3799, "", "secret is required"),
    ],
)
def test_refuses_an_incomplete_target(address, port, secret, message):
    with pytest.raises(ValueError, match=message):
        Target(address, port, secret)


# FreeRADIUS's radclient as the independent peer


def radclient(port: int, kind: str, lines: list[str], secret: str = SECRET) -> str:
    binary = require_binary("radclient", "freeradius-utils")
    result = subprocess.run(
        [binary, "-x", "-r", "1", "-t", "1", f"127.0.0.1:{port}", kind, secret],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return result.stdout + result.stderr


def test_radclient_and_the_fake_verify_each_other(fake_nas):
    nas = fake_nas(SECRET)
    session = nas.add_session("u1", "81a00001", "100.64.0.5")
    identity = ["Message-Authenticator = 0x00", 'User-Name = "u1"', 'Acct-Session-Id = "81a00001"']

    coa = parse_radclient(radclient(nas.port, "coa", [*identity, 'Mikrotik-Rate-Limit = "2M/2M"']))
    gone = parse_radclient(radclient(nas.port, "disconnect", identity))

    # radclient printed the replies, so it verified their authenticators; the fake verified
    # radclient's requests, or it would not have answered.
    assert coa is not None
    assert coa.code == "CoA-ACK"
    assert gone is not None
    assert gone.code == "Disconnect-ACK"
    assert "Message-Authenticator" in gone.attributes
    assert session.rate_limit == "2M/2M"
    assert nas.sessions == {}
    assert [(packet.code, packet.verified) for packet in nas.received] == [
        (COA_REQUEST, True),
        (DISCONNECT_REQUEST, True),
    ]


def test_radclient_rejects_the_reply_our_client_rejects(fake_nas):
    nas = fake_nas(SECRET, tamper="message_authenticator")
    nas.add_session("u1", "81a00001", "100.64.0.5")

    output = radclient(nas.port, "disconnect", ["Message-Authenticator = 0x00", 'User-Name = "u1"'])

    assert parse_radclient(output) is None
    assert "invalid Message-Authenticator" in output


def test_the_fake_drops_radclient_requests_without_message_authenticator(fake_nas):
    nas = fake_nas(SECRET)
    nas.add_session("u1", "81a00001", "100.64.0.5")

    output = radclient(nas.port, "disconnect", ['User-Name = "u1"'])

    assert parse_radclient(output) is None
    [received] = nas.wait_for(1)
    assert received.authenticator_valid
    assert received.message_authenticator_valid is None
    assert set(nas.sessions) == {"81a00001"}


@pytest.mark.parametrize(
    ("kind", "code", "extra"),
    [
        ("disconnect", DISCONNECT_REQUEST, []),
        ("coa", COA_REQUEST, [("Mikrotik-Rate-Limit", "2M/2M"), ("Session-Timeout", "3600")]),
    ],
)
def test_our_requests_are_byte_for_byte_those_of_radclient(kind, code, extra):
    attributes = [
        ("User-Name", "u1"),
        ("Acct-Session-Id", "81a00001"),
        ("Framed-IP-Address", "100.64.0.5"),
        ("NAS-IP-Address", "10.0.0.1"),
        ("Event-Timestamp", str(int(time.time()))),
        *extra,
    ]
    lines = ["Message-Authenticator = 0x00", *(f'{name} = "{value}"' for name, value in attributes)]
    binary = require_binary("radclient", "freeradius-utils")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(5)
        port = listener.getsockname()[1]
        with subprocess.Popen(
            [binary, "-r", "1", "-t", "0.5", f"127.0.0.1:{port}", kind, SECRET],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ) as process:
            process.communicate("\n".join(lines).encode() + b"\n", timeout=10)
            theirs = listener.recv(4096)

    ours = build_request(code, SECRET, attributes, identifier=theirs[1]).RequestPacket()

    assert ours == theirs


# A real FreeRADIUS receiving the fake router's accounting


def wait_for_row(username: str, *, stopped: bool, timeout: float = 5.0) -> RadAcct:
    deadline = time.monotonic() + timeout
    while True:
        row = RadAcct.objects.filter(username=username).first()
        if row is not None and (row.stop_time is not None) is stopped:
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"no {'closed' if stopped else 'open'} session of {username}")
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_an_honest_disconnect_closes_the_session_in_radacct(freeradius, fake_nas):
    nas = fake_nas(freeradius.secret, accounting=("127.0.0.1", freeradius.acct_port))
    session = nas.add_session("u-coa-honest", "81b00001", "100.64.1.5", start=True)
    wait_for_row("u-coa-honest", stopped=False)
    session.input_octets = 2**32 + 10
    session.output_octets = 900

    outcome = disconnect(
        nas.target, username="u-coa-honest", session_id="81b00001", timeout=2, retries=1
    )

    assert outcome.status == "ack"
    row = wait_for_row("u-coa-honest", stopped=True)
    assert row.session_id == "81b00001"
    assert row.terminate_cause == "Admin-Reset"
    assert row.nas_ip_address == "10.0.0.1"
    assert row.framed_ip_address == "100.64.1.5"
    assert (row.input_octets, row.output_octets) == (2**32 + 10, 900)
    deadline = time.monotonic() + 5
    while len(nas.accounting_sent) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert nas.accounting_sent == [
        ("81b00001", "Start", 5),
        ("81b00001", "Stop", 5),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_lying_router_leaves_the_session_open_in_radacct(freeradius, fake_nas):
    nas = fake_nas(freeradius.secret, mode="liar", accounting=("127.0.0.1", freeradius.acct_port))
    session = nas.add_session("u-coa-liar", "81b00002", "100.64.1.6", start=True)

    outcome = disconnect(nas.target, username="u-coa-liar", timeout=2, retries=1)
    nas.send_accounting(session, "Interim-Update")

    assert outcome.status == "ack"
    row = wait_for_row("u-coa-liar", stopped=False)
    assert row.update_time is not None
    assert [status for _, status, _ in nas.accounting_sent] == ["Start", "Interim-Update"]


def exchange_raw(port: int, *packets: bytes, timeout: float = 0.3) -> list[bytes | None]:
    """Send datagrams by hand from one socket, each after the previous reply; the replies."""
    replies: list[bytes | None] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("127.0.0.1", port))
        sock.settimeout(timeout)
        for packet in packets:
            sock.send(packet)
            try:
                replies.append(sock.recv(4096))
            except TimeoutError:
                replies.append(None)
    return replies


def with_request_authenticator(packet: bytes) -> bytes:
    """``packet`` with its Request Authenticator recomputed over what it now holds."""
    digest = hashlib.md5(packet[:4] + bytes(16) + packet[20:] + SECRET.encode()).digest()
    return packet[:4] + digest + packet[20:]
