"""A fake NAS (router) on 127.0.0.1: the receiving end of RFC 5176, and an accounting sender.

It checks every Disconnect-/CoA-Request as a strict router does (RouterOS with
``require-message-auth``): the Request Authenticator, a Message-Authenticator that must be
present and right, an ``Event-Timestamp`` within 300 s; anything else is dropped without a
reply. Replies are signed with Message-Authenticator. Duplicates (same source, Identifier and
authenticator) get the cached reply, as RFC 5080 §2.2.2 asks, without acting twice.

It holds sessions and acts on them by ``mode``:

- ``honest``: Disconnect ends the matching sessions, ACKs and, with an accounting address,
  sends an Accounting-Request Stop for each (Acct-Terminate-Cause Admin-Reset), as a router
  does; CoA applies ``Mikrotik-Rate-Limit`` to them and ACKs.
- ``liar``: ACKs and changes nothing, sends no Stop.
- ``silent``: never answers.
- ``nak``: NAKs everything with ``error_cause`` (503 Session-Context-Not-Found by default).
- ``coa_unsupported``: CoA-NAK 406 Unsupported-Extension; Disconnect as ``honest``.

In ``honest`` and ``liar`` modes the NAS still checks identification like a router: a foreign
NAS-IP-Address/NAS-Identifier gets NAK 403, no session attribute NAK 402, no matching session
NAK 503. Every datagram is recorded in ``received`` for assertions.
"""

import hashlib
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Literal

from pyrad.packet import (
    AccountingRequest,
    AccountingResponse,
    AcctPacket,
    CoANAK,
    CoAPacket,
    CoARequest,
    DisconnectNAK,
    DisconnectRequest,
    PacketError,
)

from ispbills.radius.dynauth import Target, decode_attributes, dictionary

Mode = Literal["honest", "liar", "silent", "nak", "coa_unsupported"]
Tamper = Literal["response_authenticator", "message_authenticator"]
TIMESTAMP_WINDOW = 300


@dataclass
class Session:
    """A subscriber session on the fake NAS, with its counters (64-bit octet totals)."""

    username: str
    session_id: str
    framed_ip: str
    mac: str = "AA:BB:CC:00:00:01"
    rate_limit: str = ""
    input_octets: int = 0
    output_octets: int = 0
    started: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Received:
    """One datagram the NAS received and what it made of it."""

    code: int
    identifier: int
    attributes: dict[str, list[str]]
    authenticator_valid: bool
    message_authenticator_valid: bool | None  # None: absent
    timestamp_valid: bool
    reply_code: int | None  # None: dropped or not answered
    duplicate: bool = False

    @property
    def verified(self) -> bool:
        return (
            self.authenticator_valid
            and self.message_authenticator_valid is True
            and self.timestamp_valid
        )


