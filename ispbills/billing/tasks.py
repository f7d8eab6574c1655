"""Jobs of the billing app."""

from typing import Any

from ispbills.core import jobs
from ispbills.core.events import handle


def _acting_user(user_id: int, acting_tenant_id: int | None) -> Any:
    from django.contrib.auth import get_user_model

    user: Any = get_user_model().objects.get(pk=user_id)
    user.selected_tenant_id = acting_tenant_id
    return user


@handle("customer.package_changed")
def prorate_package_changes(event: str, customer_ids: list[int], actor_id: int | None) -> None:
    """Customers moved to another package mid-period get their adjustment bill in the same
    transaction, when the ISP prorates package changes."""
    from ispbills.billing.proration import prorate_package_changes as prorate

    actor = None if actor_id is None else _acting_user(actor_id, None)
    prorate(actor=actor, customer_ids=customer_ids)


@jobs.task(queue="bulk")
def run_billing_task(
    run_id: int, tenant_id: int, at: str, user_id: int | None, acting_tenant_id: int | None
) -> None:
    """A billing run started from the panel or the API, with progress on its JobRun."""
    import datetime as dt

    from ispbills.billing.services import run_billing

    user = None if user_id is None else _acting_user(user_id, acting_tenant_id)

    def body(progress: jobs.Progress) -> tuple[str, dict[str, Any]]:
        billing = run_billing(
            tenant_id=tenant_id,
            at=dt.datetime.fromisoformat(at),
            actor=user,
            progress=progress,
            job_run_id=run_id,
        )
        return f"{billing.summary['billed']} bills issued", {
            "billing_run": billing.pk,
            **billing.summary,
        }

    jobs.run_tracked(run_id, body)


@jobs.task(queue="bulk")
def run_due_billing_task(timestamp: int) -> int:
    """The periodic run, hourly: each active ISP is billed once a day of its own calendar,
    in the first hour of that day (runs are idempotent: a missed hour is made good later)."""
    from ispbills.billing.services import run_due_billing

    return run_due_billing()


@jobs.task(queue="bulk")
def suspend_overdue_task(timestamp: int) -> dict[str, int]:
    """Every five minutes: suspend customers unpaid past their grace or whose validity
    ended, so a suspension lands within five minutes of its boundary."""
    from ispbills.billing.automation import suspend_overdue

    return suspend_overdue()


@jobs.task(queue="bulk")
def compute_reminders_task(timestamp: int) -> dict[str, int]:
    """Hourly, so each ISP gets the day's due-date reminders and expiry warnings early in its
    own calendar day; a reminder is stored once, so later runs that day add nothing."""
    from ispbills.billing.automation import compute_reminders

    return compute_reminders()


@jobs.task(queue="exports")
def export_run_pdfs_task(
    run_id: int, billing_run_id: int, user_id: int, acting_tenant_id: int | None
) -> None:
    """A ZIP of a billing run's bills as PDFs, for the user who asked, as that user sees them."""
    from django.utils import translation
    from django.utils.translation import gettext

    from ispbills.billing.pdf import write_run_pdfs

    user = _acting_user(user_id, acting_tenant_id)

    def body(progress: jobs.Progress) -> tuple[str, dict[str, Any]]:
        result = write_run_pdfs(
            progress=progress,
            billing_run_id=billing_run_id,
            user=user,
            language=translation.get_language() or "en",
        )
        return gettext("%(bills)s bills") % {"bills": result["bills"]}, result

    jobs.run_tracked(run_id, body)


@jobs.task(queue="bulk")
def bulk_void_task(
    run_id: int,
    ids: list[int] | None,
    filters: dict[str, str] | None,
    reason: str,
    user_id: int,
    acting_tenant_id: int | None,
) -> None:
    """Void the ticked or filtered bills, as the user who asked may."""
    from django.utils.translation import gettext

    from ispbills.billing.bulk import chosen_bills
    from ispbills.billing.voids import VOID_SKIPS, void_bills

    user = _acting_user(user_id, acting_tenant_id)

    def body(progress: jobs.Progress) -> tuple[str, dict[str, Any]]:
        bills = chosen_bills(user, ids, filters)
        summary = void_bills(actor=user, bills=bills, reason=reason, progress=progress)
        message = gettext("%(n)s bills voided") % {"n": summary["voided"]}
        left = ", ".join(
            f"{VOID_SKIPS[why]}: {count}" for why, count in sorted(summary["skipped"].items())
        )
        if left:
            message += " · " + gettext("left as they were: %(why)s") % {"why": left}
        return message, summary

    jobs.run_tracked(run_id, body)


@jobs.task(queue="bulk")
def bulk_generate_task(
    run_id: int,
    ids: list[int] | None,
    filters: dict[str, str] | None,
    at: str,
    user_id: int,
    acting_tenant_id: int | None,
) -> None:
    """Issue the bills of the ticked or filtered customers, as the user who asked may."""
    import datetime as dt

    from django.utils.translation import gettext

    from ispbills.billing.bulk import chosen_customers, generate_bills

    user = _acting_user(user_id, acting_tenant_id)

    def body(progress: jobs.Progress) -> tuple[str, dict[str, Any]]:
        customers = chosen_customers(user, ids, filters)
        summary = generate_bills(
            actor=user, customers=customers, at=dt.datetime.fromisoformat(at), progress=progress
        )
        return gettext("%(n)s bills issued") % {"n": summary["billed"]}, summary

    jobs.run_tracked(run_id, body)
