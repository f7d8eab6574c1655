"""The billing API: bills, voids, generation and preview for a customer, runs."""

import datetime as dt
from typing import Any

import pytest
import time_machine
from procrastinate.contrib.django.models import ProcrastinateJob

from ispbills.billing import services
from ispbills.billing.models import Bill
from ispbills.core.models import JobRun

pytestmark = pytest.mark.django_db

DHAKA = dt.timezone(dt.timedelta(hours=6))


@pytest.fixture
def old_customer(register: Any) -> Any:
    with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), tick=False):
        return register()


def test_generate_then_refuse_a_second_bill_for_the_period(cast, api_for, old_customer):
    api = api_for(cast.alice)
    url = f"/api/v1/customers/{old_customer.pk}/bills/"

    created = api.post(url, {"date": "2026-11-26"}, format="json")
    again = api.post(url, {"date": "2026-11-27"}, format="json")

    assert created.status_code == 201
    body = created.json()
    assert (body["display_number"], body["total"], body["period_start"]) == (
        "INV-000001",
        "800.00",
        "2026-11-01",
    )
    assert again.status_code == 409
    assert "already billed" in again.json()["error"]["message"]
    assert Bill.objects.count() == 1


def test_a_customer_without_a_bill_to_issue_gets_400_with_the_reason(cast, api_for, register):
    from ispbills.customers import services as customers

    with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), tick=False):
        paused = register()
    customers.suspend_customer(actor=None, customer=paused, reason="test")

    response = api_for(cast.alice).post(f"/api/v1/customers/{paused.pk}/bills/", {}, format="json")

    assert response.status_code == 400
    assert "suspended" in response.json()["error"]["message"]
    assert not Bill.objects.exists()


def test_preview_for_a_date_and_a_bad_date(cast, api_for, old_customer):
    api = api_for(cast.alice)
    url = f"/api/v1/customers/{old_customer.pk}/invoice-preview/"

    good = api.get(url, {"date": "2026-12-05"})
    bad = api.get(url, {"date": "2026-02-30"})

    assert good.status_code == 200
    assert (good.json()["period_start"], good.json()["payable"]) == ("2026-12-01", "800.00")
    assert bad.status_code == 400
    assert not Bill.objects.exists()


def test_void_through_the_api_needs_a_reason_and_the_right(cast, api_for, old_customer):
    bill = services.generate_bill(
        actor=None, customer=old_customer, at=dt.datetime(2026, 11, 26, 12, tzinfo=DHAKA)
    )
    url = f"/api/v1/bills/{bill.pk}/void/"

    refused = api_for(cast.carol).post(url, {"reason": "no"}, format="json")
    blank = api_for(cast.alice).post(url, {"reason": ""}, format="json")
    bill.refresh_from_db()
    assert (refused.status_code, blank.status_code, bill.status) == (403, 400, "unpaid")

    voided = api_for(cast.alice).post(url, {"reason": "wrong package"}, format="json")

    bill.refresh_from_db()
    assert voided.status_code == 200
    assert bill.status == "void"
    listed = api_for(cast.alice).get(f"/api/v1/bills/{bill.pk}/").json()
    assert listed["reversal"] == Bill.objects.get(kind="reversal").pk


def test_runs_start_as_jobs_for_the_whole_isp_only(cast, api_for):
    refused = api_for(cast.bob).post("/api/v1/billing-runs/", {"date": "2026-11-26"}, format="json")
    assert refused.status_code == 403
    assert not JobRun.objects.exists()

    started = api_for(cast.alice).post(
        "/api/v1/billing-runs/", {"date": "2026-11-26"}, format="json"
    )

    assert started.status_code == 202
    run = JobRun.objects.get(pk=started.json()["job"])
    assert run.kind == "billing_run"
    assert ProcrastinateJob.objects.filter(task_name__endswith="run_billing_task").count() == 1


def test_dates_outside_this_century_are_refused_with_a_clear_error(cast, api_for, old_customer):
    api = api_for(cast.alice)

    generated = api.post(
        f"/api/v1/customers/{old_customer.pk}/bills/", {"date": "0026-11-26"}, format="json"
    )
    previewed = api.get(
        f"/api/v1/customers/{old_customer.pk}/invoice-preview/", {"date": "9999-12-31"}
    )
    run = api.post("/api/v1/billing-runs/", {"date": "2126-01-01"}, format="json")

    assert (generated.status_code, previewed.status_code, run.status_code) == (400, 400, 400)
    assert "2000 to 2099" in previewed.json()["error"]["message"]
    assert not Bill.objects.exists()
    assert not JobRun.objects.exists()
