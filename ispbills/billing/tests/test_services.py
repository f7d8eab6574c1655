"""Pricing, preview, bills for one customer and runs for an ISP: exact paisa, exact periods."""

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from ispbills.billing import services, voids
from ispbills.billing.models import AdvanceDebit, Bill, BillingRun, InvoiceCounter
from ispbills.catalog import services as catalog
from ispbills.core.errors import ConflictError, DomainError
from ispbills.customers import services as customers
from ispbills.customers.models import Customer

pytestmark = pytest.mark.django_db

DHAKA = dt.timezone(dt.timedelta(hours=6))


def at(day: str, hour: int = 12) -> dt.datetime:
    """A moment of a day of Dhaka's calendar."""
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=DHAKA)


@pytest.fixture
def profile(cast: Any) -> Any:
    """``profile(due_day, **fields)``: a billing profile of Acme's root."""
    names = iter(range(1, 1000))

    def make(due_day: int = 1, **fields: Any) -> Any:
        return catalog.save_billing_profile(
            actor=None,
            operator=cast.acme_root,
            name=f"Profile {next(names)}",
            due_day=due_day,
            **fields,
        )

    return make


@pytest.fixture
def joined_long_ago(settings: Any) -> Any:
    """Customers registered well before the periods the tests bill."""
    with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), tick=False):
        yield


def test_price_discount_and_exclusive_vat_to_the_paisa(cast, register, home, profile):
    vat = catalog.save_vat_profile(actor=None, operator=cast.acme_root, name="VAT 5", rate="5")
    catalog.save_package(actor=None, operator=cast.acme_root, package=home, vat_profile=vat)
    with time_machine.travel(at("2025-01-01"), tick=False):
        customer = register(
            billing_profile=profile(10, discount_kind="percent", discount_value="12.5"),
            custom_price="799.99",
        )

    preview = services.preview(customer, at=at("2026-11-26"))

    # 799.99 - 12.5 % (99.99875 → 100.00) = 699.99; VAT 5 % = 34.9995 → 35.00.
    assert (preview.subtotal, preview.discount, preview.vat, preview.total) == (
        Decimal("799.99"),
        Decimal("100.00"),
        Decimal("35.00"),
        Decimal("734.99"),
    )
    assert (preview.period_start, preview.period_end) == (
        dt.date(2026, 11, 10),
        dt.date(2026, 12, 9),
    )
    assert preview.skip is None
    assert not Bill.objects.exists()


