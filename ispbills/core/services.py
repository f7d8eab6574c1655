"""Services of the core app."""

import datetime as dt

from django.utils.translation import gettext

from ispbills.core import clock
from ispbills.core.models import JobRun


def fail_stale_job_runs(*, older_than_hours: int) -> int:
    """Fail runs that made no progress for the given hours; returns how many."""
    cutoff = clock.now() - dt.timedelta(hours=older_than_hours)
    return JobRun.objects.filter(
        status__in=[JobRun.Status.QUEUED, JobRun.Status.RUNNING], created_at__lt=cutoff
    ).update(
        status=JobRun.Status.FAILED,
        error=gettext("Stopped: no progress for %(hours)s hours.") % {"hours": older_than_hours},
        finished_at=clock.now(),
    )
