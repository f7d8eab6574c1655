"""RFC 5176 Dynamic Authorization client: Disconnect-Request and CoA-Request to a router.

Two calls, :func:`disconnect` and :func:`change_authorization`, each send one request to one
:class:`Target` and return an :class:`Outcome`; they never raise for what the network or the
router does (only for bad arguments), so callers branch on ``Outcome.status``.

On the wire (RFC 5176 §2.3, §3; RFC 3579 §3.2):

- every request gets a random Identifier, its own UDP socket (connected, so only the target's
  replies are read), ``Event-Timestamp`` (now) and a ``Message-Authenticator`` as its first
  attribute, computed over the packet with a zero Request Authenticator; the Request
  Authenticator is then MD5(Code, Identifier, Length, 16 zero octets, Attributes, Secret);
- a retransmission repeats the same packet (same Identifier, timestamp and authenticators), so
  a router that already acted answers from its duplicate cache instead of acting again;
- a reply counts only if its code answers the request (41/42 to a Disconnect, 44/45 to a CoA),
  its Response Authenticator is MD5(Code, Identifier, Length, Request Authenticator,
  Attributes, Secret) and its Message-Authenticator, when present, is the HMAC-MD5 keyed with
  the secret over the reply with the Request Authenticator. Any other datagram is ignored; if
  only such datagrams came before the time ran out, the outcome is ``invalid``, never ``ack``.

Nothing is shared between calls but the parsed attribute dictionary (read-only).
"""

import secrets
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pyrad.dictionary import Dictionary
from pyrad.packet import (
    CoAACK,
    CoANAK,
    CoAPacket,
    CoARequest,
    DisconnectACK,
    DisconnectNAK,
    DisconnectRequest,
    PacketError,
)

RFC_PORT = 3799
"""The port RFC 5176 assigns to Dynamic Authorization."""

MIKROTIK_PORT = 1700
"""RouterOS's default ``/radius incoming`` port."""

DICTIONARY_PATH = Path(__file__).with_name("dictionary")

Status = Literal["ack", "nak", "timeout", "invalid", "error"]

_REPLIES = {
    DisconnectRequest: {DisconnectACK: "ack", DisconnectNAK: "nak"},
    CoARequest: {CoAACK: "ack", CoANAK: "nak"},
}
_INTEGER_TYPES = {"integer", "signed", "short", "byte", "date", "integer64"}
_ERROR_CAUSE = 101
_MESSAGE_AUTHENTICATOR = 80


@dataclass(frozen=True)
class Target:
    """A router's Dynamic Authorization listener: address (IPv4, IPv6 or name), port, secret.

    The port is the router's: :data:`RFC_PORT` or, for RouterOS unless changed,
    :data:`MIKROTIK_PORT`.
    """

    address: str
    port: int
    secret: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.address:
            raise ValueError("A router address is required.")
        if not 0 < self.port < 65536:
            raise ValueError(f"Invalid port {self.port}.")
        if not self.secret:
            raise ValueError("A shared secret is required.")


@dataclass(frozen=True)
class Outcome:
    """What came of one request.

    ``status``: ``ack`` (the router did it), ``nak`` (it refused: see ``error_cause``),
    ``timeout`` (no reply after every retransmission), ``invalid`` (only replies that failed
    verification or did not answer the request), ``error`` (a socket error, in ``detail``).
    ``round_trip`` is the time from the last packet sent to the verified reply, in seconds;
    ``sent`` counts the packets sent (1 + retransmissions).
    """

    status: Status
    sent: int
    round_trip: float | None = None
    error_cause: int | None = None
    error_cause_name: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    detail: str = ""

    @property
    def acknowledged(self) -> bool:
        return self.status == "ack"


@cache
def dictionary() -> Dictionary:
    """The attribute dictionary shipped with ispbills (``ispbills/radius/dictionary``)."""
    return Dictionary(str(DICTIONARY_PATH))


def disconnect(
    target: Target,
    *,
    username: str,
    session_id: str | None = None,
    framed_ip: str | None = None,
    nas_ip: str | None = None,
    timeout: float = 3.0,
    retries: int = 2,
) -> Outcome:
    """Ask the router to end the sessions matching ``username`` and the other identifiers.

    For MikroTik pass the exact ``Acct-Session-Id`` seen in accounting: a session id in another
    format is the classic cause of ``Session-Context-Not-Found`` NAKs.
    """
    identification = _identification(username, session_id, framed_ip, nas_ip)
    return _exchange(target, DisconnectRequest, identification, timeout, retries)


def change_authorization(
    target: Target,
    *,
    username: str,
    attributes: Mapping[str, str],
    session_id: str | None = None,
    framed_ip: str | None = None,
    nas_ip: str | None = None,
    timeout: float = 3.0,
    retries: int = 2,
) -> Outcome:
    """Ask the router to apply ``attributes`` (e.g. ``Mikrotik-Rate-Limit``) to live sessions.

    Attribute names are those of the dictionary; values are given as text, numbers too.
    """
    identification = _identification(username, session_id, framed_ip, nas_ip)
    return _exchange(target, CoARequest, [*identification, *attributes.items()], timeout, retries)


