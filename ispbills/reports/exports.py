"""A report's result as CSV, XLSX or JSON values, and as text for the panel.

Reports are aggregates (a row per operator, day or month), so they are written in the request
rather than by the export job the lists use; see docs/adr/0005-reports-export-in-the-request.md.
"""

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

from django.http import HttpResponse

from ispbills.core.money import format_money
from ispbills.reports.registry import COUNT, DATE, MONEY, MONTH, Column, Result

FORMATS = ("csv", "xlsx")
# The first cell of the totals row: a key like the column names, so not translated.
TOTAL = "total"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def plain(value: Any, column: Column) -> Any:
    """The value as a CSV cell or JSON value: amounts as 2-decimal strings, days ISO,
    months YYYY-MM, a missing figure empty (JSON null)."""
    if value is None:
        return None
    if column.type == MONTH:
        return value.strftime("%Y-%m")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


def shown(value: Any, column: Column, currency: str) -> str:
    """The value as the panel shows it."""
    if value is None:
        return ""
    if column.type == MONEY:
        return format_money(value, currency)
    if column.type == COUNT:
        return f"{value:,}"
    if column.type in {DATE, MONTH}:
        return str(plain(value, column))
    return str(value)


def _filename(result: Result, fmt: str) -> str:
    params = result.params
    if "start" in params:
        span = f"-{params['start']}-{params['end']}"
    elif "year" in params:
        span = f"-{params['year']}"
    else:
        span = ""
    return f"{result.report.name}{span}.{fmt}"


def _body(result: Result) -> list[list[Any]]:
    """The rows, then the totals row (its first cell "total"), as raw values."""
    columns = result.columns
    body = [[row[column.name] for column in columns] for row in result.rows]
    if result.totals:
        body.append(
            [
                TOTAL if index == 0 else result.totals.get(column.name)
                for index, column in enumerate(columns)
            ]
        )
    return body


def as_csv(result: Result) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(result, "csv")}"'
    response.write("\ufeff")  # Excel reads UTF-8 only with the byte-order mark
    writer = csv.writer(response)
    columns = result.columns
    writer.writerow([column.name for column in columns])
    for line in _body(result):
        cells = [plain(value, column) for value, column in zip(line, columns, strict=True)]
        writer.writerow(["" if cell is None else cell for cell in cells])
    return response


def as_xlsx(result: Result) -> HttpResponse:
    """One sheet: amounts as numbers with two decimals, days as dates, months as YYYY-MM."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(result.report.name[:31])
    columns = result.columns
    sheet.append([column.name for column in columns])
    for line in _body(result):
        cells = []
        for value, column in zip(line, columns, strict=True):
            if column.type == MONTH and value is not None and not isinstance(value, str):
                value = plain(value, column)
            cell = WriteOnlyCell(sheet, value=value)
            if column.type == MONEY:
                cell.number_format = "#,##0.00"
            elif column.type == DATE:
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{_filename(result, "xlsx")}"'
    return response


def as_json(result: Result) -> dict[str, Any]:
    """The API's body: the report, its parameters, columns, rows, totals and notes."""
    columns = result.columns
    by_name = {column.name: column for column in columns}
    params = {  # an operator or account by its id
        name: value.pk if hasattr(value, "pk") else plain(value, Column(name, ""))
        for name, value in result.params.items()
    }
    return {
        "name": result.report.name,
        "title": str(result.report.title),
        "parameters": params,
        "columns": [
            {"name": column.name, "label": str(column.label), "type": column.type}
            for column in columns
        ],
        "rows": [
            {column.name: plain(row[column.name], column) for column in columns}
            for row in result.rows
        ],
        "totals": {name: plain(value, by_name[name]) for name, value in result.totals.items()},
        "notes": result.notes,
    }
