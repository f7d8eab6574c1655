"""Bulk billing work on a chosen set: issue the bills of many customers, void many bills.

The set is either ticked rows (ids) or every row a list's filters match; it is narrowed to
what the actor may see and change, again inside the job. Both run as jobs with progress,
batch by batch, each batch one set-based statement committed on its own, so a job that dies
is finished by running it again: billed customers and void bills are skipped.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ispbills.billing import services, voids
from ispbills.billing.filtersets import BillFilterSet
from ispbills.billing.models import Bill
from ispbills.core import audit
from ispbills.core.access import access_of
from ispbills.core.errors import DomainError, NotAllowedError
from ispbills.core.jobs import Progress, start_job_run
from ispbills.core.models import JobRun
from ispbills.customers.filtersets import CustomerFilterSet
from ispbills.customers.models import Customer

BATCH = 5_000


def generate_bills(
    *, actor: Any, customers: Any, at: dt.datetime | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Issue the bill of each of ``customers`` (restricted again to what ``actor`` sees) for
    the period holding ``at``, whatever the billing profile's automatic setting; customers
    with nothing to bill are counted by reason. One audit row a bill."""
    if actor is not None and not access_of(actor).can(Bill.permission("add")):
        raise NotAllowedError(_("You do not have permission to issue bills."))
    targets = customers if actor is None else customers.restrict(actor, "view")
    rows = list(targets.order_by("id").values_list("id", "tenant_id"))
    if not rows:
        raise DomainError(_("No customers to bill."))
    tenants = {tenant for _pk, tenant in rows}
    if len(tenants) > 1:
        raise DomainError(_("Bill the customers of one ISP at a time."))
    tenant_id = tenants.pop()
    at = at or timezone.now()
    summary: dict[str, Any] = {"billed": 0, "total": "0.00", "skipped": {}}
    total = Decimal("0.00")
    for start in range(0, len(rows), BATCH):
        ids = [pk for pk, _tenant in rows[start : start + BATCH]]
        with transaction.atomic():
            services.lock_counters(tenant_id)
            count, batch_total, _applied, skipped, bill_ids = services.issue(
                "cu.id = ANY(%(ids)s) AND cu.tenant_id = %(tenant)s",
                {
                    "ids": ids,
                    "tenant": tenant_id,
                    "at": at,
                    "run": False,
                    "run_id": None,
                    "user_id": getattr(actor, "pk", None),
                },
            )
            issued = Bill.objects.filter(pk__in=bill_ids).values(
                "pk", "tenant_id", "operator_id", "number", "customer__username", "total"
            )
            audit.record_many(
                actor,
                "bill.issued",
                "billing.bill",
                [
                    {
                        "tenant_id": bill["tenant_id"],
                        "operator_id": bill["operator_id"],
                        "object_id": bill["pk"],
                        "label": f"INV-{bill['number']:06d} · {bill['customer__username']}",
                        "changes": {"total": [None, bill["total"]]},
                    }
                    for bill in issued
                ],
            )
        summary["billed"] += count
        total += batch_total
        for reason, number in skipped.items():
            summary["skipped"][reason] = summary["skipped"].get(reason, 0) + number
        if progress is not None:
            progress.update(start + len(ids), len(rows))
    summary["total"] = f"{total:.2f}"
    return summary


# ---- the chosen set, and the jobs -------------------------------------------------------------


def chosen_bills(user: Any, ids: list[int] | None, filters: dict[str, str] | None) -> Any:
    """The bills ticked (``ids``) or matched by the bill list's ``filters``, as ``user`` sees
    them; unknown filter values are an error, not "every bill"."""
    return _chosen(Bill.objects.all(), BillFilterSet, user, ids, filters)


def chosen_customers(user: Any, ids: list[int] | None, filters: dict[str, str] | None) -> Any:
    """The customers ticked or matched by the customer list's filters, as ``user`` sees them."""
    return _chosen(Customer.objects.all(), CustomerFilterSet, user, ids, filters)


def _chosen(
    queryset: Any, filterset_class: Any, user: Any, ids: list[int] | None, filters: Any
) -> Any:
    if ids:
        return queryset.restrict(user, "view").filter(pk__in=ids)
    if filters is None:
        raise DomainError(_("Tick some rows, or choose every row the filters match."))
    filterset = filterset_class(filters, queryset=queryset.restrict(user, "view"), user=user)
    if not filterset.is_valid():
        raise DomainError(
            _("Some filters are not valid; correct them first."),
            fields={key: [str(e) for e in errors] for key, errors in filterset.errors.items()},
        )
    return filterset.qs


def _start(
    actor: Any,
    *,
    kind: str,
    label: str,
    job: Any,
    ids: list[int] | None,
    filters: dict[str, str] | None,
    **job_kwargs: Any,
) -> JobRun:
    """Queue a bulk job on the ticked ids, or on the filters when none are ticked."""
    access = access_of(actor)
    return start_job_run(
        actor=actor,
        kind=kind,
        label=label,
        job=job,
        tenant_id=access.tenant_id,
        operator_id=access.operator_id,
        ids=ids or None,
        filters=None if ids else filters,
        user_id=access.user_id,
        acting_tenant_id=access.tenant_id,
        **job_kwargs,
    )


def start_bulk_void(
    *, actor: Any, ids: list[int] | None, filters: dict[str, str] | None, reason: str
) -> JobRun:
    """Check the request, then queue the void of the chosen bills; progress on the job page."""
    from ispbills.billing.tasks import bulk_void_task

    reason = voids.clean_reason(reason)
    if not access_of(actor).can(Bill.permission("change")):
        raise NotAllowedError(_("You do not have permission to void bills."))
    count = chosen_bills(actor, ids, filters).count()
    if not count:
        raise DomainError(_("No bills to void."))
    label = _("Void %(count)s bills") % {"count": count}
    return _start(
        actor,
        kind="bulk_void",
        label=label,
        job=bulk_void_task,
        ids=ids,
        filters=filters,
        reason=reason,
    )


def start_bulk_generate(
    *, actor: Any, ids: list[int] | None, filters: dict[str, str] | None, at: dt.datetime
) -> JobRun:
    """Check the request, then queue the bills of the chosen customers for the period
    holding ``at``."""
    from ispbills.billing.tasks import bulk_generate_task

    if not access_of(actor).can(Bill.permission("add")):
        raise NotAllowedError(_("You do not have permission to issue bills."))
    count = chosen_customers(actor, ids, filters).count()
    if not count:
        raise DomainError(_("No customers to bill."))
    label = _("Bills for %(count)s customers") % {"count": count}
    return _start(
        actor,
        kind="bulk_bills",
        label=label,
        job=bulk_generate_task,
        ids=ids,
        filters=filters,
        at=at.isoformat(),
    )
