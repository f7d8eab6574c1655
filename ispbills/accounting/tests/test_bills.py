"""Bills and the advance they consume, posted when billing hands them over."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from ispbills.accounting import services
from ispbills.accounting.models import Account, JournalEntry
from ispbills.billing import services as billing
from ispbills.billing import voids
from ispbills.billing.models import AdvanceDebit, Bill
from ispbills.catalog import services as catalog
from ispbills.payments import services as payments

pytestmark = pytest.mark.django_db

DHAKA = dt.timezone(dt.timedelta(hours=6))
NOV = dt.datetime(2026, 11, 10, 12, tzinfo=DHAKA)


@pytest.fixture
def customer(cast: Any, register: Any, home: Any) -> Any:
    """A customer of Acme North since 2025 on ৳800 + 5% VAT."""
    vat = catalog.save_vat_profile(actor=None, operator=cast.acme_root, name="VAT 5", rate="5")
    catalog.save_package(actor=None, operator=cast.acme_root, package=home, vat_profile=vat)
    with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), tick=False):
        return register()


def balances(operator: Any) -> dict[str, Decimal]:
    return dict(Account.objects.filter(operator=operator).values_list("kind", "balance"))


def test_a_bill_is_posted_when_issued_and_posting_it_again_changes_nothing(cast, customer):
    bill = billing.generate_bill(actor=None, customer=customer, at=NOV)

    entry = JournalEntry.objects.get(source_type="billing.bill")
    assert services.post_bills([bill.pk]) == [entry]
    assert (entry.source_id, entry.purpose) == (str(bill.pk), "issued")
    assert entry.memo == f"INV-000001 · {customer.username}"
    assert balances(cast.north) == {
        "receivable": Decimal("840.00"),
        "revenue": Decimal("800.00"),
        "vat_payable": Decimal("40.00"),
        # Acme North buys the package from Acme at Acme's price.
        "wholesale": Decimal("800.00"),
        "operator_payable": Decimal("800.00"),
    }


def test_advance_debits_and_a_void_leave_nothing_owed_and_the_advance_whole(cast, customer):
    payments.receive_payment(
        actor=None, customer=customer, amount="1000", method="cash", reference="R-1"
    )
    services.post_pending()
    bill = billing.generate_bill(actor=None, customer=customer, at=NOV)  # paid from advance

    debit = AdvanceDebit.objects.get()
    assert debit.posted
    assert services.post_advance_debits([debit.pk]) == []
    paid = JournalEntry.objects.get(source_type="billing.advancedebit")
    assert (paid.memo, paid.amount) == ("INV-000001 paid from advance", Decimal("840.00"))
    assert balances(cast.north) == {
        "cash": Decimal("1000.00"),
        "advances": Decimal("160.00"),
        "receivable": Decimal("0.00"),
        "revenue": Decimal("800.00"),
        "vat_payable": Decimal("40.00"),
        "wholesale": Decimal("800.00"),
        "operator_payable": Decimal("800.00"),
    }

    voids.void_bill(actor=None, bill=bill, reason="wrong package")
    reversal = Bill.objects.get(reverses=bill)

    voided = JournalEntry.objects.get(source_id=str(reversal.pk), source_type="billing.bill")
    assert voided.reverses == JournalEntry.objects.get(
        source_id=str(bill.pk), source_type="billing.bill"
    )
    assert not AdvanceDebit.objects.filter(posted=False).exists()
    assert balances(cast.north) == {
        "cash": Decimal("1000.00"),
        "advances": Decimal("1000.00"),
        "receivable": Decimal("0.00"),
        "revenue": Decimal("0.00"),
        "vat_payable": Decimal("0.00"),
        "wholesale": Decimal("0.00"),
        "operator_payable": Decimal("0.00"),
    }


def test_a_run_posts_a_batch_per_operator_and_a_void_posts_the_bills_own_amounts(cast, customer):
    run = billing.run_billing(tenant_id=cast.acme.pk, at=NOV)
    (bill,) = Bill.objects.filter(run=run)

    batch = JournalEntry.objects.get(source_type="billing.run")
    assert (batch.source_id, batch.purpose) == (f"{run.pk}:{bill.pk}", f"bills:{cast.north.pk}")
    assert batch.memo == f"Billing run {run.pk}: 1 bills"
    assert not JournalEntry.objects.filter(source_type="billing.bill").exists()
    voids.void_bill(actor=None, bill=bill, reason="typo")

    (entry,) = JournalEntry.objects.filter(source_type="billing.bill")
    assert entry.reverses is None
    assert entry.source_id == str(Bill.objects.get(reverses=bill).pk)
    assert set(balances(cast.north).values()) == {Decimal("0.00")}


def test_an_invoice_and_its_reversal_post_and_free_bills_post_nothing(cast, customer, home):
    bill = billing.generate_bill(actor=None, customer=customer, at=NOV)
    voids.void_bill(actor=None, bill=bill, reason="typo")
    catalog.save_package(actor=None, operator=cast.acme_root, package=home, price="0")
    free = billing.generate_bill(actor=None, customer=customer, at=NOV)

    issued, voided = JournalEntry.objects.filter(source_type="billing.bill").order_by("id")

    assert free.total == 0
    assert voided.reverses == issued
    assert set(balances(cast.north).values()) == {Decimal("0.00")}
