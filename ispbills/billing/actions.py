"""What the panel and the API share around the services: reading a billing date in the
ISP's calendar and starting a billing run as a job."""

import datetime as dt
import zoneinfo
from typing import Any

from django.utils.translation import gettext as _

from ispbills.billing.tasks import run_billing_task
from ispbills.core.access import access_of
from ispbills.core.errors import DomainError, NotAllowedError
from ispbills.core.jobs import start_job_run
from ispbills.core.models import JobRun
from ispbills.tenancy.models import Tenant


def noon_of(day: dt.date, tenant_id: int) -> dt.datetime:
    """Noon of ``day`` in the ISP's zone: a moment surely inside that day of its calendar."""
    zone = Tenant.objects.values_list("timezone", flat=True).get(pk=tenant_id)
    return dt.datetime.combine(day, dt.time(12), tzinfo=zoneinfo.ZoneInfo(zone))


def parse_day(value: str | None) -> dt.date | None:
    """``YYYY-MM-DD`` (None when absent); anything else is refused with a clear error."""
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise DomainError(
            _("Give the date as YYYY-MM-DD."), fields={"date": [_("Enter a valid date.")]}
        ) from None
    return billing_day(day)


# Bills are for this century: a typo such as 0026 or 9999 gets an error, not a bill.
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2099, 12, 31)


def billing_day(day: dt.date) -> dt.date:
    """``day`` when a bill may be for it; else a clear error."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DomainError(
            _("Give a date from 2000 to 2099."), fields={"date": [_("Out of range.")]}
        )
    return day


def may_start_runs(user: Any) -> bool:
    """Runs bill the whole ISP: its root operator's staff and super admins start them."""
    access = access_of(user)
    return access.can("billing.add") and (access.tenant_wide or access.is_superadmin)


def start_billing_run(*, actor: Any, day: dt.date) -> JobRun:
    """Queue a billing run of the actor's ISP for ``day``; progress shows on its job page."""
    access = access_of(actor)
    if not may_start_runs(actor):
        raise NotAllowedError(_("Only the ISP's group staff start billing runs."))
    if access.tenant_id is None:
        raise DomainError(_("Pick an ISP first."))
    return start_job_run(
        actor=actor,
        kind="billing_run",
        label=_("Billing run for %(day)s") % {"day": day.isoformat()},
        job=run_billing_task,
        tenant_id=access.tenant_id,
        operator_id=access.operator_id,
        at=noon_of(day, access.tenant_id).isoformat(),
        user_id=access.user_id,
        acting_tenant_id=access.tenant_id,
    )
