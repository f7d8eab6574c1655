"""The payment pipeline: exact allocation, advance, validity, reactivation, replays, reversal."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from ispbills.billing import automation
from ispbills.billing import services as billing
from ispbills.billing.models import Bill
from ispbills.core.errors import ConflictError, DomainError, NotAllowedError
from ispbills.core.models import AuditEvent
from ispbills.customers import services as customers
from ispbills.customers.models import Customer
from ispbills.payments import services
from ispbills.payments.models import Allocation, Payment
from ispbills.tenancy import services as tenancy

pytestmark = pytest.mark.django_db

DHAKA = dt.timezone(dt.timedelta(hours=6))


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=DHAKA)


@pytest.fixture
def old_customer(register: Any) -> Any:
    def make(**fields: Any) -> Any:
        with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), tick=False):
            return register(**fields)

    return make


def pay(customer: Any, amount: str, reference: str, actor: Any = None, **fields: Any) -> Payment:
    return services.receive_payment(
        actor=actor,
        customer=customer,
        amount=amount,
        method=fields.pop("method", "cash"),
        reference=reference,
        **fields,
    )


def test_a_payment_clears_bills_oldest_due_first_and_keeps_the_rest_as_advance(cast, old_customer):
    customer = old_customer()
    october = billing.generate_bill(actor=None, customer=customer, at=at("2026-10-10"))
    november = billing.generate_bill(actor=None, customer=customer, at=at("2026-11-10"))

    with time_machine.travel(at("2026-11-12"), tick=False):
        payment = pay(customer, "1000.50", "R-1", actor=cast.alice, collector=cast.alice)

    october.refresh_from_db()
    november.refresh_from_db()
    customer.refresh_from_db()
    assert (october.status, october.paid_amount) == ("paid", Decimal("800.00"))
    assert (november.status, november.paid_amount) == ("partially_paid", Decimal("200.50"))
    assert (payment.to_bills, payment.to_advance) == (Decimal("1000.50"), Decimal("0.00"))
    assert list(payment.allocations.values_list("bill_id", "amount")) == [
        (october.pk, Decimal("800.00")),
        (november.pk, Decimal("200.50")),
    ]
    assert customer.advance_balance == Decimal("0.00")
    assert payment.display_number == f"MR-{payment.pk:06d}"
    assert AuditEvent.objects.filter(verb="payment.received", actor=cast.alice).count() == 1

    surplus = pay(customer, "1000", "R-2", charge="20")
    customer.refresh_from_db()
    assert (surplus.charge, surplus.to_bills, surplus.to_advance) == (
        Decimal("20.00"),
        Decimal("599.50"),
        Decimal("380.50"),
    )
    assert customer.advance_balance == Decimal("380.50")


def test_replays_bad_amounts_deleted_customers_and_closed_bills_write_nothing(cast, old_customer):
    customer = old_customer()
    bill = billing.generate_bill(actor=None, customer=customer, at=at("2026-11-10"))
    first = pay(customer, "100", "R-1")
    from ispbills.billing import voids

    other = old_customer()
    other_bill = billing.generate_bill(actor=None, customer=other, at=at("2026-11-10"))
    voids.void_bill(actor=None, bill=other_bill, reason="typo")
    gone = old_customer()
    customers.delete_customer(actor=None, customer=gone)

    attempts = [
        (ConflictError, dict(customer=customer, amount="100", reference="R-1")),
        (DomainError, dict(customer=customer, amount="-5", reference="R-2")),
        (DomainError, dict(customer=customer, amount="abc", reference="R-3")),
        (DomainError, dict(customer=customer, amount="100", reference="R-4", charge="100")),
        (DomainError, dict(customer=customer, amount="100", reference=" ")),
        (DomainError, dict(customer=gone, amount="100", reference="R-5")),
        (ConflictError, dict(customer=other, amount="100", reference="R-6", bill=other_bill)),
        (ConflictError, dict(customer=other, amount="100", reference="R-7", bill=bill)),
    ]
    for error, fields in attempts:
        with pytest.raises(error):
            services.receive_payment(actor=None, method="cash", **fields)

    assert list(Payment.objects.values_list("pk", flat=True)) == [first.pk]
    bill.refresh_from_db()
    assert bill.paid_amount == Decimal("100.00")
    assert Customer.objects.get(pk=other.pk).advance_balance == Decimal("0.00")


def test_payment_extends_validity_and_reactivates_a_customer_billing_suspended(cast, old_customer):
    customer = old_customer()
    Customer.objects.filter(pk=customer.pk).update(expires_at=at("2026-11-20"))
    bill = billing.generate_bill(actor=None, customer=customer, at=at("2026-11-10"))
    automation.suspend_overdue(now=at("2026-11-21"))
    customer.refresh_from_db()
    assert customer.status == "suspended"

    with time_machine.travel(at("2026-11-22"), tick=False):
        payment = pay(customer, "800", "R-1")

    customer.refresh_from_db()
    bill.refresh_from_db()
    assert bill.status == "paid"
    assert customer.status == "active"
    assert customer.expires_at == dt.datetime(2026, 12, 1, tzinfo=DHAKA)  # end of November
    assert (payment.expiry_before, payment.expiry_after, payment.reactivated) == (
        at("2026-11-20"),
        dt.datetime(2026, 12, 1, tzinfo=DHAKA),
        True,
    )

    with time_machine.travel(at("2026-11-23"), tick=False):
        reversal = services.reverse_payment(actor=cast.alice, payment=payment, reason="bounced")

    customer.refresh_from_db()
    bill.refresh_from_db()
    assert (reversal.kind, reversal.amount, reversal.reverses) == (
        "reversal",
        Decimal("-800.00"),
        payment,
    )
    assert (bill.status, bill.paid_amount) == ("unpaid", Decimal("0.00"))
    assert customer.status == "suspended"
    assert customer.expires_at == at("2026-11-20")
    assert list(Allocation.objects.filter(payment=reversal).values_list("amount", flat=True)) == [
        Decimal("-800.00")
    ]
    with pytest.raises(ConflictError):
        services.reverse_payment(actor=cast.alice, payment=payment, reason="twice")
    with time_machine.travel(at("2026-11-24"), tick=False):
        pay(customer, "800", "R-2")  # paid again for real: service is back
    customer.refresh_from_db()
    assert customer.status == "active"


def test_staff_suspension_is_not_undone_by_a_payment(cast, old_customer):
    customer = old_customer()
    customers.suspend_customer(actor=None, customer=customer, reason="abuse report")

    pay(customer, "500", "R-1")

    customer.refresh_from_db()
    assert customer.status == "suspended"
    assert customer.advance_balance == Decimal("500.00")


def test_a_reversal_whose_advance_was_spent_or_that_is_old_needs_more(cast, old_customer):
    customer = old_customer()
    with time_machine.travel(at("2026-10-01"), tick=False):
        payment = pay(customer, "800", "R-1")
    billing.generate_bill(actor=None, customer=customer, at=at("2026-11-10"))  # spends it

    with pytest.raises(ConflictError), time_machine.travel(at("2026-10-02"), tick=False):
        services.reverse_payment(actor=cast.alice, payment=payment, reason="x")
    Customer.objects.filter(pk=customer.pk).update(advance_balance=Decimal("800.00"))
    tenancy.set_special_permission(
        actor=None, user=cast.bob, permission="payments.delete", granted=False
    )
    with pytest.raises(NotAllowedError), time_machine.travel(at("2026-11-12"), tick=False):
        services.reverse_payment(actor=cast.fresh(cast.bob), payment=payment, reason="late")

    assert Payment.objects.count() == 1
    assert Payment.objects.get().status == "applied"


def test_managers_take_payments_for_assigned_customers_only(cast, old_customer):
    mine = old_customer(manager=cast.carol)
    theirs = old_customer()

    pay(mine, "100", "R-1", actor=cast.fresh(cast.carol))
    with pytest.raises(NotAllowedError):
        pay(theirs, "100", "R-2", actor=cast.fresh(cast.carol))

    assert list(Payment.objects.values_list("customer_id", flat=True)) == [mine.pk]


def test_editing_a_payment_reverses_it_and_records_the_corrected_one(cast, old_customer):
    customer = old_customer()
    bill = billing.generate_bill(actor=None, customer=customer, at=at("2026-11-10"))
    with time_machine.travel(at("2026-11-12"), tick=False):
        payment = pay(customer, "900", "R-1")
        corrected = services.edit_payment(
            actor=cast.alice, payment=payment, reason="typo", amount="90"
        )

    bill.refresh_from_db()
    customer.refresh_from_db()
    assert (corrected.amount, corrected.reference) == (Decimal("90.00"), "R-1/edit1")
    assert (bill.paid_amount, customer.advance_balance) == (Decimal("90.00"), Decimal("0.00"))
    assert Payment.objects.get(pk=payment.pk).status == "reversed"
    assert Bill.objects.get(pk=bill.pk).status == "partially_paid"


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_payments_for_one_customer_lose_nothing(cast, old_customer):
    import threading

    from django.db import connection

    customer = old_customer()
    bills = [
        billing.generate_bill(actor=None, customer=customer, at=at(day))
        for day in ("2026-09-10", "2026-10-10", "2026-11-10")
    ]
    errors: list[BaseException] = []
    replays: list[int] = []

    def pay_once(number: int) -> None:
        try:
            # Ten references are sent twice: exactly one of each pair may be recorded.
            pay(customer, "55.55", f"C-{number % 40}")
        except ConflictError:
            replays.append(number)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay_once, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(replays) == 10
    received = Decimal("55.55") * 40  # 2,222.00
    customer.refresh_from_db()
    paid = [Bill.objects.get(pk=bill.pk) for bill in bills]
    assert [bill.paid_amount for bill in paid] == [
        Decimal("800.00"),
        Decimal("800.00"),
        Decimal("622.00"),
    ]
    assert [bill.status for bill in paid] == ["paid", "paid", "partially_paid"]
    assert customer.advance_balance == Decimal("0.00")
    assert sum(Payment.objects.values_list("amount", flat=True)) == received
    assert sum(Allocation.objects.values_list("amount", flat=True)) == received
