"""Cards: generation, exactly-once redemption through the payment pipeline, stacking rules,
the wrong-PIN lock-out, expiry, voids, commissions and distributor settlements."""

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import override_settings

from ispbills.accounting.models import Account, JournalEntry
from ispbills.billing import services as billing
from ispbills.cards import services
from ispbills.cards.models import (
    Card,
    CardBatch,
    Commission,
    DistributorPayment,
    RedemptionAttempt,
)
from ispbills.cards.tests.conftest import pins_of
from ispbills.catalog.services import save_package
from ispbills.core import clock
from ispbills.core.errors import ConflictError, DomainError, NotAllowedError
from ispbills.core.models import AuditEvent
from ispbills.customers.tests.makers import make_customer
from ispbills.payments.models import Payment
from ispbills.tenancy.roles import Role
from ispbills.tenancy.services import create_staff_user

pytestmark = pytest.mark.django_db


def redeem(customer: Any, pin: str, actor: Any = None, ip: str = "192.0.2.1") -> Card:
    return services.redeem_card(actor=actor, customer=customer, pin=pin, ip=ip)


# ---- generation --------------------------------------------------------------------------------


def test_a_batch_gets_unique_serials_and_pins_found_by_their_hash(cast, make_batch, home):
    batch = make_batch(count=5)

    cards = list(Card.objects.filter(batch=batch).order_by("serial"))
    assert [card.serial for card in cards] == [f"{batch.pk:06d}-{n:06d}" for n in range(1, 6)]
    assert {card.state for card in cards} == {"issued"}
    assert {card.distributor_id for card in cards} == {cast.dave.pk}
    assert {card.value for card in cards} == {Decimal("800.00")}
    pins = [card.pin for card in cards]
    assert len(set(pins)) == 5
    assert all(len(pin) == 16 and set(pin) <= set(services.ALPHABET) for pin in pins)
    for card, pin in zip(cards, pins, strict=True):
        assert bytes(card.pin_hash) == services.pin_hash(pin)
    with connection.cursor() as cursor:  # nothing in the clear at rest
        cursor.execute("SELECT pin FROM cards_card WHERE batch_id = %s", [batch.pk])
        stored = [row[0] for row in cursor.fetchall()]
    assert all(value.startswith("fernet:") for value in stored)
    assert not any(pin in value for pin in pins for value in stored)
    event = AuditEvent.objects.get(verb="card_batch.generated")
    assert event.changes["count"] == [None, 5]


def test_a_batch_without_a_distributor_stays_unissued_until_issued(cast, make_batch):
    batch = make_batch(distributor=None, count=4)
    assert set(Card.objects.filter(batch=batch).values_list("state", flat=True)) == {"unissued"}

    issued = services.issue_batch(actor=cast.alice, batch=batch, distributor=cast.dave)

    assert issued == 4
    assert set(Card.objects.filter(batch=batch).values_list("state", flat=True)) == {"issued"}
    assert AuditEvent.objects.filter(verb="card.issued").count() == 4
    with pytest.raises(ConflictError):
        services.issue_batch(actor=cast.alice, batch=batch, distributor=cast.dave)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"count": 0}, "count"),
        ({"count": "many"}, "count"),
        ({"expires_at": dt.datetime(2020, 1, 1, tzinfo=dt.UTC)}, "expires_at"),
        ({"package": None, "value": None}, "value"),
        ({"commission_percent": "120"}, "commission_percent"),
        ({"name": " "}, "name"),
    ],
)
def test_refuses_a_bad_batch_and_writes_nothing(make_batch, fields, field):
    with pytest.raises(DomainError) as error:
        make_batch(**fields)
    assert field in error.value.fields
    assert not CardBatch.objects.exists()
    assert not Card.objects.exists()


def test_refuses_a_distributor_who_is_not_one(cast, make_batch):
    with pytest.raises(DomainError) as error:
        make_batch(distributor=cast.carol)
    assert "distributor" in error.value.fields
    assert not Card.objects.exists()


