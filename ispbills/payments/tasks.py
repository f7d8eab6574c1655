"""Payment jobs: the reconciliation of online payment attempts."""

from typing import Any

from ispbills.core import jobs


@jobs.task(queue="default", queueing_lock="reconcile-payment-attempts")
def reconcile_payment_attempts_task(timestamp: int | None = None) -> dict[str, Any]:
    """Every 30 minutes: ask the providers about attempts left pending or unknown and settle
    them; what stays unknown goes to the needs-attention queue (docs/gateways.md)."""
    from ispbills.payments.gateways.services import reconcile

    return reconcile()
