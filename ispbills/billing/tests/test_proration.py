"""Mid-period package changes: the adjustment bill, credits, and the ISP's setting."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from ispbills.billing import proration, services
from ispbills.billing.models import AdvanceDebit, Bill
from ispbills.catalog import services as catalog
from ispbills.core.errors import NotAllowedError
from ispbills.core.models import AuditEvent
from ispbills.core.testing.isolation import client_as
from ispbills.customers import services as customers
from ispbills.customers.models import Customer

pytestmark = pytest.mark.django_db

DHAKA = dt.timezone(dt.timedelta(hours=6))
NOV_5 = dt.datetime(2026, 11, 5, 12, tzinfo=DHAKA)
NOV_21 = dt.datetime(2026, 11, 21, 12, tzinfo=DHAKA)  # 10 days left of 30, the 21st included


def package(cast: Any, name: str, price: str, **fields: Any) -> Any:
    return catalog.save_package(
        actor=None,
        operator=cast.acme_root,
        name=name,
        download_kbps=10000,
        upload_kbps=5000,
        price=price,
        **fields,
    )


@pytest.fixture
def billed(register: Any) -> Any:
    """``billed(**fields)``: a customer of long standing with November (1-30) billed."""

    def make(**fields: Any) -> Any:
        with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), tick=False):
            customer = register(**fields)
        services.generate_bill(actor=None, customer=customer, at=NOV_5)
        customer.refresh_from_db()
        return customer

    return make


def change(actor: Any, customer: Any, new: Any) -> Any:
    with time_machine.travel(NOV_21, tick=False):
        customers.update_customer(actor=actor, customer=customer, package=new)
    return Bill.objects.filter(customer=customer, kind="adjustment").first()


def test_an_upgrade_charges_the_days_left_at_the_new_price_less_the_old(cast, billed):
    customer = billed()
    fast = package(cast, "Home 40", "1200")

    adjustment = change(cast.alice, customer, fast)

    assert adjustment.display_number == "ADJ-000002"
    assert (adjustment.period_start, adjustment.period_end) == (
        dt.date(2026, 11, 21),
        dt.date(2026, 11, 30),
    )
    assert [line["amount"] for line in adjustment.lines] == ["-266.67", "400.00"]
    assert (adjustment.subtotal, adjustment.total, adjustment.status) == (
        Decimal("133.33"),
        Decimal("133.33"),
        "unpaid",
    )
    assert adjustment.package == fast
    assert AuditEvent.objects.filter(verb="bill.adjusted", actor=cast.alice).count() == 1
    # The next run sees November billed: no second invoice for the period.
    summary = services.run_billing(tenant_id=cast.acme.pk, at=NOV_21).summary
    assert summary["billed"] == 0
    assert summary["skipped"] == {"already_billed": 1}


def test_an_unpaid_adjustment_suspends_after_its_grace_like_an_invoice(cast, billed):
    from ispbills.billing import automation

    customer = billed()
    Bill.objects.filter(customer=customer).update(paid_amount=Decimal("800.00"), status="paid")
    adjustment = change(cast.alice, customer, package(cast, "Home 40", "1200"))

    automation.suspend_overdue(now=NOV_21 + dt.timedelta(hours=11))  # still the 21st
    customer.refresh_from_db()
    assert customer.status == "active"
    automation.suspend_overdue(now=NOV_21 + dt.timedelta(hours=13))  # the 22nd in Dhaka
    customer.refresh_from_db()
    assert (customer.status, customer.status_reason) == (
        "suspended",
        f"unpaid {adjustment.display_number} past grace",
    )


def test_a_downgrade_credits_the_advance_when_the_bill_was_paid(cast, billed):
    customer = billed()
    Customer.objects.filter(pk=customer.pk).update(advance_balance=Decimal("0.00"))
    Bill.objects.filter(customer=customer).update(
        paid_amount=Decimal("800.00"), status="paid"
    )  # paid in cash (the payments side)
    slow = package(cast, "Home 10", "500")

    adjustment = change(cast.alice, customer, slow)

    customer.refresh_from_db()
    assert adjustment.total == Decimal("-100.00")  # 166.67 - 266.67
    assert adjustment.status == "paid"
    assert customer.advance_balance == Decimal("100.00")
    assert list(AdvanceDebit.objects.filter(bill=adjustment).values_list("amount", flat=True)) == [
        Decimal("-100.00")
    ]


def test_a_downgrade_pays_what_is_still_owed_on_the_old_bill_first(cast, billed):
    customer = billed()
    slow = package(cast, "Home 10", "500")

    change(cast.alice, customer, slow)

    customer.refresh_from_db()
    invoice = Bill.objects.get(customer=customer, kind="invoice")
    assert (invoice.paid_amount, invoice.advance_applied, invoice.status) == (
        Decimal("100.00"),
        Decimal("100.00"),
        "partially_paid",
    )
    assert invoice.payable == Decimal("700.00")
    assert customer.advance_balance == Decimal("0.00")  # credited, then spent on the bill
    assert sorted(AdvanceDebit.objects.values_list("amount", flat=True)) == [
        Decimal("-100.00"),
        Decimal("100.00"),
    ]


def test_discount_and_vat_are_prorated_on_both_sides_to_the_paisa(cast, billed):
    vat = catalog.save_vat_profile(
        actor=None, operator=cast.acme_root, name="VAT 5", rate="5", inclusive=False
    )
    profile = catalog.save_billing_profile(
        actor=None,
        operator=cast.acme_root,
        name="Ten off",
        due_day=1,
        discount_kind="percent",
        discount_value="10",
    )
    old = package(cast, "Old", "999", vat_profile=vat)
    customer = billed(package=old, billing_profile=profile)
    invoice = Bill.objects.get(customer=customer)
    assert (invoice.subtotal, invoice.discount, invoice.vat, invoice.total) == (
        Decimal("999.00"),
        Decimal("99.90"),
        Decimal("44.96"),
        Decimal("944.06"),
    )

    adjustment = change(cast.alice, customer, package(cast, "New", "1499", vat_profile=vat))

    # old share: 333.00 - 33.30 + 14.99 = 314.69; new: 499.67 - 49.97 + 22.49 = 472.19
    assert [line["amount"] for line in adjustment.lines] == ["-314.69", "499.67", "-49.97", "22.49"]
    assert (adjustment.subtotal, adjustment.discount, adjustment.vat, adjustment.total) == (
        Decimal("166.67"),
        Decimal("16.67"),
        Decimal("7.50"),
        Decimal("157.50"),
    )


def test_no_adjustment_when_the_isp_turned_proration_off_or_nothing_is_billed(
    cast, billed, register
):
    proration.save_settings(actor=cast.alice, tenant_id=cast.acme.pk, prorate_package_change=False)
    customer = billed()
    with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), tick=False):
        unbilled = register()
    fast = package(cast, "Home 40", "1200")

    assert change(cast.alice, customer, fast) is None
    assert change(cast.alice, unbilled, fast) is None
    assert not Bill.objects.filter(kind="adjustment").exists()
    assert AuditEvent.objects.filter(verb="billing_settings.updated").count() == 1


def test_a_bulk_package_change_adjusts_every_billed_customer(cast, billed):
    moved = [billed(), billed()]
    fast = package(cast, "Home 40", "1200")

    with time_machine.travel(NOV_21, tick=False):
        customers.bulk_update_customers(
            actor=cast.alice,
            customers=Customer.objects.filter(pk__in=[c.pk for c in moved]),
            changes={"package": fast},
        )

    totals = Bill.objects.filter(kind="adjustment").values_list("customer_id", "total")
    assert sorted(totals) == sorted((c.pk, Decimal("133.33")) for c in moved)


def test_only_group_admins_change_the_billing_settings(cast):
    page = client_as(cast.alice).get("/billing/settings/")
    saved = client_as(cast.alice).post("/billing/settings/", {})
    refused = client_as(cast.bob).get("/billing/settings/")

    assert page.status_code == 200
    assert saved.status_code == 302
    assert proration.settings_for(cast.acme.pk).prorate_package_change is False
    assert refused.status_code == 403
    with pytest.raises(NotAllowedError):
        proration.save_settings(
            actor=cast.fresh(cast.bob), tenant_id=cast.acme.pk, prorate_package_change=True
        )
    assert proration.settings_for(cast.acme.pk).prorate_package_change is False
