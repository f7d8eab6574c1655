"""Jobs on a real Procrastinate worker: deferred in the transaction, progress, retries."""

from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from procrastinate.contrib.django.models import ProcrastinateJob

from ispbills.core import exports, jobs
from ispbills.core.models import JobRun
from ispbills.core.registry import registry
from ispbills.core.testing.isolation import client_as

pytestmark = [pytest.mark.smoke, pytest.mark.django_db(transaction=True)]


@jobs.task(queue="test", retry=jobs.DEFAULT_RETRY)
def always_failing_task(run_id: int) -> None:
    """A job body that fails, to see the run marked failed and the job retried."""

    def body(progress: jobs.Progress) -> tuple[str, dict[str, object]]:
        progress.update(1, 4, "first quarter", force=True)
        raise RuntimeError("router unreachable")

    jobs.run_tracked(run_id, body)


def run_worker(*queues: str) -> None:
    jobs.run_worker(queues=list(queues), wait=False)


def test_a_job_deferred_in_a_rolled_back_transaction_never_exists(cast: Any) -> None:
    def doomed() -> None:
        with transaction.atomic():
            jobs.start_job_run(actor=None, kind="test", label="doomed", job=always_failing_task)
            raise RuntimeError("rollback")

    with pytest.raises(RuntimeError):
        doomed()

    assert JobRun.objects.filter(label="doomed").count() == 0
    assert ProcrastinateJob.objects.filter(task_name__endswith="always_failing_task").count() == 0


def test_a_failing_job_marks_its_run_failed_and_is_retried_later(cast: Any) -> None:
    run = jobs.start_job_run(actor=None, kind="test", label="fails", job=always_failing_task)

    run_worker("test")

    run.refresh_from_db()
    assert run.status == JobRun.Status.FAILED
    assert run.error == "RuntimeError: router unreachable"
    assert run.percent == 25
    job = ProcrastinateJob.objects.get(args__run_id=run.pk)
    assert (job.status, job.attempts) == ("todo", 1)  # scheduled again with backoff


def test_audit_export_runs_on_the_worker_and_downloads_as_csv(
    cast: Any, settings: Any, tmp_path: Path
) -> None:
    settings.EXPORT_ROOT = tmp_path
    spec = registry.exports["audit_events"]
    run = exports.start_export(
        actor=cast.fresh(cast.alice), spec=spec, filters={"verb": "operator.created"}
    )
    assert run.status == JobRun.Status.QUEUED

    run_worker("exports")

    run.refresh_from_db()
    assert (run.status, run.percent, run.result["rows"]) == ("succeeded", 100, 3)
    response = client_as(cast.alice).get(f"/jobs/{run.pk}/download/")
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("at,actor,action,object_type")
    assert sorted(line.split(",")[5] for line in lines[1:]) == [
        "Acme North",
        "Acme South",
        "North Point",
    ]


def test_export_download_needs_the_export_permission_too(
    cast: Any, settings: Any, tmp_path: Path
) -> None:
    settings.EXPORT_ROOT = tmp_path
    run = exports.start_export(
        actor=cast.fresh(cast.alice), spec=registry.exports["audit_events"], filters={}
    )
    run_worker("exports")

    # carol sees jobs of her tenant but holds no audit.export.
    assert client_as(cast.carol).get(f"/jobs/{run.pk}/download/").status_code == 403
    assert client_as(cast.mallory).get(f"/jobs/{run.pk}/download/").status_code == 404