def test_a_distributor_cannot_generate_cards(cast, make_batch):
    with pytest.raises(NotAllowedError):
        make_batch(actor=cast.dave)
    assert not Card.objects.exists()


def test_pins_are_read_forgivingly(make_batch):
    pin = "0123456789ABCDEF"
    assert services.normalize_pin("o123-4567 89ab-cdef") == pin
    assert services.normalize_pin("0123456789ABCDEU") is None  # U is not a symbol
    assert services.normalize_pin("0123") is None
    assert services.format_pin(pin) == "0123-4567-89AB-CDEF"


# ---- redemption --------------------------------------------------------------------------------


def test_redeeming_pays_through_the_pipeline_once(cast, make_batch, register):
    customer = register()
    bill = billing.generate_bill(actor=None, customer=customer)
    batch = make_batch()
    pin = pins_of(batch)[0]

    card = redeem(customer, services.format_pin(pin).lower(), actor=cast.dave)

    card.refresh_from_db()
    bill.refresh_from_db()
    payment = Payment.objects.get()
    assert (card.state, card.customer_id, card.redeemed_by_id) == (
        "used",
        customer.pk,
        cast.dave.pk,
    )
    assert card.payment_id == payment.pk
    assert (payment.method, payment.reference, payment.amount) == (
        "card",
        card.serial,
        Decimal("800.00"),
    )
    assert bill.status == "paid"
    assert AuditEvent.objects.filter(verb="card.redeemed", object_id=str(card.pk)).count() == 1
    assert RedemptionAttempt.objects.get().outcome == "redeemed"

    with pytest.raises(ConflictError) as error:
        redeem(customer, pin, actor=cast.dave)
    assert "already used" in error.value.message
    assert Payment.objects.count() == 1
    assert list(RedemptionAttempt.objects.order_by("id").values_list("outcome", flat=True)) == [
        "redeemed",
        "refused",
    ]


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_redemptions_of_one_pin_make_one_payment(cast, make_batch, register):
    customers = [register() for _ in range(5)]
    batch = make_batch(package=None, value="500")
    pin = pins_of(batch)[0]
    start = threading.Barrier(50)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def client(number: int) -> None:
        try:
            start.wait()
            redeem(customers[number % 5], pin, ip=f"198.51.100.{number}")
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(outcomes) == ["conflict"] * 49 + ["ok"]
    card = Card.objects.get(batch=batch, serial__endswith="000001")
    payment = Payment.objects.get()
    assert (card.state, card.payment_id, payment.customer_id) == (
        "used",
        payment.pk,
        card.customer_id,
    )
    assert payment.amount == Decimal("500.00")
    assert RedemptionAttempt.objects.filter(outcome="redeemed").count() == 1
    assert RedemptionAttempt.objects.filter(outcome="refused").count() == 49
    assert AuditEvent.objects.filter(verb="card.redeemed").count() == 1


def test_a_wrong_pin_is_refused_and_counted(cast, make_batch, register):
    customer = register()
    make_batch()

    with pytest.raises(services.WrongPinError):
        redeem(customer, "0000-0000-0000-0000")
    with pytest.raises(services.WrongPinError):
        redeem(customer, "not a pin")

    assert not Payment.objects.exists()
    assert list(RedemptionAttempt.objects.values_list("outcome", flat=True)) == ["wrong_pin"] * 2


def test_another_isps_pin_is_a_wrong_pin(cast, make_batch):
    globex_customer = make_customer(cast.globex_root, "gc")
    pin = pins_of(make_batch())[0]

    with pytest.raises(services.WrongPinError):
        redeem(globex_customer, pin)
    assert Card.objects.filter(state="issued").count() == 3


def test_a_card_of_a_sibling_reseller_is_a_wrong_pin(cast, make_batch, register, home):
    south_seller = create_staff_user(
        actor=None,
        operator=cast.south,
        username="sid",
        password="sid-pass-123",
        role=Role.CARD_DISTRIBUTOR,
    )
    south_card = make_batch(operator=cast.south, distributor=south_seller)
    customer = register()  # of Acme North

    with pytest.raises(services.WrongPinError):
        redeem(customer, pins_of(south_card)[0])
    assert not Payment.objects.exists()


