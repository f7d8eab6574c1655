"""The hourly bills-vs-payments snapshot, and the chart that reads it."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
import time_machine

from ispbills.core.access import access_of
from ispbills.core.testing.isolation import client_as
from ispbills.payments import services as payments
from ispbills.reports.models import BillsPaymentsDay
from ispbills.reports.registry import get_report
from ispbills.reports.services import refresh_bills_vs_payments
from ispbills.reports.tasks import refresh_bills_vs_payments_task
from ispbills.reports.tests.conftest import on

pytestmark = pytest.mark.django_db

D = Decimal


def chart(user):
    report = get_report("bills-vs-payments")
    return report.run(access_of(user), {"operator": None})


def test_the_snapshot_holds_each_operators_day(cast, books, now):
    refresh_bills_vs_payments()

    rows = BillsPaymentsDay.objects.order_by("day", "operator__path").values_list(
        "operator__name", "day", "bills", "billed", "payments", "paid"
    )
    assert list(rows) == [
        ("Acme North", dt.date(2026, 11, 10), 1, D("800.00"), 0, D("0.00")),
        ("North Point", dt.date(2026, 11, 10), 1, D("800.00"), 0, D("0.00")),
        ("Acme South", dt.date(2026, 11, 10), 1, D("800.00"), 0, D("0.00")),
        ("Acme North", dt.date(2026, 11, 12), 0, D("0.00"), 1, D("1000.00")),
        ("North Point", dt.date(2026, 11, 15), 0, D("0.00"), 1, D("820.00")),
        ("Acme South", dt.date(2026, 11, 19), 0, D("0.00"), 1, D("300.00")),
    ]


def test_the_chart_covers_the_last_30_days_of_the_users_subtree(cast, books, now):
    refresh_bills_vs_payments()

    everyone, bob, mallory = chart(cast.alice), chart(cast.bob), chart(cast.mallory)

    assert [everyone.rows[0]["day"], everyone.rows[-1]["day"]] == [
        dt.date(2026, 10, 22),
        dt.date(2026, 11, 20),
    ]
    assert everyone.rows[19] == {
        "day": dt.date(2026, 11, 10),
        "bills": 3,
        "billed": D("2400.00"),
        "payments": 0,
        "paid": D("0.00"),
    }
    assert everyone.totals == {
        "bills": 3,
        "billed": D("2400.00"),
        "payments": 3,
        "paid": D("2120.00"),
    }
    assert bob.totals == {"bills": 2, "billed": D("1600.00"), "payments": 2, "paid": D("1820.00")}
    assert mallory.totals == {"bills": 0, "billed": D("0.00"), "payments": 0, "paid": D("0.00")}
    assert everyone.notes == ["Refreshed every hour; last at 2026-11-20 12:00."]


def test_a_refresh_follows_reversals_and_the_isps_midnight(cast, books, now):
    refresh_bills_vs_payments()
    payment = books.south.payments.get()
    payments.reverse_payment(actor=None, payment=payment, reason="bounced")
    # 00:30 on the 20th in Dhaka is still the 19th in UTC.
    payments.receive_payment(
        actor=None,
        customer=books.north,
        amount="50",
        method="cash",
        reference="R-3",
        received_at=on(20, 0) + dt.timedelta(minutes=30),
    )

    refresh_bills_vs_payments()

    south = BillsPaymentsDay.objects.filter(operator=cast.south)
    assert sorted(south.values_list("day", "payments", "paid")) == [
        (dt.date(2026, 11, 10), 0, D("0.00")),
        (dt.date(2026, 11, 19), 1, D("300.00")),
        (dt.date(2026, 11, 20), -1, D("-300.00")),
    ]
    north = BillsPaymentsDay.objects.get(operator=cast.north, day=dt.date(2026, 11, 20))
    assert (north.payments, north.paid) == (1, D("50.00"))


def test_days_that_leave_the_window_are_dropped(cast, books, now):
    refresh_bills_vs_payments()

    with time_machine.travel(dt.datetime(2026, 12, 12, 12, tzinfo=dt.UTC), tick=False):
        refresh_bills_vs_payments_task(timestamp=0)

    assert list(BillsPaymentsDay.objects.values_list("day", flat=True).order_by("day")) == [
        dt.date(2026, 11, 15),
        dt.date(2026, 11, 19),
    ]


def test_the_chart_page_carries_its_data_without_inline_script(cast, books, now):
    refresh_bills_vs_payments()

    page = client_as(cast.bob).get("/reports/bills-vs-payments/").content.decode()

    data = json.loads(
        re.search(
            r'<script id="report-chart-data" type="application/json">(.*?)</script>', page, re.S
        )[1]
    )
    assert data["labels"][0] == "2026-10-22"
    assert [series["label"] for series in data["series"]] == ["Billed", "Received"]
    assert data["series"][0]["data"][19] == "1600.00"
    scripts = re.findall(r"<script(?![^>]*(?:src=|application/json))[^>]*>", page)
    assert scripts == []


def test_an_empty_snapshot_says_it_is_not_computed_yet(cast, now):
    assert chart(cast.alice).notes == ["Not computed yet: the figures are refreshed every hour."]


def test_the_dashboard_draws_the_chart_of_the_users_subtree(cast, books, now):
    refresh_bills_vs_payments()

    bob = client_as(cast.bob).get("/").content.decode()
    nina = client_as(cast.nina).get("/").content.decode()

    data = json.loads(
        re.search(
            r'<script id="report-chart-data" type="application/json">(.*?)</script>', bob, re.S
        )[1]
    )
    assert data["series"][1]["data"][21] == "1000.00"  # North's payment on the 12th
    assert data["series"][1]["data"][28] == "0.00"  # South's on the 19th is not bob's
    assert 'data-testid="dashboard-chart"' not in nina
