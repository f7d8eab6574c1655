"""Jobs of the customers app (the import jobs live with the import code)."""

from ispbills.core import jobs
from ispbills.customers.imports import (  # noqa: F401  (registers the import jobs)
    import_customers_task,
    purge_import_uploads_task,
)


@jobs.task(queue="maintenance")
def expire_trials_task(timestamp: int) -> int:
    """Disable trial accounts whose time is up."""
    from ispbills.customers.services import expire_trials

    return expire_trials()


@jobs.task(queue="bulk")
def replace_reference_task(
    run_id: int, field: str, old_id: int, new_id: int, user_id: int, acting_tenant_id: int | None
) -> None:
    """Replace a package or billing profile on all customers the user may change."""
    from django.contrib.auth import get_user_model

    from ispbills.customers.services import replace_reference

    user = get_user_model().objects.get(pk=user_id)
    user.selected_tenant_id = acting_tenant_id

    def body(progress: jobs.Progress) -> tuple[str, dict[str, object]]:
        result = replace_reference(
            actor=user, field=field, old_id=old_id, new_id=new_id, progress=progress
        )
        return f"{result['replaced']} replaced, {result['skipped']} skipped", dict(result)

    jobs.run_tracked(run_id, body)


@jobs.task(queue="maintenance")
def apply_fair_usage_task(timestamp: int) -> dict[str, int]:
    """Move customers into and out of FUP by their usage this cycle."""
    from ispbills.customers.services import apply_fair_usage

    return apply_fair_usage()
