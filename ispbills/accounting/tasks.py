"""Payments owe their ledger entries in their own transaction (the outbox, written by the
handlers of their events: a payment and its obligation to post commit or roll back together),
and the poster job posts them in batches (docs/adr/0005-ledger-posting-outbox.md)."""

import contextlib
import time
from typing import Any

from django.db import transaction
from procrastinate.exceptions import AlreadyEnqueued

from ispbills.accounting import services
from ispbills.core import jobs
from ispbills.core.events import handle

# The poster keeps looking at the outbox until nothing came for LINGER seconds; a process
# asks for the poster at most every KICK_EVERY seconds. KICK_EVERY < LINGER: a payment that
# skipped asking committed while the poster it (or another) asked for was still looking.
LINGER = 1.0
KICK_EVERY = 0.5
_kicked_at = -KICK_EVERY


@jobs.task(queue="ledger", queueing_lock="ledger-posting")
def post_ledger_task(timestamp: int | None = None) -> int:
    """Post the entries owed to the ledger (after payments, coalesced, and every minute)."""
    return services.post_pending(linger=LINGER)


def kick_poster() -> None:
    """Have a poster run soon: one job waits at most (the queueing lock), and a process asks
    at most every KICK_EVERY seconds."""
    global _kicked_at
    moment = time.monotonic()
    if moment - _kicked_at < KICK_EVERY:
        return
    with contextlib.suppress(AlreadyEnqueued):  # one is waiting already: it will post ours
        post_ledger_task.defer()
    _kicked_at = moment


@handle("payment.received")
def owe_received_payment(event: str, payment_id: int, tenant_id: int, **_: Any) -> None:
    services.owe(tenant_id, services.PAYMENT, payment_id, "received")
    transaction.on_commit(kick_poster, robust=True)


@handle("payment.reversed")
def owe_payment_reversal(event: str, reversal_id: int, tenant_id: int, **_: Any) -> None:
    services.owe(tenant_id, services.PAYMENT, reversal_id, "reversed")
    transaction.on_commit(kick_poster, robust=True)
