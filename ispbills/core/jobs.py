"""Background jobs on Procrastinate, and JobRun progress for operator-visible work.

Jobs are deferred through Django's connection, so a job deferred inside a transaction exists
only if that transaction commits. Tasks take ids, never model instances, and scope with
``for_operator()``.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import translation
from procrastinate import App, RetryStrategy
from procrastinate.contrib.django import app

from ispbills.core import clock
from ispbills.core.models import JobRun

logger = logging.getLogger(__name__)

# Retries with exponential backoff: 2 s, 4 s, 8 s, 16 s between the five attempts.
DEFAULT_RETRY = RetryStrategy(max_attempts=5, exponential_wait=2)


def on_app_ready(ready_app: App) -> None:
    """Procrastinate hook: nothing to adjust yet; kept as the single place to do so."""
    logger.debug("procrastinate app ready: %s", ready_app)


def run_worker(*, queues: list[str] | None = None, wait: bool = True) -> None:
    """Run a worker on its own PostgreSQL connection. A waiting worker (``ispbills worker``)
    also runs the periodic scheduler; one that drains the queues and returns (``wait=False``,
    as tests and one-off runs do) runs only the jobs already queued, so no hourly job
    slips in depending on the minute it starts."""
    from procrastinate import periodic

    connector: Any = app.connector  # the Django connector, which knows its worker connector
    worker_app = app.with_connector(connector.get_worker_connector())
    if not wait:
        worker_app.periodic_registry = periodic.PeriodicRegistry()
    worker_app.run_worker(queues=queues, wait=wait, install_signal_handlers=wait)


def task(
    *, queue: str = "default", retry: Any = DEFAULT_RETRY, **kwargs: Any
) -> Callable[..., Any]:
    """Declare a job (``*_task``) with the house defaults: named queue, retries with backoff."""
    return app.task(queue=queue, retry=retry, pass_context=False, **kwargs)


def start_job_run(
    *,
    actor: Any,
    kind: str,
    label: str,
    job: Any,
    tenant_id: int | None = None,
    operator_id: int | None = None,
    result_permission: str = "",
    **job_kwargs: Any,
) -> JobRun:
    """Create a JobRun and defer its job in the caller's transaction; the job gets ``run_id``."""
    with transaction.atomic():
        run = JobRun.objects.create(
            tenant_id=tenant_id,
            operator_id=operator_id,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            kind=kind,
            label=label,
            result_permission=result_permission,
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )
        job.defer(run_id=run.pk, **job_kwargs)
    return run


class Progress:
    """Updates a JobRun's percent and message, at most every ``interval`` seconds.

    Writes run in autocommit, so the panel sees progress while the job is still working.
    """

    def __init__(self, run_id: int, interval: float = 0.5) -> None:
        self.run_id = run_id
        self.interval = interval
        self._last = 0.0

    def start(self, message: str = "") -> None:
        JobRun.objects.filter(pk=self.run_id).update(
            status=JobRun.Status.RUNNING, started_at=clock.now(), message=message
        )

    def update(self, done: int, total: int, message: str = "", *, force: bool = False) -> None:
        moment = time.monotonic()
        if not force and moment - self._last < self.interval:
            return
        self._last = moment
        percent = 100 if total <= 0 else min(99, int(done * 100 / total))
        JobRun.objects.filter(pk=self.run_id).update(percent=percent, message=message[:300])

    def succeed(self, message: str = "", result: dict[str, Any] | None = None) -> None:
        JobRun.objects.filter(pk=self.run_id).update(
            status=JobRun.Status.SUCCEEDED,
            percent=100,
            message=message[:300],
            result=result or {},
            finished_at=clock.now(),
        )

    def fail(self, error: str) -> None:
        JobRun.objects.filter(pk=self.run_id).update(
            status=JobRun.Status.FAILED, error=error, message=error[:300], finished_at=clock.now()
        )


def run_tracked(run_id: int, body: Callable[[Progress], tuple[str, dict[str, Any]]]) -> None:
    """Run a job body with a Progress; a failure marks the run failed and re-raises for retry."""
    progress = Progress(run_id)
    progress.start()
    language = JobRun.objects.filter(pk=run_id).values_list("language", flat=True).first()
    try:
        with translation.override(language or settings.LANGUAGE_CODE):
            message, result = body(progress)
    except Exception as exc:
        progress.fail(f"{type(exc).__name__}: {exc}")
        raise
    progress.succeed(message, result)