class FakeNas:
    """A UDP Dynamic Authorization server in a thread; use as a context manager."""

    def __init__(
        self,
        secret: str,
        *,
        mode: Mode = "honest",
        error_cause: int = 503,
        nas_ip: str = "10.0.0.1",
        nas_identifier: str = "fake-nas",
        accounting: tuple[str, int] | None = None,
        accounting_secret: str | None = None,
        drop_first: int = 0,
        tamper: Tamper | None = None,
        port: int = 0,
    ) -> None:
        self.secret = secret
        self.mode = mode
        self.error_cause = error_cause
        self.nas_ip = nas_ip
        self.nas_identifier = nas_identifier
        self.accounting = accounting
        self.accounting_secret = accounting_secret or secret
        self.drop_first = drop_first
        self.tamper = tamper
        self.sessions: dict[str, Session] = {}
        self.received: list[Received] = []
        self.accounting_sent: list[tuple[str, str, int | None]] = []
        self._lock = threading.Lock()
        self._replies: dict[tuple[tuple[str, int], int, bytes], bytes | None] = {}
        self._stopping = threading.Event()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", port))
        self._socket.settimeout(0.05)
        self.port: int = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="fake-nas", daemon=True)

    @property
    def target(self) -> Target:
        return Target("127.0.0.1", self.port, self.secret)

    def start(self) -> "FakeNas":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self._socket.close()

    def __enter__(self) -> "FakeNas":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Sessions and accounting

    def add_session(
        self,
        username: str,
        session_id: str,
        framed_ip: str,
        *,
        rate_limit: str = "",
        start: bool = False,
    ) -> Session:
        """Hold a session; with ``start=True`` also send its Accounting Start."""
        session = Session(username, session_id, framed_ip, rate_limit=rate_limit)
        with self._lock:
            self.sessions[session_id] = session
        if start:
            self.send_accounting(session, "Start")
        return session

    def send_accounting(
        self,
        session: Session,
        status: Literal["Start", "Interim-Update", "Stop"],
        *,
        terminate_cause: str = "User-Request",
        timeout: float = 2.0,
    ) -> int | None:
        """Send an Accounting-Request for ``session``; the verified reply's code, or None."""
        if self.accounting is None:
            raise RuntimeError("This fake NAS has no accounting address.")
        request = AcctPacket(
            code=AccountingRequest, secret=self.accounting_secret.encode(), dict=dictionary()
        )
        request["Acct-Status-Type"] = status
        request["User-Name"] = session.username
        request["Acct-Session-Id"] = session.session_id
        request["NAS-IP-Address"] = self.nas_ip
        request["NAS-Identifier"] = self.nas_identifier
        request["NAS-Port-Type"] = "Ethernet"
        request["Service-Type"] = "Framed-User"
        request["Framed-Protocol"] = "PPP"
        request["Framed-IP-Address"] = session.framed_ip
        request["Calling-Station-Id"] = session.mac
        request["Acct-Authentic"] = "RADIUS"
        request["Acct-Delay-Time"] = 0
        request["Event-Timestamp"] = int(time.time())
        if session.rate_limit:
            request["Mikrotik-Rate-Limit"] = session.rate_limit
        if status != "Start":
            request["Acct-Session-Time"] = int(time.monotonic() - session.started)
            request["Acct-Input-Octets"] = session.input_octets & 0xFFFFFFFF
            request["Acct-Input-Gigawords"] = session.input_octets >> 32
            request["Acct-Output-Octets"] = session.output_octets & 0xFFFFFFFF
            request["Acct-Output-Gigawords"] = session.output_octets >> 32
        if status == "Stop":
            request["Acct-Terminate-Cause"] = terminate_cause
        packet = request.RequestPacket()
        code: int | None = None
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(self.accounting)
            sock.settimeout(timeout)
            for _ in range(3):
                sock.send(packet)
                try:
                    data = sock.recv(4096)
                except TimeoutError:
                    continue
                reply = request.CreateReply(packet=data)
                if reply.code == AccountingResponse and request.VerifyReply(reply, data):
                    code = reply.code
                    break
        with self._lock:
            self.accounting_sent.append((session.session_id, status, code))
        return code

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """Wait until ``count`` datagrams have been received (and handled); all of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} packets, received {len(self.received)}")

    # Serving

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                data, source = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self._handle(data, source)

    def _handle(self, data: bytes, source: tuple[str, int]) -> None:
        try:
            request = CoAPacket(secret=self.secret.encode(), dict=dictionary(), packet=data)
            attributes = decode_attributes(request)
        except (PacketError, KeyError, ValueError):
            self._record(Received(data[0] if data else 0, -1, {}, False, None, False, None))
            return
        authenticator_valid = request.code in (DisconnectRequest, CoARequest) and bool(
            request.VerifyCoARequest()
        )
        message_authenticator = (
            bool(request.verify_message_authenticator()) if request.message_authenticator else None
        )
        timestamps = attributes.get("Event-Timestamp", [])
        timestamp_valid = all(_within_window(value) for value in timestamps)
        seen = Received(
            request.code,
            request.id,
            attributes,
            authenticator_valid,
            message_authenticator,
            timestamp_valid,
            None,
        )
        if not seen.verified:
            self._record(seen)
            return
        key = (source, request.id, request.authenticator)
        with self._lock:
            cached = key in self._replies
            cached_reply = self._replies.get(key)
            dropping = not cached and self.drop_first > 0
            if dropping:
                self.drop_first -= 1
        if cached:
            self._record(replace(seen, reply_code=_code(cached_reply), duplicate=True))
            if cached_reply is not None:
                self._socket.sendto(cached_reply, source)
            return
        if dropping or self.mode == "silent":
            self._record(seen)
            return
        reply, ended = self._act(request, attributes)
        raw = self._encode(request, reply)
        with self._lock:
            self._replies[key] = raw
        self._record(replace(seen, reply_code=reply.code))
        self._socket.sendto(raw, source)
        if self.accounting is not None:
            for session in ended:
                self.send_accounting(session, "Stop", terminate_cause="Admin-Reset")

    def _act(
        self, request: CoAPacket, attributes: dict[str, list[str]]
    ) -> tuple[CoAPacket, list[Session]]:
        """The reply to a verified request, and the sessions it ended."""
        nak_code = DisconnectNAK if request.code == DisconnectRequest else CoANAK

        def nak(cause: int) -> tuple[CoAPacket, list[Session]]:
            reply = request.CreateReply()
            reply.code = nak_code
            reply["Error-Cause"] = cause
            return reply, []

        if self.mode == "nak":
            return nak(self.error_cause)
        if self.mode == "coa_unsupported" and request.code == CoARequest:
            return nak(406)
        for name, own in (("NAS-IP-Address", self.nas_ip), ("NAS-Identifier", self.nas_identifier)):
            if name in attributes and attributes[name] != [own]:
                return nak(403)
        wanted = {
            field_name: attributes[name][0]
            for name, field_name in (
                ("User-Name", "username"),
                ("Acct-Session-Id", "session_id"),
                ("Framed-IP-Address", "framed_ip"),
            )
            if name in attributes
        }
        if not wanted:
            return nak(402)
        with self._lock:
            matches = [
                session
                for session in self.sessions.values()
                if all(getattr(session, name) == value for name, value in wanted.items())
            ]
            if not matches:
                return nak(503)
            ended: list[Session] = []
            if self.mode != "liar":
                if request.code == DisconnectRequest:
                    for session in matches:
                        del self.sessions[session.session_id]
                    ended = matches
                elif "Mikrotik-Rate-Limit" in attributes:
                    for session in matches:
                        session.rate_limit = attributes["Mikrotik-Rate-Limit"][0]
        return request.CreateReply(), ended

    def _encode(self, request: CoAPacket, reply: CoAPacket) -> bytes:
        reply.add_message_authenticator()
        raw = bytearray(reply.ReplyPacket())
        if self.tamper == "response_authenticator":
            raw[4] ^= 0xFF
        elif self.tamper == "message_authenticator":
            # A wrong HMAC under a right Response Authenticator: only the HMAC check catches it.
            raw[22] ^= 0xFF
            raw[4:20] = hashlib.md5(
                bytes(raw[:4]) + request.authenticator + bytes(raw[20:]) + self.secret.encode()
            ).digest()
        return bytes(raw)

    def _record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)


def _within_window(value: str) -> bool:
    try:
        return abs(time.time() - int(value)) <= TIMESTAMP_WINDOW
    except ValueError:
        return False


def _code(raw: bytes | None) -> int | None:
    return raw[0] if raw else None
