"""Ending (or re-rating) a customer's live sessions, verified against accounting.

A ``Disconnect`` row is created in the transaction of the change that calls for it (a
suspension, a package or FUP speed change); a job then processes it after commit:

1. find the username's open sessions in ``radacct`` and the NAS holding each;
2. disconnect: none open → done. Otherwise send a Disconnect-Request (RFC 5176) to each NAS
   and look again after a backoff; sessions still open are sent another request, until
   ``BACKOFF`` is spent, then the disconnect is *unresolved*: an alert in the panel. An ACK
   alone proves nothing (routers ACK and keep the session); only accounting does.
3. CoA: a CoA-Request with the attributes provisioning now gives the user (rate limit,
   address list); all ACKed → done; a NAK or no answer falls back to a disconnect.

Every packet is a ``DisconnectAttempt``. The rules are in docs/radius.md ("Disconnect").
"""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ispbills.core import audit, events
from ispbills.radius import provisioning
from ispbills.radius.models import Disconnect, DisconnectAttempt, NasDevice

log = logging.getLogger(__name__)

# Seconds to wait before each verification; a session still open then is sent a new request.
BACKOFF = (5, 15, 60, 300, 900)
# Reply attributes a CoA carries (what a speed or walled-garden change alters).
COA_ATTRIBUTES = ("Mikrotik-Rate-Limit", "Mikrotik-Address-List")


@dataclass
class OpenSession:
    """An open accounting session and the NAS device it is on (None: unknown NAS)."""

    session_id: str
    nas_ip: str
    framed_ip: str | None
    device: NasDevice | None


def request(
    *,
    tenant_id: int,
    operator_id: int,
    customer_id: int,
    username: str,
    kind: str,
    reason: str,
    actor: Any = None,
) -> Disconnect | None:
    """Record a disconnect or CoA for a customer and queue its processing after commit.

    A pending request of the same kind for the customer is reused (its reason updated), so a
    burst of changes sends one request. Returns None when one was already pending.
    """
    from ispbills.radius.tasks import process_disconnect_task

    with transaction.atomic():
        pending = (
            Disconnect.objects.select_for_update()
            .filter(customer_id=customer_id, kind=kind, status=Disconnect.Status.PENDING)
            .first()
        )
        if pending is not None:
            pending.reason = reason[:200]
            pending.save(update_fields=["reason", "updated_at"])
            return None
        item = Disconnect.objects.create(
            tenant_id=tenant_id,
            operator_id=operator_id,
            customer_id=customer_id,
            username=username,
            kind=kind,
            reason=reason[:200],
            next_try_at=timezone.now(),
            requested_by=actor if getattr(actor, "pk", None) else None,
        )
        process_disconnect_task.defer(disconnect_id=item.pk)
    return item


