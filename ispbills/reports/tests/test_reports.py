"""Each report's figures on the scripted month (see conftest.py), as alice (the whole ISP)
and bob (Acme North and North Point)."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from ispbills.core.access import access_of
from ispbills.reports.registry import get_report

pytestmark = pytest.mark.django_db

D = Decimal
NOV = {"start": dt.date(2026, 11, 1), "end": dt.date(2026, 11, 20)}


def run(name: str, user: Any, **params: Any) -> Any:
    report: Any = get_report(name)
    return report.run(access_of(user), {"operator": None, **params})


def table(result: Any, *names: str) -> list[tuple[Any, ...]]:
    return [tuple(row[name] for name in names) for row in result.rows]


def test_receivable_lists_what_credit_operators_owe_and_customers_owe(cast, books, now):
    result = run("receivable", cast.alice)

    assert table(
        result, "operator", "parent", "credit_limit", "owed", "headroom", "customers_owe"
    ) == [
        ("Acme North", "Acme", D("10000.00"), D("2500.00"), D("7500.00"), D("0.00")),
        ("Acme South", "Acme", None, D("0.00"), None, D("500.00")),
    ]
    assert result.totals == {"owed": D("2500.00"), "customers_owe": D("500.00")}


def test_payable_lists_prepaid_funds_and_customer_advances(cast, books, now):
    result = run("payable", cast.alice)

    assert table(result, "operator", "parent", "held", "customer_advances") == [
        ("Acme North", "Acme", D("0.00"), D("200.00")),
        ("Acme South", "Acme", D("700.00"), D("0.00")),
    ]
    assert result.totals == {"held": D("700.00"), "customer_advances": D("200.00")}


def test_daily_cash_nets_each_entry_so_moves_between_money_accounts_are_neither(cast, books, now):
    result = run("cash-daily", cast.alice, **NOV)

    assert table(result, "day", "operator", "cash_in", "cash_out", "net") == [
        (dt.date(2026, 11, 12), "Acme North", D("1000.00"), D("0.00"), D("1000.00")),
        (dt.date(2026, 11, 15), "North Point", D("820.00"), D("0.00"), D("820.00")),
        (dt.date(2026, 11, 17), "North Point", D("0.00"), D("20.00"), D("-20.00")),
        (dt.date(2026, 11, 18), "Acme North", D("0.00"), D("150.00"), D("-150.00")),
        (dt.date(2026, 11, 19), "Acme South", D("300.00"), D("0.00"), D("300.00")),
    ]
    assert result.totals == {
        "cash_in": D("2120.00"),
        "cash_out": D("170.00"),
        "net": D("1950.00"),
    }


def test_daily_cash_keeps_to_the_period(cast, books, now):
    result = run("cash-daily", cast.alice, start=dt.date(2026, 11, 13), end=dt.date(2026, 11, 17))

    assert table(result, "day", "cash_in", "cash_out") == [
        (dt.date(2026, 11, 15), D("820.00"), D("0.00")),
        (dt.date(2026, 11, 17), D("0.00"), D("20.00")),
    ]


def test_monthly_cash_sums_the_month_per_operator(cast, books, now):
    result = run("cash-monthly", cast.alice, start=dt.date(2026, 1, 1), end=dt.date(2026, 11, 20))

    assert table(result, "month", "operator", "cash_in", "cash_out", "net") == [
        (dt.date(2026, 11, 1), "Acme North", D("1000.00"), D("150.00"), D("850.00")),
        (dt.date(2026, 11, 1), "North Point", D("820.00"), D("20.00"), D("800.00")),
        (dt.date(2026, 11, 1), "Acme South", D("300.00"), D("0.00"), D("300.00")),
    ]


def test_statement_opens_runs_and_closes_the_account(cast, books, now):
    result = run("statement", cast.alice, account=books.north_cash, **NOV)

    assert table(result, "day", "memo", "debit", "credit", "balance") == [
        (dt.date(2026, 11, 1), "Opening balance", None, None, D("0.00")),
        (dt.date(2026, 11, 16), "Cash · carol → Cash", D("600.00"), None, D("600.00")),
        (dt.date(2026, 11, 18), "Tower rent", None, D("150.00"), D("450.00")),
    ]
    assert result.totals == {"debit": D("600.00"), "credit": D("150.00"), "balance": D("450.00")}


def test_statement_opens_with_the_balance_before_the_period(cast, books, now):
    later = run(
        "statement",
        cast.alice,
        account=books.north_cash,
        start=dt.date(2026, 11, 17),
        end=dt.date(2026, 11, 20),
    )
    after = run(
        "statement",
        cast.alice,
        account=books.north_cash,
        start=dt.date(2026, 11, 19),
        end=dt.date(2026, 11, 20),
    )

    assert table(later, "memo", "balance") == [
        ("Opening balance", D("600.00")),
        ("Tower rent", D("450.00")),
    ]
    assert table(after, "memo", "balance") == [("Opening balance", D("450.00"))]
    assert after.totals == {"debit": D("0.00"), "credit": D("0.00"), "balance": D("450.00")}


def test_income_sums_revenue_payments_by_method_and_expenses(cast, books, now):
    result = run("income", cast.alice, **NOV)

    assert table(
        result, "operator", "revenue", "vat", "paid_cash", "paid_online", "paid", "expenses", "net"
    ) == [
        (
            "Acme North",
            D("800.00"),
            D("0.00"),
            D("1000.00"),
            D("0.00"),
            D("1000.00"),
            D("150.00"),
            D("650.00"),
        ),
        (
            "North Point",
            D("800.00"),
            D("0.00"),
            D("0.00"),
            D("820.00"),
            D("820.00"),
            D("0.00"),
            D("800.00"),
        ),
        (
            "Acme South",
            D("800.00"),
            D("0.00"),
            D("300.00"),
            D("0.00"),
            D("300.00"),
            D("0.00"),
            D("800.00"),
        ),
    ]
    assert result.totals["revenue"] == D("2400.00")
    assert result.totals["paid"] == D("2120.00")
    assert result.totals["net"] == D("2250.00")


def test_yearly_summary_fills_every_month(cast, books, now):
    result = run("yearly", cast.alice, year=2026)

    assert len(result.rows) == 12
    november = result.rows[10]
    assert november == {
        "month": dt.date(2026, 11, 1),
        "bills": 3,
        "billed": D("2400.00"),
        "payments": 3,
        "paid": D("2120.00"),
        "cash_in": D("2120.00"),
        "cash_out": D("170.00"),
        "revenue": D("2400.00"),
        "expenses": D("150.00"),
    }
    assert result.rows[9]["billed"] == D("0.00")
    assert result.totals == {key: value for key, value in november.items() if key != "month"}


def test_a_reseller_sees_its_subtree_only(cast, books, now):
    income = run("income", cast.bob, **NOV)
    receivable = run("receivable", cast.bob)
    cash = run("cash-daily", cast.bob, **NOV)

    assert [row["operator"] for row in income.rows] == ["Acme North", "North Point"]
    assert income.totals["paid"] == D("1820.00")
    assert [row["operator"] for row in receivable.rows] == ["Acme North"]
    assert cash.totals["cash_in"] == D("1820.00")


def test_choosing_an_operator_narrows_to_its_subtree(cast, books, now):
    result = run("income", cast.alice, operator=cast.north_point, **NOV)

    assert [row["operator"] for row in result.rows] == ["North Point"]


def test_choosing_an_operator_narrows_balances_to_its_subtree(cast, books, now):
    north = run("payable", cast.alice, operator=cast.north)
    south = run("receivable", cast.alice, operator=cast.south)

    assert table(north, "operator", "held", "customer_advances") == [
        ("Acme North", D("0.00"), D("200.00"))
    ]
    assert table(south, "operator", "owed", "customers_owe") == [
        ("Acme South", D("0.00"), D("500.00"))
    ]


def test_another_isp_sees_nothing_of_acme(cast, books, now):
    for name, params in (
        ("receivable", {}),
        ("payable", {}),
        ("cash-daily", NOV),
        ("income", NOV),
    ):
        assert run(name, cast.mallory, **params).rows == []
    assert run("yearly", cast.mallory, year=2026).totals["billed"] == D("0.00")


def test_the_platform_super_admin_sees_every_isp(cast, books, now):
    result = run("income", cast.zed, **NOV)

    assert [row["operator"] for row in result.rows] == ["Acme North", "North Point", "Acme South"]
    assert result.totals["paid"] == D("2120.00")
