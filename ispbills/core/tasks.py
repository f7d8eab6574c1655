"""Jobs of the core app."""

from django.utils.translation import gettext

from ispbills.core import exports, jobs


@jobs.task(queue="exports")
def export_task(
    run_id: int,
    export: str,
    filters: dict[str, str],
    user_id: int,
    acting_tenant_id: int | None,
    columns: list[str] | None = None,
    fmt: str = "csv",
) -> None:
    """Write an export for the user who asked, as that user sees the list."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(pk=user_id)
    user.selected_tenant_id = acting_tenant_id

    def body(progress: jobs.Progress) -> tuple[str, dict[str, object]]:
        result = exports.write_export(
            progress=progress, export=export, filters=filters, user=user, columns=columns, fmt=fmt
        )
        return gettext("%(rows)s rows") % {"rows": result["rows"]}, result

    jobs.run_tracked(run_id, body)


@jobs.task(queue="maintenance")
def fail_stale_job_runs_task(timestamp: int) -> int:
    """Mark runs stuck queued/running for 6 hours as failed so the panel stops waiting."""
    from ispbills.core.services import fail_stale_job_runs

    return fail_stale_job_runs(older_than_hours=6)