def request_for_customers(customer_ids: list[int], *, kind: str, reason: str) -> int:
    """``request()`` for customers by id (those with an open session only), set-based for
    bulk suspensions: pending requests of the kind are reused with the new reason, the rest
    are created and their jobs deferred in one batch. Returns the customers requested."""
    from ispbills.radius.tasks import process_disconnect_task

    if not customer_ids:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            WITH online AS (
                -- A username's sessions are its claimant's (the live customer with it,
                -- lowest id: provisioning's rule); another ISP's namesake is left alone.
                SELECT c.id, c.tenant_id, c.operator_id, c.username
                  FROM unnest(%(ids)s::bigint[]) AS given(id)
                  JOIN customers_customer c ON c.id = given.id
                 WHERE EXISTS (
                       SELECT 1 FROM radacct a
                        WHERE a.username = c.username AND a.acctstoptime IS NULL)
                   AND NOT EXISTS (
                       SELECT 1 FROM customers_customer x
                        WHERE upper(x.username) = upper(c.username) AND x.username = c.username
                          AND x.status <> 'deleted' AND x.id < c.id)
            ), pending AS (
                SELECT d.id, d.customer_id FROM radius_disconnect d
                 WHERE d.customer_id IN (SELECT id FROM online)
                   AND d.kind = %(kind)s AND d.status = 'pending'
                 ORDER BY d.id
                   FOR UPDATE
            ), reused AS (
                UPDATE radius_disconnect d SET reason = %(reason)s, updated_at = %(now)s
                  FROM pending p WHERE d.id = p.id
            ), created AS (
                INSERT INTO radius_disconnect (
                    tenant_id, operator_id, created_at, updated_at, customer_id, username, kind,
                    reason, status, attempts, next_try_at, outcome)
                SELECT tenant_id, operator_id, %(now)s, %(now)s, id, username, %(kind)s,
                       %(reason)s, 'pending', 0, %(now)s, ''
                  FROM online o
                 WHERE NOT EXISTS (SELECT 1 FROM pending p WHERE p.customer_id = o.id)
                 ORDER BY id
             RETURNING id
            )
            SELECT (SELECT count(*) FROM online), ARRAY(SELECT id FROM created ORDER BY id)
            """,
            {
                "ids": list(customer_ids),
                "kind": kind,
                "reason": reason[:200],
                "now": timezone.now(),
            },
        )
        requested, created = cursor.fetchone()
        if created:
            process_disconnect_task.batch_defer(*({"disconnect_id": pk} for pk in created))
    return int(requested)


def _group_rows(names: list[str]) -> dict[str, set[tuple[str, str, str]]]:
    rows: dict[str, set[tuple[str, str, str]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT groupname, attribute, op, value FROM radgroupreply WHERE groupname = ANY(%s)",
            [names],
        )
        for name, *row in cursor.fetchall():
            rows.setdefault(name, set()).add(tuple(row))
    return rows


def rewrite_packages(package_ids: list[int], *, reason: str) -> int:
    """Rewrite the packages' RADIUS groups; where a group's replies changed (a new speed or
    pool), re-rate the live sessions of its customers by CoA. Returns requests made."""
    names = provisioning.group_names(package_ids)
    before = _group_rows(names)
    provisioning.provision_packages(package_ids)
    after = _group_rows(names)
    changed = sorted(
        {int(name.split("-", 1)[1]) for name in names if before.get(name) != after.get(name)}
    )
    if not changed:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM customers_customer WHERE package_id = ANY(%s) "
            "AND status IN ('active', 'fup') ORDER BY id",
            [changed],
        )
        ids = [row[0] for row in cursor.fetchall()]
    return request_for_customers(ids, kind=Disconnect.Kind.COA, reason=reason)


def fup_changes_pool(customer_id: int) -> bool:
    """Whether the customer's package hands out FUP addresses from another pool: then a move
    into or out of FUP needs a new login (a CoA cannot change a session's address)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT (SELECT value FROM radgroupreply
                     WHERE groupname = '{provisioning.PACKAGE_GROUP}' || c.package_id
                       AND attribute = 'Framed-Pool')
                   IS DISTINCT FROM
                   (SELECT value FROM radgroupreply
                     WHERE groupname = '{provisioning.FUP_GROUP}' || c.package_id
                       AND attribute = 'Framed-Pool')
              FROM customers_customer c WHERE c.id = %s
            """,
            [customer_id],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def open_sessions(username: str, tenant_id: int) -> list[OpenSession]:
    """The username's open sessions, each with its NAS device when it is one of the ISP's."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT acctsessionid, host(nasipaddress), host(framedipaddress) FROM radacct
             WHERE username = %s AND acctstoptime IS NULL
             ORDER BY radacctid
            """,
            [username],
        )
        rows = cursor.fetchall()
    devices = {
        str(device.address): device
        for device in NasDevice.objects.filter(
            tenant_id=tenant_id, address__in={row[1] for row in rows}
        )
    }
    return [
        OpenSession(session_id, nas_ip, framed_ip, devices.get(nas_ip))
        for session_id, nas_ip, framed_ip in rows
    ]


def coa_attributes(username: str) -> dict[str, str]:
    """The reply attributes a CoA carries: the user's own over their groups' (like FreeRADIUS)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT attribute, value FROM (
                SELECT g.attribute, g.value, 1 + u.priority AS rank, g.id
                  FROM radusergroup u JOIN radgroupreply g ON g.groupname = u.groupname
                 WHERE u.username = %(name)s AND g.attribute = ANY(%(attrs)s)
                UNION ALL
                SELECT attribute, value, 0, id FROM radreply
                 WHERE username = %(name)s AND attribute = ANY(%(attrs)s)
            ) rows ORDER BY rank DESC, id
            """,
            {"name": username, "attrs": list(COA_ATTRIBUTES)},
        )
        # Later rows (lower rank) override earlier ones.
        return dict(cursor.fetchall())


def _send(item: Disconnect, session: OpenSession, attributes: dict[str, str]) -> str:
    """Send one request for a session and record the attempt; returns the result."""
    from ispbills.radius import dynauth

    if session.device is None or not session.device.is_active:
        DisconnectAttempt.objects.create(
            disconnect=item,
            nas_address=session.nas_ip,
            session_id=session.session_id,
            kind=item.kind,
            result="no-nas",
        )
        return "no-nas"
    target = dynauth.Target(session.device.address, session.device.coa_port, session.device.secret)
    # A packet unanswered after the timeout is sent again, twice.
    timeout = float(settings.RADIUS_DYNAUTH_TIMEOUT)
    if item.kind == Disconnect.Kind.COA:
        outcome = dynauth.change_authorization(
            target,
            username=item.username,
            session_id=session.session_id,
            attributes=attributes,
            timeout=timeout,
        )
    else:
        outcome = dynauth.disconnect(
            target,
            username=item.username,
            session_id=session.session_id,
            framed_ip=session.framed_ip,
            nas_ip=session.nas_ip,
            timeout=timeout,
        )
    DisconnectAttempt.objects.create(
        disconnect=item,
        nas_address=session.nas_ip,
        session_id=session.session_id,
        kind=item.kind,
        result=outcome.status,
        error_cause=outcome.error_cause_name or "",
        rtt_ms=None if outcome.round_trip is None else round(outcome.round_trip * 1000),
    )
    return outcome.status


def _finish(item: Disconnect, status: str, outcome: str, now: dt.datetime) -> None:
    item.status = status
    item.outcome = outcome[:200]
    item.resolved_at = now
    item.next_try_at = None
    item.save(update_fields=["status", "outcome", "resolved_at", "next_try_at", "updated_at"])
    if status == Disconnect.Status.UNRESOLVED:
        audit.record(None, "radius.disconnect_unresolved", item, label=item.username)
        events.emit(
            "radius.disconnect_unresolved", disconnect_id=item.pk, customer_id=item.customer_id
        )


def process(disconnect_id: int, *, now: dt.datetime | None = None) -> str | None:
    """Verify and (re)send one pending request; returns its status, None when not pending.

    Safe to call at any time and from several workers: the row is locked, and a request
    whose next try is not due yet is left alone.
    """
    from ispbills.radius.tasks import process_disconnect_task

    now = now or timezone.now()
    with transaction.atomic():
        item = (
            Disconnect.objects.select_for_update(skip_locked=True)
            .filter(pk=disconnect_id, status=Disconnect.Status.PENDING)
            .first()
        )
        if item is None or (item.next_try_at and item.next_try_at > now):
            return None
        sessions = open_sessions(item.username, item.tenant_id)
        if not sessions:
            verdict = "verified: no open session" if item.attempts else "not online"
            _finish(item, Disconnect.Status.DONE, verdict, now)
            return item.status
        if item.kind == Disconnect.Kind.DISCONNECT and item.attempts >= len(BACKOFF):
            _finish(
                item,
                Disconnect.Status.UNRESOLVED,
                f"{len(sessions)} session(s) still open after {item.attempts} attempts",
                now,
            )
            return item.status
        attributes = coa_attributes(item.username) if item.kind == Disconnect.Kind.COA else {}
        results = [_send(item, session, attributes) for session in sessions]
        item.attempts += 1
        if item.kind == Disconnect.Kind.COA:
            if all(result == "ack" for result in results):
                _finish(item, Disconnect.Status.DONE, "CoA acknowledged", now)
                return item.status
            _finish(item, Disconnect.Status.DONE, "CoA refused: falling back to disconnect", now)
            request(
                tenant_id=item.tenant_id,
                operator_id=item.operator_id,
                customer_id=item.customer_id,
                username=item.username,
                kind=Disconnect.Kind.DISCONNECT,
                reason=f"{item.reason} (CoA {', '.join(sorted(set(results)))})",
            )
            return item.status
        wait = BACKOFF[item.attempts - 1]
        item.next_try_at = now + dt.timedelta(seconds=wait)
        item.outcome = ", ".join(sorted(set(results)))
        item.save(update_fields=["attempts", "next_try_at", "outcome", "updated_at"])
        process_disconnect_task.configure(schedule_in={"seconds": wait}).defer(
            disconnect_id=item.pk
        )
        return item.status


def process_due(*, now: dt.datetime | None = None) -> int:
    """Process every pending request whose time has come (the safety net of the jobs)."""
    now = now or timezone.now()
    due = list(
        Disconnect.objects.filter(status=Disconnect.Status.PENDING, next_try_at__lte=now)
        .order_by("next_try_at")
        .values_list("pk", flat=True)[:500]
    )
    return sum(1 for pk in due if process(pk, now=now) is not None)
