"""Billing pages: bill list and detail, voids, the customer's bills tab, runs, VAT report."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from ispbills.billing import services, voids
from ispbills.billing.models import Bill
from ispbills.billing.reports import vat_report
from ispbills.catalog import services as catalog
from ispbills.core.models import AuditEvent, JobRun
from ispbills.core.testing.isolation import client_as

pytestmark = pytest.mark.django_db

DHAKA = dt.timezone(dt.timedelta(hours=6))
NOV = dt.datetime(2026, 11, 26, 12, tzinfo=DHAKA)


@pytest.fixture
def old_customer(register: Any) -> Any:
    """``old_customer(**fields)``: a customer who joined long before November 2026."""

    def make(**fields: Any) -> Any:
        with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), tick=False):
            return register(**fields)

    return make


def test_bill_list_shows_numbers_and_filters_by_status_and_search(cast, old_customer):
    first = services.generate_bill(actor=None, customer=old_customer(), at=NOV)
    second = services.generate_bill(actor=None, customer=old_customer(), at=NOV)
    voids.void_bill(actor=cast.alice, bill=first, reason="typo")
    client = client_as(cast.alice)

    page = client.get("/bills/").content.decode()
    unpaid = client.get("/bills/?status=unpaid").content.decode()
    found = client.get(f"/bills/?q={second.customer.username}").content.decode()

    assert "INV-000001" in page
    assert "CR-000003" in page
    assert "INV-000002" in page
    assert "INV-000002" in unpaid
    assert "INV-000001" not in unpaid
    assert "INV-000002" in found
    assert "INV-000001" not in found


def test_overdue_filter_keeps_unpaid_bills_past_due(cast, old_customer):
    customer = old_customer()
    past = services.generate_bill(
        actor=None, customer=customer, at=dt.datetime(2025, 6, 15, 12, tzinfo=DHAKA)
    )
    future = services.generate_bill(
        actor=None, customer=customer, at=dt.datetime(2099, 1, 15, 12, tzinfo=DHAKA)
    )

    page = client_as(cast.alice).get("/bills/?overdue=true").content.decode()

    assert past.display_number in page
    assert future.display_number not in page


def test_manager_sees_only_bills_of_assigned_customers(cast, old_customer):
    mine = services.generate_bill(actor=None, customer=old_customer(manager=cast.carol), at=NOV)
    other = services.generate_bill(actor=None, customer=old_customer(), at=NOV)
    client = client_as(cast.carol)

    page = client.get("/bills/").content.decode()

    assert mine.display_number in page
    assert other.display_number not in page
    assert client.get(f"/bills/{other.pk}/").status_code == 404
    assert client.get(f"/bills/{mine.pk}/").status_code == 200


def test_bill_detail_names_prorated_lines_discount_and_vat(cast, register, home):
    vat = catalog.save_vat_profile(actor=None, operator=cast.acme_root, name="VAT 5", rate="5")
    catalog.save_package(actor=None, operator=cast.acme_root, package=home, vat_profile=vat)
    profile = catalog.save_billing_profile(
        actor=None,
        operator=cast.acme_root,
        name="Ten off",
        due_day=1,
        discount_kind="percent",
        discount_value="10",
    )
    with time_machine.travel(dt.datetime(2026, 11, 16, 6, tzinfo=dt.UTC), tick=False):
        customer = register(billing_profile=profile)
    bill = services.generate_bill(actor=None, customer=customer, at=NOV)

    page = client_as(cast.alice).get(f"/bills/{bill.pk}/").content.decode()

    assert "Home 20 · 15 of 30 days" in page
    assert "Discount (10.00%)" in page
    assert "VAT 5.00%" in page
    # 800 * 15/30 = 400.00; -40.00; VAT 5 % of 360 = 18.00; total 378.00.
    assert bill.total == Decimal("378.00")
    assert "378.00" in page


def test_void_needs_a_reason_and_writes_a_reversal(cast, old_customer):
    bill = services.generate_bill(actor=None, customer=old_customer(), at=NOV)
    client = client_as(cast.alice)

    refused = client.post(f"/bills/{bill.pk}/void/", {"reason": ""})
    done = client.post(f"/bills/{bill.pk}/void/", {"reason": "wrong package"})

    assert refused.status_code == 200
    assert "This field is required" in refused.content.decode()
    assert done.status_code == 302
    bill.refresh_from_db()
    assert bill.status == Bill.Status.VOID
    assert bill.void_reason == "wrong package"
    assert Bill.objects.get(reverses=bill).total == -bill.total


def test_void_is_refused_without_the_change_permission(cast, old_customer):
    bill = services.generate_bill(actor=None, customer=old_customer(manager=cast.carol), at=NOV)
    audit_before = AuditEvent.objects.count()

    response = client_as(cast.carol).post(f"/bills/{bill.pk}/void/", {"reason": "nope"})

    assert response.status_code == 403
    bill.refresh_from_db()
    assert bill.status == Bill.Status.UNPAID
    assert Bill.objects.count() == 1
    assert AuditEvent.objects.count() == audit_before


def test_customer_tab_lists_bills_and_previews_the_next(cast, old_customer):
    customer = old_customer()
    bill = services.generate_bill(actor=None, customer=customer, at=NOV)

    with time_machine.travel(NOV, tick=False):
        tab = client_as(cast.alice).get(f"/customers/{customer.pk}/bills/").content.decode()

    assert bill.display_number in tab
    assert "already billed for this period" in tab
    assert 'data-testid="generate-bill"' not in tab


def test_generate_bill_from_the_customer_page(cast, old_customer):
    customer = old_customer()

    with time_machine.travel(NOV, tick=False):
        response = client_as(cast.alice).post(f"/customers/{customer.pk}/bills/generate/")

    bill = Bill.objects.get(customer=customer)
    assert response.status_code == 302
    assert response["Location"] == f"/bills/{bill.pk}/"
    assert bill.total == Decimal("800.00")


def test_generate_bill_is_refused_to_a_manager(cast, old_customer):
    customer = old_customer(manager=cast.carol)

    response = client_as(cast.carol).post(f"/customers/{customer.pk}/bills/generate/")

    assert response.status_code == 403
    assert not Bill.objects.exists()


def test_preview_page_for_a_date_and_a_bad_date(cast, old_customer):
    customer = old_customer()
    client = client_as(cast.alice)

    good = client.get(f"/customers/{customer.pk}/invoice-preview/?date=2026-11-26")
    bad = client.get(f"/customers/{customer.pk}/invoice-preview/?date=26/11/2026")

    assert "2026-11-01 \u2013 2026-11-30" in good.content.decode()
    assert "Give the date as YYYY-MM-DD." in bad.content.decode()


def test_group_admin_starts_a_run_as_a_job(cast):
    response = client_as(cast.alice).post("/billing-runs/add/", {"date": "2026-11-26"})

    run = JobRun.objects.get(kind="billing_run")
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{run.pk}/"
    assert run.tenant_id == cast.acme.pk


def test_reseller_staff_may_not_start_a_run(cast):
    response = client_as(cast.bob).post("/billing-runs/add/", {"date": "2026-11-26"})

    assert response.status_code == 403
    assert not JobRun.objects.exists()


def test_run_list_names_skip_reasons(cast, register):
    register(is_trial=True, trial_ends_at=NOV + dt.timedelta(days=3))
    run = services.run_billing(tenant_id=cast.acme.pk, at=NOV)

    page = client_as(cast.alice).get("/billing-runs/").content.decode()
    detail = client_as(cast.alice).get(f"/billing-runs/{run.pk}/").content.decode()

    assert "trial account: 1" in page
    assert "trial account: 1" in detail


def test_a_manager_sees_no_runs_whose_totals_are_the_whole_isps(cast, register):
    register()
    run = services.run_billing(tenant_id=cast.acme.pk, at=NOV)

    listing = client_as(cast.carol).get("/billing-runs/")
    detail = client_as(cast.carol).get(f"/billing-runs/{run.pk}/")

    assert listing.status_code == 200
    assert str(run.run_date) not in listing.content.decode()
    assert detail.status_code == 404


def test_vat_report_sums_rates_and_subtracts_reversals(cast, old_customer, home):
    vat = catalog.save_vat_profile(actor=None, operator=cast.acme_root, name="VAT 15", rate="15")
    catalog.save_package(actor=None, operator=cast.acme_root, package=home, vat_profile=vat)
    kept = services.generate_bill(actor=None, customer=old_customer(), at=NOV)
    voided = services.generate_bill(actor=None, customer=old_customer(), at=NOV)
    with time_machine.travel(NOV, tick=False):
        voids.void_bill(actor=cast.alice, bill=voided, reason="duplicate")

    rows = vat_report(cast.alice, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    csv = client_as(cast.alice).get("/reports/vat/?start=2026-11-01&end=2026-11-30&format=csv")

    assert [(r.vat_rate, r.taxable, r.vat, r.gross, r.bills) for r in rows] == [
        (Decimal("15.00"), Decimal("800.00"), Decimal("120.00"), Decimal("920.00"), 1)
    ]
    assert kept.total == Decimal("920.00")
    assert "15.00,Acme North,800.00,120.00,920.00,1" in csv.content.decode()


def test_a_manager_sees_only_the_reminders_of_assigned_customers(cast, old_customer):
    from ispbills.billing.models import Reminder

    def remind(customer: Any) -> Any:
        bill = services.generate_bill(actor=None, customer=customer, at=NOV)
        return Reminder.objects.create(
            tenant_id=customer.tenant_id,
            operator=customer.operator,
            customer=customer,
            bill=bill,
            kind=Reminder.Kind.DUE_SOON,
            for_date=bill.due_on,
        )

    mine = remind(old_customer(manager=cast.carol))
    other = remind(old_customer())

    page = client_as(cast.carol).get("/reminders/").content.decode()

    assert mine.customer.username in page
    assert other.customer.username not in page


def test_odd_search_terms_and_months_are_no_server_errors(cast, old_customer):
    services.generate_bill(actor=None, customer=old_customer(), at=NOV)
    client = client_as(cast.alice)

    for query in ({"q": "²"}, {"period": "9999-12"}, {"after": "²"}, {"period": "2026-13"}):
        assert client.get("/bills/", query).status_code == 200, query


def test_the_bill_export_joins_customers_and_operators_in_one_query(
    cast, old_customer, settings, tmp_path, django_assert_max_num_queries
):
    import csv

    from ispbills.core.exports import export_path, write_export
    from ispbills.core.jobs import Progress

    settings.EXPORT_ROOT = tmp_path
    for _ in range(6):
        services.generate_bill(actor=None, customer=old_customer(), at=NOV)
    progress = Progress(JobRun.objects.create(kind="export", label="export").pk)

    # Whatever the number of bills: no query per row for the customer or operator columns.
    with django_assert_max_num_queries(12):
        write_export(progress=progress, export="bills", filters={}, user=cast.fresh(cast.alice))

    rows = list(csv.reader(export_path(progress.run_id).open(encoding="utf-8-sig")))
    assert len(rows) == 7
