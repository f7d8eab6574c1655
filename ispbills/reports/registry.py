"""The report registry: each report is a class naming its parameters, columns and the
permissions it needs, and computing its rows with set-based queries over what the user may
see. One panel view, one API view and one export path serve every report.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from django_stubs_ext import StrOrPromise

from ispbills.core.access import Access

# Column types: how a value is shown, exported and summed.
TEXT, MONEY, COUNT, DATE, MONTH = "text", "money", "count", "date", "month"


@dataclass(frozen=True)
class Column:
    """One column of a report: its key in each row, its heading and its type."""

    name: str
    label: StrOrPromise
    type: str = TEXT
    # Summed into the totals row (money and counts).
    total: bool = False


@dataclass
class Result:
    """What a report computed: its rows (dicts keyed by column name) and totals."""

    report: "type[Report]"
    params: dict[str, Any]
    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def columns(self) -> tuple[Column, ...]:
        return self.report.columns


class Report:
    """A report: subclasses set the class attributes and implement ``rows()``."""

    name: ClassVar[str]
    title: ClassVar[StrOrPromise]
    description: ClassVar[StrOrPromise]
    columns: ClassVar[tuple[Column, ...]]
    # Every report shows amounts; each also needs the areas its figures come from.
    permissions: ClassVar[tuple[str, ...]] = ("reports.view", "money.view")
    # Which of the form's parameters it takes: period, operator, account, year.
    parameters: ClassVar[tuple[str, ...]] = ()
    # The longest period it accepts, in days.
    max_days: ClassVar[int] = 3660
    # Drawn as a chart of its money columns over its first (date) column.
    chart: ClassVar[bool] = False
    # Each report computes its rows (dicts keyed by column name) for the user and parameters.
    rows: Callable[[Access, dict[str, Any]], list[dict[str, Any]]]

    @classmethod
    def allows(cls, access: Access) -> bool:
        return all(access.can(permission) for permission in cls.permissions)

    @classmethod
    def default_period(cls, today: dt.date) -> tuple[dt.date, dt.date]:
        """This month so far."""
        return today.replace(day=1), today

    def notes(self, access: Access, params: dict[str, Any]) -> list[str]:
        """Lines shown under the title (e.g. when a snapshot was computed)."""
        return []

    @classmethod
    def run(cls, access: Access, params: dict[str, Any]) -> Result:
        report = cls()
        rows = report.rows(access, params)
        totals: dict[str, Any] = {}
        for column in cls.columns:
            if column.total:
                start = Decimal("0.00") if column.type == MONEY else 0
                totals[column.name] = sum((row[column.name] or 0 for row in rows), start=start)
        return Result(cls, params, rows, totals, report.notes(access, params))


REPORTS: dict[str, type[Report]] = {}


def register(report: type[Report]) -> type[Report]:
    REPORTS[report.name] = report
    return report


def reports_for(access: Access) -> list[type[Report]]:
    """The reports this user may run, in menu order."""
    return [report for report in REPORTS.values() if report.allows(access)]


def get_report(name: str) -> type[Report] | None:
    return REPORTS.get(name)
