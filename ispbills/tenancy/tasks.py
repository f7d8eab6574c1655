"""Jobs of the tenancy app."""

from ispbills.core import jobs


@jobs.task(queue="maintenance")
def purge_login_attempts_task(timestamp: int) -> int:
    """Drop login attempts older than 180 days (throttling needs minutes, review months)."""
    from ispbills.tenancy.services import purge_login_attempts

    return purge_login_attempts(older_than_days=180)