def test_inclusive_vat_is_carved_out_of_the_price_and_a_fixed_discount_is_capped(
    cast, register, home, profile
):
    vat = catalog.save_vat_profile(
        actor=None, operator=cast.acme_root, name="VAT 15", rate="15", inclusive=True
    )
    catalog.save_package(actor=None, operator=cast.acme_root, package=home, vat_profile=vat)
    with time_machine.travel(at("2025-01-01"), tick=False):
        generous = register(billing_profile=profile(1, discount_kind="fixed", discount_value="900"))
        plain = register(billing_profile=profile(1))

    capped = services.preview(generous, at=at("2026-11-26"))
    inclusive = services.preview(plain, at=at("2026-11-26"))

    assert (capped.discount, capped.vat, capped.total) == (
        Decimal("800.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    # 800 includes 15 % VAT: 800 * 15 / 115 = 104.3478… → 104.35; the total stays 800.
    assert (inclusive.vat, inclusive.total) == (Decimal("104.35"), Decimal("800.00"))


@pytest.mark.parametrize(
    ("moment", "due_day", "period"),
    [
        # Dhaka's calendar decides: 18:30 UTC on 30 Nov is already 1 Dec there.
        (dt.datetime(2026, 11, 30, 18, 30, tzinfo=dt.UTC), 1, ("2026-12-01", "2026-12-31")),
        (dt.datetime(2026, 11, 30, 17, 59, tzinfo=dt.UTC), 1, ("2026-11-01", "2026-11-30")),
        # Due day 31: the last day of shorter months, leap years included.
        (at("2028-02-29"), 31, ("2028-02-29", "2028-03-30")),
        (at("2028-02-28"), 31, ("2028-01-31", "2028-02-28")),
        (at("2027-03-30"), 31, ("2027-02-28", "2027-03-30")),
        (at("2026-12-31"), 31, ("2026-12-31", "2027-01-30")),
        (at("2027-01-05"), 29, ("2026-12-29", "2027-01-28")),
    ],
)
def test_periods_follow_the_due_day_in_the_isps_calendar(
    register, profile, joined_long_ago, moment, due_day, period
):
    customer = register(billing_profile=profile(due_day))

    preview = services.preview(customer, at=moment)

    assert (preview.period_start.isoformat(), preview.period_end.isoformat()) == period


def test_a_customer_who_joined_mid_period_pays_for_the_days_left(register, home, profile):
    with time_machine.travel(at("2026-11-21", hour=9), tick=False):
        customer = register(billing_profile=profile(1))

    preview = services.preview(customer, at=at("2026-11-26"))

    # 10 of November's 30 days: 800 * 10 / 30 = 266.666… → 266.67.
    assert (preview.period_start, preview.days, preview.cycle_days) == (
        dt.date(2026, 11, 21),
        10,
        30,
    )
    assert preview.subtotal == Decimal("266.67")


def test_issuing_uses_the_advance_as_far_as_it_reaches(cast, register, profile, joined_long_ago):
    partly = register(billing_profile=profile(1))
    fully = register(billing_profile=profile(1))
    Customer.objects.filter(pk=partly.pk).update(advance_balance=Decimal("300.50"))
    Customer.objects.filter(pk=fully.pk).update(advance_balance=Decimal("1000.00"))

    first = services.generate_bill(actor=cast.alice, customer=partly, at=at("2026-11-26"))
    second = services.generate_bill(actor=cast.alice, customer=fully, at=at("2026-11-26"))

    assert (first.number, second.number) == (1, 2)
    assert (first.status, first.advance_applied, first.payable) == (
        "partially_paid",
        Decimal("300.50"),
        Decimal("499.50"),
    )
    assert (second.status, second.payable) == ("paid", Decimal("0.00"))
    balances = dict(
        Customer.objects.filter(pk__in=[partly.pk, fully.pk]).values_list("pk", "advance_balance")
    )
    assert balances == {partly.pk: Decimal("0.00"), fully.pk: Decimal("200.00")}
    assert sorted(AdvanceDebit.objects.values_list("amount", flat=True)) == [
        Decimal("300.50"),
        Decimal("800.00"),
    ]
    assert first.lines == [{"kind": "package", "amount": "800.00", "days": 30, "of": 30}]


def test_a_second_bill_for_the_same_period_is_refused_and_nothing_is_written(
    cast, register, profile, joined_long_ago
):
    customer = register(billing_profile=profile(1))
    services.generate_bill(actor=cast.alice, customer=customer, at=at("2026-11-02"))

    with pytest.raises(ConflictError, match="already billed"):
        services.generate_bill(actor=cast.alice, customer=customer, at=at("2026-11-26"))

    assert Bill.objects.count() == 1
    assert InvoiceCounter.objects.get().last_number == 1


def test_the_database_keeps_one_live_invoice_a_period_whatever_was_voided_before(
    cast, register, profile, joined_long_ago
):
    customer = register(billing_profile=profile(1))
    first = services.generate_bill(actor=cast.alice, customer=customer, at=at("2026-11-02"))
    voids.void_bill(actor=cast.alice, bill=first, reason="wrong package")
    second = services.generate_bill(actor=cast.alice, customer=customer, at=at("2026-11-03"))
    voids.void_bill(actor=cast.alice, bill=second, reason="wrong again")
    third = services.generate_bill(actor=cast.alice, customer=customer, at=at("2026-11-04"))

    copy = {
        field.attname: getattr(third, field.attname)
        for field in Bill._meta.concrete_fields
        if field.attname != "id"
    }
    with pytest.raises(IntegrityError, match="bill_once_per_period"), transaction.atomic():
        Bill.objects.create(**{**copy, "number": 99})

    # Two voided invoices and their two reversals share the period with the live one.
    kinds = Bill.objects.filter(customer=customer, period_start=third.period_start)
    assert sorted(kinds.values_list("kind", "status")) == [
        ("invoice", "unpaid"),
        ("invoice", "void"),
        ("invoice", "void"),
        ("reversal", "void"),
        ("reversal", "void"),
    ]


def test_no_bill_for_free_packages_suspended_or_package_less_customers(
    cast, register, profile, joined_long_ago
):
    free = catalog.save_package(
        actor=None,
        operator=cast.acme_root,
        name="Courtesy",
        download_kbps=1000,
        upload_kbps=1000,
        price="0",
        billing_type="free",
    )
    courtesy = register(billing_profile=profile(1), package=free)
    paused = register(billing_profile=profile(1))
    customers.suspend_customer(actor=None, customer=paused, reason="test")

    for customer, reason in ((courtesy, "free package"), (paused, "suspended")):
        with pytest.raises(DomainError, match=reason):
            services.generate_bill(actor=cast.alice, customer=customer, at=at("2026-11-26"))
    assert not Bill.objects.exists()


def test_staff_without_billing_rights_cannot_issue(cast, register, profile, joined_long_ago):
    customer = register(billing_profile=profile(1))

    with pytest.raises(Exception, match="permission"):
        services.generate_bill(actor=cast.nina, customer=customer, at=at("2026-11-26"))

    assert not Bill.objects.exists()


def test_a_run_bills_every_eligible_customer_once_and_says_why_others_were_skipped(
    cast, register, profile, joined_long_ago
):
    billed = [register(billing_profile=profile(1)) for _ in range(5)]
    manual = register(billing_profile=profile(1, auto_bill=False))
    imported = register(billing_profile=profile(1))
    Customer.objects.filter(pk=imported.pk).update(package=None)  # as old imports left some
    services.generate_bill(actor=None, customer=billed[0], at=at("2026-11-03"))

    run = services.run_billing(tenant_id=cast.acme.pk, at=at("2026-11-26"), batch=2)
    again = services.run_billing(tenant_id=cast.acme.pk, at=at("2026-11-27"), batch=2)

    assert run.status == "succeeded"
    assert run.summary["billed"] == 4
    assert run.summary["total"] == "3200.00"
    assert run.summary["skipped"] == {"already_billed": 1, "auto_bill_off": 1, "no_package": 1}
    assert again.summary["billed"] == 0
    assert again.summary["skipped"]["already_billed"] == 5
    assert sorted(Bill.objects.values_list("number", flat=True)) == [1, 2, 3, 4, 5]
    assert not Bill.objects.filter(customer=manual).exists()
    assert run.run_date == dt.date(2026, 11, 26)


class _Crash(RuntimeError):
    pass


class CrashAfterFirstBatch:
    """A progress reporter that stops the run after its first batch, as a killed worker."""

    def update(self, done: int, total: int) -> None:
        raise _Crash


def test_a_run_killed_mid_way_is_finished_by_the_next_one_with_gapless_numbers(
    cast, register, profile, joined_long_ago
):
    for _ in range(5):
        register(billing_profile=profile(1))

    with pytest.raises(_Crash):
        services.run_billing(
            tenant_id=cast.acme.pk, at=at("2026-11-26"), batch=2, progress=CrashAfterFirstBatch()
        )
    assert Bill.objects.count() == 2
    resumed = services.run_billing(tenant_id=cast.acme.pk, at=at("2026-11-26"), batch=2)

    assert BillingRun.objects.filter(status="failed").count() == 1
    assert resumed.summary["billed"] == 3
    assert sorted(Bill.objects.values_list("number", flat=True)) == [1, 2, 3, 4, 5]
    assert Bill.objects.values("customer").distinct().count() == 5


def test_voiding_writes_a_reversal_returns_the_advance_and_frees_the_period(
    cast, register, profile, joined_long_ago
):
    customer = register(billing_profile=profile(1))
    Customer.objects.filter(pk=customer.pk).update(advance_balance=Decimal("500.00"))
    bill = services.generate_bill(actor=cast.alice, customer=customer, at=at("2026-11-26"))

    with pytest.raises(DomainError):
        voids.void_bill(actor=cast.alice, bill=bill, reason=" ")
    reversal = voids.void_bill(actor=cast.alice, bill=bill, reason="wrong package")
    again = services.generate_bill(actor=cast.alice, customer=customer, at=at("2026-11-26"))

    bill.refresh_from_db()
    customer.refresh_from_db()
    assert (bill.status, bill.void_reason) == ("void", "wrong package")
    assert (reversal.kind, reversal.number, reversal.total) == ("reversal", 2, Decimal("-800.00"))
    assert reversal.reverses == bill
    assert again.number == 3
    assert again.advance_applied == Decimal("500.00")  # the advance came back, then paid again
    assert customer.advance_balance == Decimal("0.00")
    assert sorted(AdvanceDebit.objects.values_list("amount", flat=True)) == [
        Decimal("-500.00"),
        Decimal("500.00"),
        Decimal("500.00"),
    ]
    with pytest.raises(ConflictError):
        voids.void_bill(actor=cast.alice, bill=bill, reason="twice")


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_for_one_isp_bill_each_customer_once(cast, register, profile):
    with time_machine.travel(at("2025-01-01"), tick=False):
        for _ in range(40):
            register(billing_profile=profile(1))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            services.run_billing(tenant_id=cast.acme.pk, at=at("2026-11-26"), batch=7)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Bill.objects.count() == 40
    assert sorted(Bill.objects.values_list("number", flat=True)) == list(range(1, 41))
    assert sum(run.summary["billed"] for run in BillingRun.objects.all()) == 40


def test_the_periodic_run_bills_each_isp_once_a_day_of_its_calendar(
    cast, register, profile, joined_long_ago
):
    register(billing_profile=profile(1))

    for moment in (at("2026-11-26", hour=0), at("2026-11-26", hour=23), at("2026-11-27", hour=0)):
        services.run_due_billing(now=moment)

    acme_runs = BillingRun.objects.filter(tenant=cast.acme).order_by("pk")
    assert [run.run_date.isoformat() for run in acme_runs] == ["2026-11-26", "2026-11-27"]
    assert Bill.objects.count() == 1  # billed once for the period


def test_a_bill_is_never_overdue_when_it_is_issued(cast, register, profile, joined_long_ago):
    on_time = register(billing_profile=profile(1))
    late = register(billing_profile=profile(1))

    first_day = services.generate_bill(actor=None, customer=on_time, at=at("2026-11-01"))
    mid_period = services.generate_bill(actor=None, customer=late, at=at("2026-11-26"))

    assert (first_day.period_start, first_day.due_on) == (
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 1),
    )
    assert (mid_period.period_start, mid_period.due_on) == (
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 26),
    )