def decode_attributes(packet: CoAPacket) -> dict[str, list[str]]:
    """A packet's attributes as text, by name (``Attr-<number>`` for unknown ones, in hex)."""
    decoded: dict[str, list[str]] = {}
    names = packet.keys()  # pyrad names known attributes only through keys()
    for key in names:
        if key in (_MESSAGE_AUTHENTICATOR, "Message-Authenticator"):
            continue
        if isinstance(key, str):
            decoded[key] = [_text(value) for value in packet[key]]
        else:
            number = ".".join(str(part) for part in key) if isinstance(key, tuple) else str(key)
            decoded[f"Attr-{number}"] = ["0x" + bytes(value).hex() for value in packet[key]]
    return decoded


def build_request(
    code: int, secret: str, attributes: Sequence[tuple[str, str]], *, identifier: int
) -> CoAPacket:
    """A Disconnect- or CoA-Request carrying Message-Authenticator and ``attributes``.

    Raises ``ValueError`` for an attribute the dictionary does not know or a value its type
    cannot hold.
    """
    request = CoAPacket(code=code, id=identifier, secret=secret.encode(), dict=dictionary())
    request.add_message_authenticator()
    for name, value in attributes:
        attribute = dictionary().attributes.get(name)
        if attribute is None:
            raise ValueError(f"Unknown RADIUS attribute {name!r}: add it to {DICTIONARY_PATH}")
        try:
            request.AddAttribute(name, _typed(attribute, value))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Invalid value {value!r} for {name}: {exc}") from exc
    return request


def verify_reply(request: CoAPacket, data: bytes) -> CoAPacket | None:
    """The reply decoded from ``data`` if it is a verified answer to ``request``, else None."""
    try:
        reply = request.CreateReply(packet=data)
    except (PacketError, KeyError, ValueError):
        return None
    if reply.code not in _REPLIES[request.code]:
        return None
    if not request.VerifyReply(reply, data):
        return None
    return reply


def _identification(
    username: str, session_id: str | None, framed_ip: str | None, nas_ip: str | None
) -> list[tuple[str, str]]:
    if not username:
        raise ValueError("A username is required to identify the session.")
    pairs = [("User-Name", username)]
    if session_id:
        pairs.append(("Acct-Session-Id", session_id))
    if framed_ip:
        pairs.append(("Framed-IP-Address", framed_ip))
    if nas_ip:
        pairs.append(("NAS-IP-Address", nas_ip))
    pairs.append(("Event-Timestamp", str(int(time.time()))))
    return pairs


def _exchange(
    target: Target,
    code: int,
    attributes: Sequence[tuple[str, str]],
    timeout: float,
    retries: int,
) -> Outcome:
    if not 0 < timeout <= 60:
        raise ValueError("timeout must be between 0 and 60 seconds")
    if not 0 <= retries <= 10:
        raise ValueError("retries must be between 0 and 10")
    request = build_request(code, target.secret, attributes, identifier=secrets.randbelow(256))
    packet = request.RequestPacket()
    sent = 0
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            target.address, target.port, type=socket.SOCK_DGRAM
        )[0]
        with socket.socket(family, kind, proto) as sock:
            sock.connect(address)
            invalid = False
            for _ in range(retries + 1):
                sock.send(packet)
                sent += 1
                sent_at = time.monotonic()
                while (remaining := sent_at + timeout - time.monotonic()) > 0:
                    sock.settimeout(remaining)
                    try:
                        data = sock.recv(4096)
                    except TimeoutError:
                        break
                    reply = verify_reply(request, data)
                    if reply is None:
                        invalid = True
                        continue
                    return _outcome(request.code, reply, sent, time.monotonic() - sent_at)
                if invalid:
                    # The router answers, but not with our secret: retransmitting cannot help.
                    return Outcome("invalid", sent, detail="reply failed verification")
    except OSError as exc:
        return Outcome("error", sent, detail=str(exc) or type(exc).__name__)
    return Outcome("timeout", sent)


def _outcome(request_code: int, reply: CoAPacket, sent: int, round_trip: float) -> Outcome:
    status: Status = "ack" if _REPLIES[request_code][reply.code] == "ack" else "nak"
    cause: int | None = None
    cause_name: str | None = None
    raw_causes = reply.get(_ERROR_CAUSE)
    if raw_causes and len(raw_causes[0]) == 4:
        cause = int.from_bytes(raw_causes[0], "big")
        name = reply["Error-Cause"][0]
        cause_name = name if isinstance(name, str) else None
    return Outcome(
        status,
        sent,
        round_trip=round_trip,
        error_cause=cause,
        error_cause_name=cause_name,
        attributes=decode_attributes(reply),
    )


def _typed(attribute: Any, value: str) -> object:
    if attribute.type in _INTEGER_TYPES and not attribute.values.HasForward(value):
        return int(value)
    return value


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)
