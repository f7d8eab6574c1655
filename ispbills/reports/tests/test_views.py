"""The report pages, their exports and the API: figures, errors, who may run what."""

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from ispbills.accounting import services as ledger
from ispbills.accounting.models import Account
from ispbills.core.testing.isolation import client_as
from ispbills.tenancy.models import PermissionOverride

pytestmark = pytest.mark.django_db

NOV = "start=2026-11-01&end=2026-11-20"


def naive_day(year: int, month: int, day: int) -> dt.datetime:
    """A day as openpyxl reads a date cell back: a naive datetime at midnight."""
    return dt.datetime.combine(dt.date(year, month, day), dt.time())


def read_csv(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_list_offers_every_report_to_an_accountant(cast):
    page = client_as(cast.ann).get("/reports/").content.decode()

    for name in (
        "receivable",
        "payable",
        "cash-daily",
        "cash-monthly",
        "statement",
        "income",
        "yearly",
        "bills-vs-payments",
    ):
        assert f'href="/reports/{name}/"' in page


@pytest.mark.parametrize("who", ["nina", "carol", "dave"])
def test_noc_managers_and_card_distributors_get_no_report(cast, who, api_for):
    user = getattr(cast, who)
    client = client_as(user)
    api = api_for(user)

    assert client.get("/reports/").status_code == 403
    assert client.get(f"/reports/income/?{NOV}").status_code == 403
    assert client.get(f"/reports/income/?{NOV}&format=csv").status_code == 403
    assert api.get("/api/v1/reports/").json() == []
    assert api.get("/api/v1/reports/income/").status_code == 403


def test_the_page_shows_rows_and_totals(cast, books, now):
    page = client_as(cast.alice).get(f"/reports/income/?{NOV}").content.decode()

    assert "Income summary" in page
    assert "North Point" in page
    assert 'data-testid="report-totals"' in page
    assert "৳ 2,250.00" in page  # revenue less expenses, all operators


def test_the_page_defaults_to_this_month(cast, books, now):
    page = client_as(cast.alice).get("/reports/cash-daily/").content.decode()

    assert 'value="2026-11-01"' in page
    assert 'value="2026-11-20"' in page
    assert "৳ 2,120.00" in page


def test_a_bad_period_is_a_form_error(cast, books, now):
    page = client_as(cast.alice).get("/reports/income/?start=2026-11-20&end=2026-11-01")

    assert page.status_code == 200
    assert "The period ends before it starts." in page.content.decode()
    assert 'data-testid="report-table"' not in page.content.decode()


def test_the_statement_first_asks_for_its_account_without_an_error(cast, books, now):
    page = client_as(cast.ann).get("/reports/statement/").content.decode()

    assert 'name="account"' in page
    assert "This field is required." not in page
    assert 'data-testid="report-table"' not in page


def test_an_unknown_report_is_not_found(cast):
    assert client_as(cast.alice).get("/reports/nothing/").status_code == 404


def test_the_csv_export_holds_rows_and_totals(cast, books, now):
    response = client_as(cast.alice).get(f"/reports/income/?{NOV}&format=csv")

    assert response["Content-Disposition"] == (
        'attachment; filename="income-2026-11-01-2026-11-20.csv"'
    )
    lines = read_csv(response)
    assert lines[0] == [
        "operator",
        "revenue",
        "vat",
        "paid_cash",
        "paid_online",
        "paid_card",
        "paid_transfer",
        "paid",
        "expenses",
        "net",
    ]
    assert lines[1:] == [
        [
            "Acme North",
            "800.00",
            "0.00",
            "1000.00",
            "0.00",
            "0.00",
            "0.00",
            "1000.00",
            "150.00",
            "650.00",
        ],
        [
            "North Point",
            "800.00",
            "0.00",
            "0.00",
            "820.00",
            "0.00",
            "0.00",
            "820.00",
            "0.00",
            "800.00",
        ],
        [
            "Acme South",
            "800.00",
            "0.00",
            "300.00",
            "0.00",
            "0.00",
            "0.00",
            "300.00",
            "0.00",
            "800.00",
        ],
        [
            "total",
            "2400.00",
            "0.00",
            "1300.00",
            "820.00",
            "0.00",
            "0.00",
            "2120.00",
            "150.00",
            "2250.00",
        ],
    ]


def test_the_xlsx_export_holds_numbers_and_dates(cast, books, now):
    response = client_as(cast.alice).get(f"/reports/cash-daily/?{NOV}&format=xlsx")

    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [tuple(cell.value for cell in row) for row in sheet.iter_rows()]
    assert rows[0] == ("day", "operator", "cash_in", "cash_out", "net")
    assert rows[1] == (naive_day(2026, 11, 12), "Acme North", 1000, 0, 1000)
    assert rows[3] == (naive_day(2026, 11, 17), "North Point", 0, 20, -20)
    assert rows[-1] == ("total", None, 2120, 170, 1950)
    assert sheet.cell(row=2, column=3).number_format == "#,##0.00"


def test_the_statement_exports_its_opening_line(cast, books, now):
    url = f"/reports/statement/?account={books.north_cash.pk}&{NOV}&format=csv"

    lines = read_csv(client_as(cast.ann).get(url))

    assert lines[1] == ["2026-11-01", "", "Opening balance", "", "", "0.00"]
    assert lines[-1] == ["total", "", "", "600.00", "150.00", "450.00"]


def test_exporting_needs_the_export_permission(cast, books, now):
    PermissionOverride.objects.create(user=cast.ann, permission="reports.export", granted=False)
    client = client_as(cast.fresh(cast.ann))

    assert client.get(f"/reports/income/?{NOV}&format=csv").status_code == 403
    page = client.get(f"/reports/income/?{NOV}").content.decode()
    assert 'data-testid="export-csv"' not in page


def test_an_unknown_format_is_a_form_error(cast, books, now):
    page = client_as(cast.alice).get(f"/reports/income/?{NOV}&format=pdf").content.decode()

    assert "Export as CSV or XLSX." in page


def test_a_reseller_cannot_pick_a_sibling_or_its_account(cast, books, now, api_for):
    south_cash = ledger.account_for(cast.south, Account.Kind.CASH)
    client = client_as(cast.bob)

    page = client.get(f"/reports/income/?{NOV}&operator={cast.south.pk}").content.decode()
    statement = client.get(f"/reports/statement/?account={south_cash.pk}").content.decode()
    response = api_for(cast.bob).get(f"/api/v1/reports/income/?operator={cast.south.pk}")

    assert "Select a valid choice" in page
    assert "Acme South" not in page  # neither a row nor a choice
    assert "Select a valid choice" in statement
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["operator"]


def test_a_reseller_page_holds_its_subtree_only(cast, books, now):
    page = client_as(cast.bob).get(f"/reports/cash-daily/?{NOV}").content.decode()

    assert "North Point" in page
    assert "Acme South" not in page
    assert "৳ 1,820.00" in page


def test_another_isp_sees_no_acme_row_or_choice(cast, books, now):
    page = client_as(cast.mallory).get("/reports/receivable/").content.decode()
    statement = (
        client_as(cast.mallory)
        .get(f"/reports/statement/?account={books.north_cash.pk}")
        .content.decode()
    )

    assert "Acme" not in page
    assert "Nothing in this report." in page
    assert "Select a valid choice" in statement


# ---- API ------------------------------------------------------------------------------------


def test_the_api_lists_the_reports_the_user_may_run(cast, api_for):
    body = api_for(cast.bob).get("/api/v1/reports/").json()

    assert [report["name"] for report in body] == [
        "receivable",
        "payable",
        "cash-daily",
        "cash-monthly",
        "statement",
        "income",
        "yearly",
        "pending",
        "bills-vs-payments",
    ]
    assert body[4]["parameters"] == ["account", "period"]
    assert body[4]["url"] == "/api/v1/reports/statement/"


def test_the_api_returns_rows_and_totals_as_strings(cast, books, now, api_for):
    response = api_for(cast.bob).get(f"/api/v1/reports/cash-monthly/?{NOV}")

    assert response.status_code == 200
    body = response.json()
    assert body["parameters"] == {"start": "2026-11-01", "end": "2026-11-20", "operator": None}
    assert body["columns"][0] == {"name": "month", "label": "Month", "type": "month"}
    assert body["rows"] == [
        {
            "month": "2026-11",
            "operator": "Acme North",
            "cash_in": "1000.00",
            "cash_out": "150.00",
            "net": "850.00",
        },
        {
            "month": "2026-11",
            "operator": "North Point",
            "cash_in": "820.00",
            "cash_out": "20.00",
            "net": "800.00",
        },
    ]
    assert body["totals"] == {"cash_in": "1820.00", "cash_out": "170.00", "net": "1650.00"}


def test_the_api_refuses_bad_parameters_with_400(cast, api_for):
    api = api_for(cast.alice)

    backwards = api.get("/api/v1/reports/income/?start=2026-11-20&end=2026-11-01")
    year = api.get("/api/v1/reports/yearly/?year=twenty")
    missing = api.get("/api/v1/reports/statement/")
    too_long = api.get("/api/v1/reports/cash-daily/?start=2024-01-01&end=2026-01-01")

    assert backwards.status_code == 400
    assert backwards.json()["error"]["fields"] == {
        "non_field_errors": ["The period ends before it starts."]
    }
    assert year.json()["error"]["fields"] == {"year": ["Enter a whole number."]}
    assert missing.json()["error"]["fields"] == {"account": ["This field is required."]}
    assert too_long.json()["error"]["fields"] == {
        "non_field_errors": ["Choose a period of at most 366 days."]
    }


def test_the_api_answers_404_for_an_unknown_report_and_401_without_a_token(cast, api_for):
    from rest_framework.test import APIClient

    assert api_for(cast.alice).get("/api/v1/reports/nothing/").status_code == 404
    assert APIClient().get("/api/v1/reports/").status_code == 401
    assert APIClient().get("/api/v1/reports/income/").status_code == 401


def test_anonymous_is_sent_to_login(db):
    from django.test import Client

    response = Client().get("/reports/income/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_mallory_gets_empty_reports_through_the_api(cast, books, now, api_for):
    body = api_for(cast.mallory).get(f"/api/v1/reports/income/?{NOV}").json()

    assert body["rows"] == []
    assert body["totals"]["paid"] == "0.00"
    assert Decimal(body["totals"]["net"]) == 0


REPORT_NAMES = [
    "receivable",
    "payable",
    "cash-daily",
    "cash-monthly",
    "income",
    "yearly",
    "bills-vs-payments",
]


@pytest.mark.parametrize("name", REPORT_NAMES)
def test_each_role_may_run_exactly_what_its_permissions_allow(cast, name):
    outcomes = {
        who: client_as(cast.fresh(getattr(cast, who))).get(f"/reports/{name}/").status_code
        for who in ("alice", "bob", "sam", "ann", "carol", "nina", "dave", "mallory", "zed")
    }

    assert outcomes == {
        "alice": 200,
        "bob": 200,
        "sam": 200,
        "ann": 200,
        "carol": 403,
        "nina": 403,
        "dave": 403,
        "mallory": 200,
        "zed": 200,
    }


@pytest.mark.parametrize("name", REPORT_NAMES)
def test_a_report_costs_a_fixed_number_of_queries(
    cast, books, now, name, django_assert_max_num_queries
):
    client = client_as(cast.alice)
    client.get(f"/reports/{name}/")  # the session and the user's access, once

    with django_assert_max_num_queries(17):  # the menu's badges included
        response = client.get(f"/reports/{name}/")

    assert response.status_code == 200


def test_revoking_the_money_permission_closes_the_reports(cast):
    PermissionOverride.objects.create(user=cast.bob, permission="money.view", granted=False)

    assert client_as(cast.fresh(cast.bob)).get("/reports/").status_code == 403
