"""Card jobs: posting commissions to the ledger, expiring cards, the duplicate-PIN check."""

import contextlib
import logging
import time
from typing import Any

from procrastinate.exceptions import AlreadyEnqueued

from ispbills.cards import services
from ispbills.core import jobs

logger = logging.getLogger(__name__)

KICK_EVERY = 0.5
_kicked_at = -KICK_EVERY


@jobs.task(queue="ledger", queueing_lock="card-commissions")
def post_commissions_task(timestamp: int | None = None) -> int:
    """Post the commissions not yet in the ledger (after sales and uses, and every minute)."""
    posted = 0
    while done := services.post_commissions():
        posted += done
    return posted


def kick_commission_poster() -> None:
    """Have the commission poster run soon: one job waits at most, and a process asks at
    most every KICK_EVERY seconds."""
    global _kicked_at
    moment = time.monotonic()
    if moment - _kicked_at < KICK_EVERY:
        return
    with contextlib.suppress(AlreadyEnqueued):
        post_commissions_task.defer()
    _kicked_at = moment


@jobs.task()
def expire_cards_task(timestamp: int | None = None) -> int:
    """Mark unused cards past their expiry as expired."""
    return services.expire_cards()


@jobs.task()
def check_duplicate_pins_task(timestamp: int | None = None) -> int:
    """Look for cards of one ISP sharing a PIN; void the extra ones and log them."""
    found = services.find_duplicate_pins()
    for tenant_id, ids in found:
        logger.error("ISP %s: cards %s share a PIN; all but the first voided", tenant_id, ids)
    return len(found)


@jobs.task(queue="exports")
def export_vouchers_task(
    run_id: int, batch_id: int, user_id: int, acting_tenant_id: int | None
) -> None:
    """A large batch's voucher sheets as one PDF, for the user who asked."""
    from django.contrib.auth import get_user_model
    from django.utils import translation
    from django.utils.translation import gettext

    from ispbills.cards.pdf import write_vouchers

    user: Any = get_user_model().objects.get(pk=user_id)
    user.selected_tenant_id = acting_tenant_id

    def body(progress: jobs.Progress) -> tuple[str, dict[str, Any]]:
        result = write_vouchers(
            progress=progress,
            batch_id=batch_id,
            user=user,
            language=translation.get_language() or "en",
        )
        return gettext("%(cards)s voucher sheets") % {"cards": result["cards"]}, result

    jobs.run_tracked(run_id, body)