@pytest.mark.parametrize("state", ["unissued", "void", "expired"])
def test_refuses_a_card_that_is_not_issued(cast, make_batch, register, state):
    customer = register()
    batch = make_batch(distributor=None)
    card = Card.objects.filter(batch=batch).order_by("serial").first()
    if state == "void":
        services.void_cards(actor=cast.alice, cards=Card.objects.filter(pk=card.pk), reason="lost")
    if state == "expired":
        services.issue_batch(actor=cast.alice, batch=batch, distributor=cast.dave)
        with time_machine.travel(clock.now() + dt.timedelta(days=91)):
            assert services.expire_cards() == 3

    with pytest.raises(ConflictError) as error:
        redeem(customer, card.pin)

    assert {"unissued": "not been issued", "void": "void", "expired": "expired"}[state] in (
        error.value.message
    )
    assert not Payment.objects.exists()


def test_an_issued_card_past_its_expiry_is_refused_before_the_job_marks_it(make_batch, register):
    customer = register()
    pin = pins_of(make_batch())[0]
    with time_machine.travel(clock.now() + dt.timedelta(days=91)), pytest.raises(ConflictError):
        redeem(customer, pin)
    assert not Payment.objects.exists()


# ---- stacking ----------------------------------------------------------------------------------


def test_a_package_card_for_another_package_is_refused(cast, make_batch, register):
    other = save_package(
        actor=None,
        operator=cast.acme_root,
        name="Home 50",
        download_kbps=50000,
        upload_kbps=10000,
        price="1500",
    )
    customer = register()
    pin = pins_of(make_batch(package=other))[0]

    with pytest.raises(ConflictError) as error:
        redeem(customer, pin)

    assert "Home 50" in error.value.message
    assert Card.objects.filter(state="used").count() == 0
    assert not Payment.objects.exists()


def test_package_cards_do_not_stack_beyond_one_period_ahead(cast, make_batch, register):
    customer = register()
    first, second, third = pins_of(make_batch())
    bill = billing.generate_bill(actor=None, customer=customer)  # the first, prorated period

    redeem(customer, first)  # pays the open bill, the rest to advance (less than a period)
    redeem(customer, second)  # accepted: the advance held less than a period
    customer.refresh_from_db()
    ahead = Decimal("1600.00") - bill.total
    assert customer.advance_balance == ahead > Decimal("800.00")

    with pytest.raises(ConflictError) as error:
        redeem(customer, third)

    assert "already has" in error.value.message
    customer.refresh_from_db()
    assert customer.advance_balance == ahead
    assert Payment.objects.count() == 2
    assert Card.objects.get(pin_hash=services.pin_hash(third)).state == "issued"


def test_value_cards_add_to_the_advance(make_batch, register):
    customer = register()
    pins = pins_of(make_batch(package=None, value="250"))

    for pin in pins:
        redeem(customer, pin)

    customer.refresh_from_db()
    assert customer.advance_balance == Decimal("750.00")
    assert Payment.objects.filter(method="card").count() == 3


# ---- lock-out ----------------------------------------------------------------------------------


def test_wrong_pins_lock_the_customer_out_even_for_a_right_pin(
    cast, make_batch, register, settings
):
    customer = register()
    pin = pins_of(make_batch())[0]
    for number in range(settings.CARD_LOCKOUT_CUSTOMER_ATTEMPTS):
        with pytest.raises(services.WrongPinError):
            redeem(customer, "0000-0000-0000-0000", ip=f"203.0.113.{number}")

    with pytest.raises(services.RedemptionLockedError) as error:
        redeem(customer, pin, ip="203.0.113.99")

    assert error.value.status == 429
    assert "customer" in error.value.message
    assert Card.objects.filter(state="used").count() == 0
    assert not Payment.objects.exists()
    assert RedemptionAttempt.objects.filter(outcome="locked").count() == 1
    assert AuditEvent.objects.filter(verb="card.redemption_locked").count() == 1

    later = clock.now() + dt.timedelta(seconds=settings.CARD_LOCKOUT_WINDOW_SECONDS + 1)
    with time_machine.travel(later):
        redeem(customer, pin, ip="203.0.113.99")
    assert Payment.objects.count() == 1


