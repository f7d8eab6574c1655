"""Reseller economics: wholesale charges down the tree, funds, and what a short reseller may
not do."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from ispbills.accounting import funds, services
from ispbills.accounting.models import Account, JournalEntry
from ispbills.billing import services as billing
from ispbills.billing import voids
from ispbills.billing.models import Bill, InvoiceCounter
from ispbills.catalog import services as catalog
from ispbills.catalog.models import Package
from ispbills.core.errors import ConflictError, DomainError, NotAllowedError
from ispbills.core.models import AuditEvent
from ispbills.core.testing.isolation import client_as
from ispbills.customers import services as customers
from ispbills.payments import services as payments
from ispbills.tenancy.models import Operator

pytestmark = pytest.mark.django_db

DHAKA = dt.timezone(dt.timedelta(hours=6))
NOV = dt.datetime(2026, 11, 10, 12, tzinfo=DHAKA)


def since_2025(register: Any, operator: Operator | None = None, **fields: Any) -> Any:
    """A customer registered in 2025 (of Acme North unless another operator is given)."""
    with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), tick=False):
        if operator is None:
            return register(**fields)
        number = Operator.objects.count() + Bill.objects.count() + len(fields)
        return customers.register_customer(
            actor=None,
            operator=operator,
            username=f"{operator.name.split()[-1].lower()}{number}",
            name="Customer",
            mobile=f"0181100{number:04d}",
            service_password="s3cret-pw",
            package=fields.get("package") or Package.objects.get(name="Home 20"),
        )


def balance_of(operator: Operator) -> Decimal:
    return Operator.objects.get(pk=operator.pk).balance


def account(operator: Operator, kind: str, other: Operator | None = None) -> Decimal:
    return services.account_for(operator, kind, counterparty=other).balance


def test_each_reseller_pays_its_parents_price_and_keeps_the_margin(cast, register, home):
    # Acme sells Home 20 at 800; Acme North resells it at 1,000 and North Point at 1,200.
    north_home = catalog.save_package(
        actor=None, operator=cast.north, parent=home, name="North Home", price="1000"
    )
    point_home = catalog.save_package(
        actor=None, operator=cast.north_point, parent=home, name="Point Home", price="1200"
    )
    funds.add_funds(actor=None, operator=cast.north_point, amount="5000", reference="NP-1")
    customer = since_2025(register, operator=cast.north_point, package=point_home)

    billing.generate_bill(actor=None, customer=customer, at=NOV)

    assert north_home.price == Decimal("1000.00")
    assert balance_of(cast.north_point) == Decimal("4000.00")  # 5,000 less North's 1,000
    assert balance_of(cast.north) == Decimal("-800.00")  # owes Acme its 800
    assert account(cast.north_point, "revenue") == Decimal("1200.00")
    assert account(cast.north_point, "wholesale") == Decimal("1000.00")
    assert account(cast.north, "revenue") == Decimal("1000.00")
    assert account(cast.north, "wholesale") == Decimal("800.00")
    assert account(cast.north, "operator_receivable", cast.north_point) == Decimal("-4000.00")
    assert account(cast.north, "operator_payable", cast.acme_root) == Decimal("800.00")
    assert account(cast.acme_root, "operator_receivable", cast.north) == Decimal("800.00")
    assert account(cast.acme_root, "revenue") == Decimal("800.00")
    # Each operator's entry names only its own accounts.
    for entry in JournalEntry.objects.filter(source_type="billing.charge"):
        assert {line.account.operator_id for line in entry.lines.all()} == {entry.operator_id}


def test_a_prorated_first_period_is_charged_its_share(cast, register):
    # Registered on 16 November: 15 of November's 30 days.
    with time_machine.travel(dt.datetime(2026, 11, 16, 6, tzinfo=dt.UTC), tick=False):
        customer = register()
        bill = billing.generate_bill(actor=None, customer=customer)

    assert bill.total == Decimal("400.00")
    assert balance_of(cast.north) == Decimal("-400.00")


def test_a_debit_reseller_at_zero_cannot_renew_and_nothing_is_written(cast, register, home):
    customer = since_2025(register, operator=cast.south)
    entries, audits = JournalEntry.objects.count(), AuditEvent.objects.count()

    with pytest.raises(DomainError, match=r"Acme South has 0\.00"):
        billing.generate_bill(actor=cast.alice, customer=customer, at=NOV)

    assert not Bill.objects.exists()
    assert not InvoiceCounter.objects.filter(last_number__gt=0).exists()
    assert JournalEntry.objects.count() == entries
    assert AuditEvent.objects.count() == audits
    assert balance_of(cast.south) == Decimal("0.00")

    funds.add_funds(actor=cast.alice, operator=cast.south, amount="800", reference="S-1")
    bill = billing.generate_bill(actor=cast.alice, customer=customer, at=NOV)
    assert bill.number == 1
    assert balance_of(cast.south) == Decimal("0.00")


def test_a_credit_reseller_may_go_to_its_limit_and_no_further(cast, register):
    first, second = since_2025(register), since_2025(register)
    Operator.objects.filter(pk=cast.north.pk).update(credit_limit="1000")

    billing.generate_bill(actor=None, customer=first, at=NOV)
    with pytest.raises(DomainError, match=r"may go down to -1000\.00"):
        billing.generate_bill(actor=None, customer=second, at=NOV)

    assert balance_of(cast.north) == Decimal("-800.00")
    assert Bill.objects.count() == 1


def test_a_run_bills_everyone_whatever_the_balance(cast, register):
    since_2025(register, operator=cast.south)

    run = billing.run_billing(tenant_id=cast.acme.pk, at=NOV)
    billing.run_billing(tenant_id=cast.acme.pk, at=NOV)  # again: nothing more

    assert run.summary["billed"] == 1
    assert balance_of(cast.south) == Decimal("-800.00")
    assert JournalEntry.objects.filter(source_type="billing.charge").count() == 2


def test_voiding_a_bill_gives_the_charge_back(cast, register):
    bill = billing.generate_bill(actor=None, customer=since_2025(register), at=NOV)

    voids.void_bill(actor=None, bill=bill, reason="wrong customer")

    assert balance_of(cast.north) == Decimal("0.00")
    assert account(cast.north, "wholesale") == Decimal("0.00")
    assert account(cast.acme_root, "revenue") == Decimal("0.00")


def test_staff_cannot_activate_a_customer_its_reseller_cannot_pay_for(cast, register):
    customer = since_2025(register, operator=cast.south)
    customers.suspend_customer(actor=cast.alice, customer=customer, reason="asked")

    with pytest.raises(DomainError, match="Add funds to Acme South first"):
        customers.activate_customer(actor=cast.alice, customer=customer)

    customer.refresh_from_db()
    assert customer.status == "suspended"
    funds.add_funds(actor=cast.alice, operator=cast.south, amount="800", reference="S-1")
    customers.activate_customer(actor=cast.alice, customer=customer)
    customer.refresh_from_db()
    assert customer.status == "active"


def test_a_payment_brings_back_a_customer_whatever_the_resellers_funds(cast, register):
    customer = since_2025(register, operator=cast.south)
    funds.add_funds(actor=None, operator=cast.south, amount="800", reference="S-1")
    billing.generate_bill(actor=None, customer=customer, at=NOV)  # South is at zero again
    customers.suspend_customer(actor=None, customer=customer, reason="unpaid INV-000001")
    customer.refresh_from_db()

    with time_machine.travel(NOV, tick=False):
        payment = payments.receive_payment(
            actor=None, customer=customer, amount="800", method="cash", reference="R-1"
        )

    assert payment.reactivated
    assert balance_of(cast.south) == Decimal("0.00")


def test_funds_post_in_both_books_once_per_reference(cast):
    entry = funds.add_funds(
        actor=cast.alice, operator=cast.north, amount="2500", reference="BANK-7", method="bank"
    )

    assert balance_of(cast.north) == Decimal("2500.00")
    assert entry.operator_id == cast.acme_root.pk
    assert account(cast.acme_root, "bank") == Decimal("2500.00")
    assert account(cast.acme_root, "operator_receivable", cast.north) == Decimal("-2500.00")
    assert account(cast.north, "operator_payable", cast.acme_root) == Decimal("-2500.00")
    assert account(cast.north, "bank") == Decimal("-2500.00")
    audit = AuditEvent.objects.get(verb="operator.funds_added")
    assert audit.changes["balance"] == ["0.00", "2500.00"]

    with pytest.raises(ConflictError):
        funds.add_funds(actor=cast.alice, operator=cast.north, amount="1", reference="BANK-7")
    assert balance_of(cast.north) == Decimal("2500.00")


def test_a_credit_is_funds_without_money(cast):
    funds.add_funds(
        actor=cast.alice, operator=cast.north, amount="300", reference="GOODWILL", credit=True
    )

    assert balance_of(cast.north) == Decimal("300.00")
    assert account(cast.acme_root, "expenses") == Decimal("300.00")
    assert account(cast.north, "revenue") == Decimal("300.00")
    assert AuditEvent.objects.filter(verb="operator.credited").count() == 1


@pytest.mark.parametrize(
    ("who", "whom", "error"),
    [
        ("bob", "north", NotAllowedError),  # not its own funds
        ("sue", "north_point", NotAllowedError),  # another subtree
        ("nina", "north", NotAllowedError),
        ("mallory", "north", NotAllowedError),
        ("alice", "acme_root", DomainError),  # the root has no parent
    ],
)
def test_funds_are_added_by_the_parent_only(cast, who, whom, error):
    with pytest.raises(error):
        funds.add_funds(
            actor=cast.fresh(getattr(cast, who)),
            operator=getattr(cast, whom),
            amount="100",
            reference="X-1",
        )

    assert not JournalEntry.objects.exists()
    assert not Operator.objects.exclude(balance=0).exists()


def test_bob_adds_funds_to_his_sub_operator(cast):
    funds.add_funds(
        actor=cast.fresh(cast.bob), operator=cast.north_point, amount="100", reference="P"
    )

    assert balance_of(cast.north_point) == Decimal("100.00")
    assert account(cast.north, "cash") == Decimal("100.00")


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "1.234.5"])
def test_bad_amounts_are_refused(cast, amount):
    with pytest.raises(DomainError):
        funds.add_funds(actor=None, operator=cast.north, amount=amount, reference="X")

    assert not JournalEntry.objects.exists()
    assert Account.objects.filter(balance__gt=0).count() == 0


def test_the_funds_page_adds_funds_and_lists_them(cast):
    page = client_as(cast.alice).get(f"/operators/{cast.north.pk}/funds/")
    assert page.status_code == 200
    assert b'data-testid="add-funds"' in page.content

    response = client_as(cast.alice).post(
        f"/operators/{cast.north.pk}/funds/add/",
        {"amount": "1500", "method": "bank", "reference": "DEP-1", "note": "October"},
    )

    assert response.status_code == 302
    assert balance_of(cast.north) == Decimal("1500.00")
    listed = client_as(cast.alice).get(response["Location"]).content.decode()
    assert "Acme North funds · DEP-1 · October" in listed
    again = client_as(cast.alice).post(
        f"/operators/{cast.north.pk}/funds/add/",
        {"amount": "1", "method": "bank", "reference": "DEP-1"},
    )
    assert "Already recorded." in again.content.decode()
    assert balance_of(cast.north) == Decimal("1500.00")


def test_bob_sees_his_funds_but_may_not_add_to_them_nor_reach_others(cast):
    bob = client_as(cast.bob)
    page = bob.get(f"/operators/{cast.north.pk}/funds/")
    assert page.status_code == 200
    assert b'data-testid="add-funds"' not in page.content
    assert bob.post(
        f"/operators/{cast.north.pk}/funds/add/",
        {"amount": "100", "method": "cash", "reference": "SELF"},
    ).status_code in {200, 403}
    assert bob.get(f"/operators/{cast.south.pk}/funds/").status_code == 404
    assert client_as(cast.nina).get(f"/operators/{cast.north.pk}/funds/").status_code == 403
    assert client_as(cast.mallory).get(f"/operators/{cast.north.pk}/funds/").status_code in {
        403,
        404,
    }
    assert balance_of(cast.north) == Decimal("0.00")


def test_the_api_reads_and_adds_funds(cast, api_for):
    api = api_for(cast.alice)

    created = api.post(
        f"/api/v1/operators/{cast.south.pk}/funds/",
        {"amount": "700.50", "method": "cash", "reference": "S-9"},
        format="json",
    )
    read = api.get(f"/api/v1/operators/{cast.south.pk}/funds/").json()

    assert created.status_code == 201
    assert created.json()["amount"] == "700.50"
    assert read["balance"] == "700.50"
    assert read["floor"] == "0.00"
    assert (
        api.post(
            f"/api/v1/operators/{cast.south.pk}/funds/",
            {"amount": "-1", "reference": "S-10"},
            format="json",
        ).status_code
        == 400
    )
    assert (
        api.post(
            f"/api/v1/operators/{cast.south.pk}/funds/",
            {"amount": "5", "reference": "S-9"},
            format="json",
        ).status_code
        == 409
    )
    assert api_for(cast.sue).get(f"/api/v1/operators/{cast.north.pk}/funds/").status_code == 404
    assert api_for(cast.nina).get(f"/api/v1/operators/{cast.south.pk}/funds/").status_code == 403
    assert balance_of(cast.south) == Decimal("700.50")


def test_a_moved_customer_takes_what_it_owes_and_its_advance_to_its_new_operator(cast, register):
    owing = since_2025(register)
    billing.generate_bill(actor=None, customer=owing, at=NOV)  # owes North 800
    ahead = since_2025(register)
    payments.receive_payment(
        actor=None, customer=ahead, amount="300", method="cash", reference="R-9"
    )  # North holds 300 of its advance
    services.post_pending()
    funds.add_funds(actor=None, operator=cast.south, amount="5000", reference="S-1", method="bank")

    customers.transfer_customer(actor=cast.alice, customer=owing, to_operator=cast.south)
    customers.transfer_customer(actor=cast.alice, customer=ahead, to_operator=cast.south)

    assert account(cast.north, "receivable") == Decimal("0.00")
    assert account(cast.north, "advances") == Decimal("0.00")
    assert account(cast.south, "receivable") == Decimal("800.00")
    assert account(cast.south, "advances") == Decimal("300.00")
    # South will collect 800 for North and owes it the 300 it took in advance.
    assert account(cast.north, "operator_receivable", cast.south) == Decimal("500.00")
    assert account(cast.south, "operator_payable", cast.north) == Decimal("500.00")
    assert Bill.objects.get(customer=owing).operator_id == cast.north.pk

    with time_machine.travel(NOV, tick=False):
        payments.receive_payment(
            actor=None, customer=owing, amount="800", method="cash", reference="R-10"
        )
    services.post_pending()
    assert account(cast.south, "receivable") == Decimal("0.00")
    assert account(cast.south, "cash") == Decimal("800.00")


def test_a_customer_with_nothing_owed_or_ahead_moves_without_an_entry(cast, register):
    customer = since_2025(register)

    customers.transfer_customer(actor=cast.alice, customer=customer, to_operator=cast.south)

    assert not JournalEntry.objects.filter(source_type="customers.customer").exists()


def test_a_reseller_below_its_floor_past_the_grace_is_disabled_until_it_settles(
    cast, register, settings
):
    settings.RESELLER_GRACE_DAYS = 7
    since_2025(register, operator=cast.south)
    billing.run_billing(tenant_id=cast.acme.pk, at=NOV)  # South is charged 800 from zero
    south = Operator.objects.get(pk=cast.south.pk)
    assert south.balance == Decimal("-800.00")
    since = south.unsettled_since
    assert since is not None

    assert funds.suspend_unsettled(now=since + dt.timedelta(days=6)) == 0
    assert funds.suspend_unsettled(now=since + dt.timedelta(days=7, minutes=1)) == 1

    south.refresh_from_db()
    assert not south.is_active
    assert south.disabled_reason.startswith("unsettled: balance -800.00 below its floor 0.00")
    assert not cast.fresh(cast.sue).membership.is_usable()
    funds.add_funds(actor=None, operator=south, amount="500", reference="S-1")
    south.refresh_from_db()
    assert (south.is_active, south.unsettled_since) == (False, since)  # still short

    funds.add_funds(actor=None, operator=south, amount="300", reference="S-2")

    south.refresh_from_db()
    assert (south.is_active, south.unsettled_since, south.disabled_reason) == (True, None, "")
    assert AuditEvent.objects.filter(verb="operator.enabled", object_id=str(south.pk)).exists()


def test_funds_do_not_bring_back_an_operator_disabled_for_another_reason(cast):
    from ispbills.tenancy.services import set_operator_active

    set_operator_active(actor=cast.alice, operator=cast.south, active=False, reason="fraud")

    funds.add_funds(actor=None, operator=cast.south, amount="100", reference="S-1")

    south = Operator.objects.get(pk=cast.south.pk)
    assert (south.is_active, south.disabled_reason) == (False, "fraud")


def test_an_operator_closes_only_once_settled_and_keeps_its_books(cast, register):
    customer = since_2025(register, operator=cast.south)
    funds.add_funds(actor=None, operator=cast.south, amount="800", reference="S-1", method="bank")
    billing.generate_bill(actor=None, customer=customer, at=NOV)  # owed 800, balance 0

    with pytest.raises(ConflictError) as refused:
        funds.close_operator(actor=cast.alice, operator=cast.south, reason="left the network")
    message = str(refused.value)
    assert "1 customers are still its own" in message
    assert "Customer receivables holds 800.00." in message
    assert "Bank holds -800.00." in message
    assert Operator.objects.get(pk=cast.south.pk).is_active

    with time_machine.travel(NOV, tick=False):
        payments.receive_payment(
            actor=None, customer=customer, amount="800", method="transfer", reference="T-1"
        )
    services.post_pending()
    customers.delete_customer(actor=cast.alice, customer=customer, reason="moved away")
    clearing = services.account_for(cast.south, Account.Kind.GATEWAY_CLEARING)
    bank = services.account_for(cast.south, Account.Kind.BANK)
    services.transfer(actor=None, source=clearing, target=bank, amount="800", reference="SET-1")
    entries = JournalEntry.objects.count()

    closed = funds.close_operator(actor=cast.alice, operator=cast.south, reason="left")

    assert (closed.is_active, closed.disabled_reason) == (False, "closed: left")
    assert JournalEntry.objects.count() == entries  # the books stay as they were
    assert Bill.objects.filter(operator=cast.south).count() == 1
    with pytest.raises(ConflictError, match="already closed"):
        funds.close_operator(actor=cast.alice, operator=cast.south, reason="again")


def test_only_the_parents_staff_close_an_operator(cast):
    for who in ("bob", "sue", "ann", "nina", "mallory"):
        with pytest.raises(NotAllowedError):
            funds.close_operator(
                actor=cast.fresh(getattr(cast, who)), operator=cast.south, reason="x"
            )
    with pytest.raises(DomainError):
        funds.close_operator(actor=cast.alice, operator=cast.acme_root, reason="x")

    assert Operator.objects.filter(tenant=cast.acme, is_active=True).count() == 4


def test_the_funds_page_lists_what_keeps_an_operator_open_then_closes_it(cast, api_for):
    Operator.objects.filter(pk=cast.north_point.pk).update(balance="-5")
    page = client_as(cast.alice).get(f"/operators/{cast.north_point.pk}/funds/").content.decode()
    assert "Its balance with its parent is -5.00, not zero." in page
    assert 'data-testid="close-operator"' not in page
    refused = api_for(cast.alice).post(
        f"/api/v1/operators/{cast.north_point.pk}/close/", {"note": "x"}, format="json"
    )
    assert refused.status_code == 409

    Operator.objects.filter(pk=cast.north_point.pk).update(balance="0")
    page = client_as(cast.alice).get(f"/operators/{cast.north_point.pk}/funds/").content.decode()
    assert 'data-testid="close-operator"' in page
    response = client_as(cast.alice).post(
        f"/operators/{cast.north_point.pk}/close/", {"reason": "merged into North"}
    )

    assert response.status_code == 302
    assert Operator.objects.get(pk=cast.north_point.pk).disabled_reason == (
        "closed: merged into North"
    )