@pytest.mark.parametrize(
    ("moment", "period"),
    [
        # London is on summer time (UTC+1) from 29 Mar 2026: 23:30 UTC on 31 Mar is 1 Apr there.
        (dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC), ("2026-04-01", "2026-04-30")),
        (dt.datetime(2026, 3, 31, 22, 59, tzinfo=dt.UTC), ("2026-03-01", "2026-03-31")),
        # Back on GMT from 25 Oct 2026: 23:30 UTC on 31 Oct is still 31 Oct there.
        (dt.datetime(2026, 10, 31, 23, 30, tzinfo=dt.UTC), ("2026-10-01", "2026-10-31")),
        (dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.UTC), ("2026-11-01", "2026-11-30")),
    ],
)
def test_periods_of_an_isp_in_a_summer_time_zone(cast, moment, period):
    from ispbills.catalog.tests.makers import make_package

    with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), tick=False):
        customer = customers.register_customer(
            actor=None,
            operator=cast.globex_east,
            username="london-1",
            name="Londoner",
            mobile="01711555001",
            service_password="pw-123456",
            package=make_package(cast.globex_east, "Globex Home"),
        )

    preview = services.preview(customer, at=moment)

    assert (preview.period_start.isoformat(), preview.period_end.isoformat()) == period


def test_a_daily_rate_package_is_billed_one_day_at_a_time_from_the_advance(
    cast, register, joined_long_ago
):
    daily = catalog.save_package(
        actor=None,
        operator=cast.acme_root,
        name="Day pass",
        download_kbps=5000,
        upload_kbps=1000,
        price="20",
        billing_type="daily",
    )
    customer = register(package=daily)
    Customer.objects.filter(pk=customer.pk).update(advance_balance=Decimal("30.00"))

    first = services.run_billing(tenant_id=cast.acme.pk, at=at("2026-11-26"))
    same_day = services.run_billing(tenant_id=cast.acme.pk, at=at("2026-11-26", hour=20))
    next_day = services.run_billing(tenant_id=cast.acme.pk, at=at("2026-11-27"))

    bills = list(Bill.objects.filter(customer=customer).order_by("period_start"))
    assert (first.summary["billed"], same_day.summary["billed"], next_day.summary["billed"]) == (
        1,
        0,
        1,
    )
    assert [(b.period_start, b.period_end, b.total) for b in bills] == [
        (dt.date(2026, 11, 26), dt.date(2026, 11, 26), Decimal("20.00")),
        (dt.date(2026, 11, 27), dt.date(2026, 11, 27), Decimal("20.00")),
    ]
    # 30.00 of advance: the first day is paid, the second day half.
    assert [(b.status, b.advance_applied) for b in bills] == [
        ("paid", Decimal("20.00")),
        ("partially_paid", Decimal("10.00")),
    ]
    customer.refresh_from_db()
    assert customer.advance_balance == Decimal("0.00")