@override_settings(CARD_LOCKOUT_IP_ATTEMPTS=3)
def test_wrong_pins_from_one_address_lock_it_for_every_customer(make_batch, register):
    pin = pins_of(make_batch())[0]
    for _number in range(3):
        with pytest.raises(services.WrongPinError):
            redeem(register(), "0000-0000-0000-0000", ip="203.0.113.7")

    with pytest.raises(services.RedemptionLockedError) as error:
        redeem(register(), pin, ip="203.0.113.7")
    assert "address" in error.value.message

    redeem(register(), pin, ip="203.0.113.8")  # another address is not locked
    assert Payment.objects.count() == 1


@override_settings(CARD_LOCKOUT_DISTRIBUTOR_ATTEMPTS=3)
def test_wrong_pins_of_a_distributor_lock_that_distributor(cast, make_batch, register):
    pin = pins_of(make_batch())[0]
    for number in range(3):
        with pytest.raises(services.WrongPinError):
            redeem(register(), "0000-0000-0000-0000", actor=cast.dave, ip=f"203.0.113.{number}")

    with pytest.raises(services.RedemptionLockedError) as error:
        redeem(register(), pin, actor=cast.dave, ip="203.0.113.50")
    assert "distributor" in error.value.message

    redeem(register(), pin, actor=cast.alice, ip="203.0.113.51")
    assert Payment.objects.count() == 1
    done = RedemptionAttempt.objects.get(outcome="redeemed")
    assert (done.user, done.distributor, str(done.ip)) == (cast.alice, None, "203.0.113.51")


# ---- who may redeem ----------------------------------------------------------------------------


def test_a_distributor_cannot_redeem_for_a_customer_of_another_isp(cast, make_batch):
    pin = pins_of(make_batch())[0]
    with pytest.raises(NotAllowedError):
        redeem(make_customer(cast.globex_root, "gc"), pin, actor=cast.dave)
    assert not RedemptionAttempt.objects.exists()
    assert Card.objects.filter(state="used").count() == 0


def test_a_north_distributor_cannot_redeem_for_a_south_customer(
    cast, make_batch, north_distributor
):
    pin = pins_of(make_batch())[0]
    with pytest.raises(NotAllowedError):
        redeem(make_customer(cast.south, "sc"), pin, actor=north_distributor)
    assert not Payment.objects.exists()


def test_staff_without_card_rights_cannot_redeem(cast, make_batch, register):
    pin = pins_of(make_batch())[0]
    with pytest.raises(NotAllowedError):
        redeem(register(), pin, actor=cast.ann)
    assert not Payment.objects.exists()


def test_a_distributor_sees_only_its_own_cards(cast, make_batch, north_distributor):
    mine = make_batch()
    theirs = make_batch(operator=cast.north, distributor=north_distributor)

    assert set(Card.objects.restrict(cast.dave).values_list("batch_id", flat=True)) == {mine.pk}
    assert set(CardBatch.objects.restrict(north_distributor).values_list("pk", flat=True)) == {
        theirs.pk
    }
    assert Card.objects.restrict(cast.alice).count() == 6
    assert Card.objects.restrict(cast.bob).filter(batch=mine).count() == 0


# ---- voids, expiry, duplicates -----------------------------------------------------------------


