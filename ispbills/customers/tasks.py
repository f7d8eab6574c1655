"""Jobs of the customers app."""

from ispbills.core import jobs


@jobs.task(queue="maintenance")
def expire_trials_task(timestamp: int) -> int:
    """Disable trial accounts whose time is up."""
    from ispbills.customers.services import expire_trials

    return expire_trials()
