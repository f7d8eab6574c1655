"""Jobs of the reports app."""

from ispbills.core import jobs


@jobs.task(queue="maintenance")
def refresh_bills_vs_payments_task(timestamp: int) -> int:
    """Hourly: recompute the bills-vs-payments chart of every ISP."""
    from ispbills.reports.services import refresh_bills_vs_payments

    return refresh_bills_vs_payments()