def test_a_bill_the_advance_pays_in_full_extends_the_customers_validity(
    cast, register, profile, joined_long_ago
):
    from ispbills.radius.models import RadCheck

    expiry = dt.datetime(2026, 11, 30, 18, 0, tzinfo=dt.UTC)  # 1 Dec 00:00 in Dhaka
    prepaid = register(billing_profile=profile(1), expires_at=expiry)
    short = register(billing_profile=profile(1), expires_at=expiry)
    unlimited = register(billing_profile=profile(1))
    Customer.objects.filter(pk__in=[prepaid.pk, unlimited.pk]).update(
        advance_balance=Decimal("800.00")
    )
    Customer.objects.filter(pk=short.pk).update(advance_balance=Decimal("799.99"))

    services.run_billing(tenant_id=cast.acme.pk, at=at("2026-12-01"))

    expiries = dict(
        Customer.objects.filter(pk__in=[prepaid.pk, short.pk, unlimited.pk]).values_list(
            "pk", "expires_at"
        )
    )
    # Paid to the end of December: served until 1 Jan 00:00 in Dhaka.
    assert expiries[prepaid.pk] == dt.datetime(2026, 12, 31, 18, 0, tzinfo=dt.UTC)
    assert expiries[short.pk] == expiry  # not paid in full: nothing extended
    assert expiries[unlimited.pk] is None  # no expiry stays none
    expiration = RadCheck.objects.get(username=prepaid.username, attribute="Expiration")
    assert expiration.value == str(int(expiries[prepaid.pk].timestamp()))
