"""Isolation-kit makers for the reports models."""

import datetime as dt

from ispbills.core.testing.isolation import maker
from ispbills.reports.models import BillsPaymentsDay
from ispbills.tenancy.models import Operator


@maker(BillsPaymentsDay)
def make_bills_payments_day(operator: Operator, marker: str) -> BillsPaymentsDay:
    # A snapshot row has no text of its own: it is found by its marker label only.
    row = BillsPaymentsDay.objects.create(
        tenant_id=operator.tenant_id, operator=operator, day=dt.date(2026, 1, 1), billed="1"
    )
    row.isolation_label = marker  # type: ignore[attr-defined]
    return row