def test_bulk_void_leaves_used_cards_alone(cast, make_batch, register):
    batch = make_batch()
    pins = pins_of(batch)
    redeem(register(), pins[0])

    voided = services.void_cards(
        actor=cast.alice, cards=Card.objects.filter(batch=batch), reason="stolen box"
    )

    assert voided == 2
    states = dict(Card.objects.filter(batch=batch).values_list("serial", "state"))
    assert sorted(states.values()) == ["used", "void", "void"]
    assert AuditEvent.objects.filter(verb="card.voided").count() == 2


def test_void_needs_a_reason_and_rights(cast, make_batch):
    batch = make_batch()
    with pytest.raises(DomainError):
        services.void_cards(actor=cast.alice, cards=Card.objects.filter(batch=batch), reason="")
    with pytest.raises(NotAllowedError):
        services.void_cards(actor=cast.bob, cards=Card.objects.filter(batch=batch), reason="x")
    assert not Card.objects.filter(state="void").exists()


def test_the_duplicate_pin_check_finds_none_under_the_constraint(make_batch):
    make_batch(count=50)
    assert services.find_duplicate_pins() == []


# ---- commissions and settlement ----------------------------------------------------------------


def test_commission_on_use_is_posted_to_the_ledger(cast, make_batch, register):
    pins = pins_of(make_batch(package=None, value="500", commission_percent="2.5"))
    redeem(register(), pins[0])
    redeem(register(), pins[1])

    assert services.post_commissions() == 2

    assert list(Commission.objects.values_list("amount", flat=True)) == [Decimal("12.50")] * 2
    entry = JournalEntry.objects.get(source_type="cards.commission")
    assert entry.amount == Decimal("25.00")
    payable = Account.objects.get(kind="distributor_payable", user=cast.dave)
    assert payable.balance == Decimal("25.00")
    assert Account.objects.get(kind="commissions").balance == Decimal("25.00")
    assert services.post_commissions() == 0


def test_commission_on_sale_is_owed_when_issued(cast, make_batch):
    make_batch(count=4, commission_on="sale", commission_percent="5")
    assert Commission.objects.count() == 4
    assert services.post_commissions() == 4
    assert Account.objects.get(kind="distributor_payable").balance == Decimal("160.00")


def test_a_payout_is_refused_beyond_what_is_owed(cast, make_batch):
    make_batch(count=2, commission_on="sale", commission_percent="10")
    services.post_commissions()

    with pytest.raises(DomainError):
        services.record_distributor_payment(
            actor=cast.ann,
            operator=cast.acme_root,
            distributor=cast.dave,
            kind="payout",
            amount="200",
            reference="P-1",
        )
    assert not DistributorPayment.objects.exists()

    payout = services.record_distributor_payment(
        actor=cast.ann,
        operator=cast.acme_root,
        distributor=cast.dave,
        kind="payout",
        amount="160",
        reference="P-1",
    )
    assert payout.entry.amount == Decimal("160.00")
    assert Account.objects.get(kind="distributor_payable").balance == Decimal("0.00")
    with pytest.raises(ConflictError):
        services.record_distributor_payment(
            actor=cast.ann,
            operator=cast.acme_root,
            distributor=cast.dave,
            kind="payout",
            amount="1",
            reference="P-1",
        )


def test_the_yearly_summary_adds_up_per_distributor(cast, make_batch, register):
    pins = pins_of(make_batch(package=None, value="500", commission_percent="2"))
    redeem(register(), pins[0])
    services.post_commissions()
    services.record_distributor_payment(
        actor=cast.ann,
        operator=cast.acme_root,
        distributor=cast.dave,
        kind="remittance",
        amount="490",
        reference="REM-1",
    )

    rows = services.yearly_summary(
        Card.objects.restrict(cast.alice),
        Commission.objects.restrict(cast.alice),
        DistributorPayment.objects.restrict(cast.alice),
        "Asia/Dhaka",
    )

    assert len(rows) == 1
    row = rows[0]
    assert (row["distributor"], row["issued"], row["used"]) == ("dave", 3, 1)
    assert (row["used_value"], row["commission"], row["remitted"]) == (
        Decimal("500.00"),
        Decimal("10.00"),
        Decimal("490.00"),
    )
