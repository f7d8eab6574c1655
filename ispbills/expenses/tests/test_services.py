"""Recording, correcting and voiding expenses, and their categories: the ledger posting, the
refusals (nothing written), attachments and who may do what."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from ispbills.accounting.models import Account, JournalEntry, JournalLine
from ispbills.accounting.services import account_for
from ispbills.core.errors import ConflictError, DomainError, NotAllowedError
from ispbills.core.models import AuditEvent
from ispbills.expenses import services
from ispbills.expenses.models import Expense, ExpenseAttachment, ExpenseCategory
from ispbills.expenses.services import PaidFrom, Upload
from ispbills.expenses.tests.makers import PDF, image

pytestmark = pytest.mark.django_db


@pytest.fixture
def rent(cast: Any) -> ExpenseCategory:
    """A category of Acme's root, which the operators below it use too."""
    return services.save_category(actor=None, operator=cast.acme_root, name="Rent")


def record(actor: Any, operator: Any, category: Any, **values: Any) -> Expense:
    values.setdefault("amount", "1234.56")
    values.setdefault("paid_from", PaidFrom.CASH)
    values.setdefault("payee", "Landlord")
    return services.record_expense(actor=actor, operator=operator, category=category, **values)


def lines_of(entry: JournalEntry) -> list[tuple[str, Any, Decimal, Decimal]]:
    return [
        (line.account.kind, line.account.user_id, line.debit, line.credit)
        for line in JournalLine.objects.filter(entry=entry).select_related("account")
    ]


def counts() -> tuple[int, int, int, int, int]:
    return (
        Expense.objects.count(),
        ExpenseAttachment.objects.count(),
        JournalEntry.objects.count(),
        JournalLine.objects.count(),
        AuditEvent.objects.filter(verb__startswith="expense.").count(),
    )


# ---- posting --------------------------------------------------------------------------------


def test_recording_posts_one_balanced_entry_dr_expenses_cr_the_operators_cash(cast, rent):
    expense = record(cast.fresh(cast.bob), cast.north, rent, reference="INV-7")

    entry = JournalEntry.objects.get(source_type="expenses.expense", source_id=str(expense.pk))
    assert expense.entry_id == entry.pk
    assert (entry.purpose, entry.amount, entry.operator_id) == (
        "recorded",
        Decimal("1234.56"),
        cast.north.pk,
    )
    assert lines_of(entry) == [
        ("expenses", None, Decimal("1234.56"), Decimal("0.00")),
        ("cash", None, Decimal("0.00"), Decimal("1234.56")),
    ]
    assert account_for(cast.north, Account.Kind.EXPENSES).balance == Decimal("1234.56")
    # Cash may go negative: nothing was there to pay from.
    assert account_for(cast.north, Account.Kind.CASH).balance == Decimal("-1234.56")
    assert expense.account == account_for(cast.north, Account.Kind.CASH)
    assert expense.created_by == cast.bob
    event = AuditEvent.objects.get(verb="expense.recorded")
    assert event.changes["amount"] == [None, "1234.56"]
    assert event.operator_id == cast.north.pk


def test_the_amount_is_quantized_to_paisa_and_the_bank_or_my_cash_pays(cast, rent):
    bob = cast.fresh(cast.bob)

    bank = record(bob, cast.north, rent, amount="10.005", paid_from=PaidFrom.BANK)
    mine = record(bob, cast.north, rent, amount="2", paid_from=PaidFrom.MY_CASH)

    assert bank.amount == Decimal("10.01")
    assert lines_of(bank.entry)[1] == ("bank", None, Decimal("0.00"), Decimal("10.01"))
    assert lines_of(mine.entry)[1] == ("cash", cast.bob.pk, Decimal("0.00"), Decimal("2.00"))
    assert account_for(cast.north, Account.Kind.EXPENSES).balance == Decimal("12.01")


def test_a_past_date_is_the_entrys_day_in_the_isps_zone(cast, rent):
    # 20:00 UTC on 1 March is already 2 March in Dhaka.
    with time_machine.travel(dt.datetime(2026, 3, 1, 20, 0, tzinfo=dt.UTC), tick=False):
        today = record(None, cast.north, rent)
        earlier = record(None, cast.north, rent, spent_on=dt.date(2026, 2, 27))

    assert (today.spent_on, today.entry.day) == (dt.date(2026, 3, 2), dt.date(2026, 3, 2))
    assert earlier.entry.day == dt.date(2026, 2, 27)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"payee": "  "}, "payee"),
        ({"paid_from": "gateway_clearing"}, "paid_from"),
        ({"spent_on": dt.date(2099, 1, 1)}, "spent_on"),
    ],
)
def test_invalid_input_is_refused_with_nothing_written(cast, rent, values, field):
    before = counts()

    with pytest.raises(DomainError) as refused:
        record(cast.fresh(cast.alice), cast.north, rent, **values)

    assert field in refused.value.fields
    assert counts() == before


def test_my_cash_needs_a_person(cast, rent):
    with pytest.raises(DomainError) as refused:
        record(None, cast.north, rent, paid_from=PaidFrom.MY_CASH)

    assert "paid_from" in refused.value.fields
    assert Expense.objects.count() == 0


# ---- categories of others -------------------------------------------------------------------


def test_a_category_of_a_sibling_operator_or_another_isp_is_refused(cast):
    south_only = services.save_category(actor=None, operator=cast.south, name="South van")
    globex = services.save_category(actor=None, operator=cast.globex_root, name="Rent")
    north_only = services.save_category(actor=None, operator=cast.north, name="North rent")
    before = counts()

    for category, operator in ((south_only, cast.north), (globex, cast.north)):
        with pytest.raises(DomainError) as refused:
            record(None, operator, category)
        assert "category" in refused.value.fields
    # A category of an operator below is not the parent's to use either.
    with pytest.raises(DomainError):
        record(None, cast.acme_root, north_only)

    assert counts() == before


def test_an_inactive_category_or_one_under_an_inactive_parent_is_refused(cast, rent):
    fibre = services.save_category(actor=None, operator=cast.acme_root, name="Fibre")
    splicing = services.save_category(
        actor=None, operator=cast.acme_root, name="Splicing", parent=fibre
    )
    services.save_category(actor=None, operator=cast.acme_root, category=fibre, is_active=False)
    services.save_category(actor=None, operator=cast.acme_root, category=rent, is_active=False)

    for category in (rent, splicing):
        with pytest.raises(DomainError, match="no longer in use"):
            record(None, cast.north, category)
    assert Expense.objects.count() == 0


def test_category_names_are_unique_per_operator_whatever_their_case(cast, rent):
    with pytest.raises(ConflictError):
        services.save_category(actor=None, operator=cast.acme_root, name=" rENT ")
    north = services.save_category(actor=None, operator=cast.north, name="rent")

    assert north.name == "rent"
    assert ExpenseCategory.objects.filter(name__iexact="rent").count() == 2


def test_subcategories_go_one_level_deep_under_the_operators_or_an_ancestors(cast, rent):
    office = services.save_category(actor=None, operator=cast.north, name="Office", parent=rent)
    south = services.save_category(actor=None, operator=cast.south, name="South")
    premises = services.save_category(actor=None, operator=cast.acme_root, name="Premises")

    with pytest.raises(DomainError, match="one level deep"):
        services.save_category(actor=None, operator=cast.north, name="Desk", parent=office)
    with pytest.raises(DomainError, match="one above it"):
        services.save_category(actor=None, operator=cast.north, name="Van", parent=south)
    with pytest.raises(DomainError, match="cannot become a subcategory"):
        services.save_category(actor=None, operator=cast.acme_root, category=rent, parent=premises)

    assert office.label == "Rent / Office"
    assert list(rent.children.all()) == [office]


def test_only_those_with_the_expenses_area_record_and_only_in_their_reach(cast, rent):
    for user in (cast.carol, cast.nina, cast.dave):
        with pytest.raises(NotAllowedError):
            record(cast.fresh(user), cast.acme_root, rent)
    with pytest.raises(NotAllowedError):
        record(cast.fresh(cast.bob), cast.south, rent)
    with pytest.raises(NotAllowedError):
        services.save_category(actor=cast.fresh(cast.bob), operator=cast.acme_root, name="X")

    ann = record(cast.fresh(cast.ann), cast.south, rent)
    sam = record(cast.fresh(cast.sam), cast.north_point, rent)

    assert (ann.operator_id, sam.operator_id) == (cast.south.pk, cast.north_point.pk)


# ---- attachments ----------------------------------------------------------------------------


def test_pdf_png_and_jpeg_are_kept_with_their_checked_types(cast, rent):
    files = [
        Upload("C:\\scans\\bill.pdf", PDF),
        Upload("receipt.png", image("PNG")),
        Upload("photo.JPG", image("JPEG")),
    ]

    expense = record(None, cast.north, rent, attachments=files)

    kept = list(expense.attachments.values_list("name", "content_type", "size", "operator_id"))
    assert kept == [
        ("bill.pdf", "application/pdf", len(PDF), cast.north.pk),
        ("receipt.png", "image/png", len(image("PNG")), cast.north.pk),
        ("photo.JPG", "image/jpeg", len(image("JPEG")), cast.north.pk),
    ]
    assert bytes(expense.attachments.get(name="bill.pdf").data) == PDF


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (Upload("notes.pdf", b"just some text, not a PDF"), "not a PDF, PNG or JPEG"),
        (Upload("anim.png", image("GIF")), "not a PDF, PNG or JPEG"),
        (Upload("page.html", b"<html><script>alert(1)</script></html>"), "not a PDF"),
        (Upload("cut.png", image("PNG")[:30]), "not a PDF, PNG or JPEG"),
        (Upload("big.pdf", PDF + b" " * (5 * 1024 * 1024)), "larger than 5 MB"),
    ],
)
def test_other_files_and_files_over_5_mb_are_refused_with_nothing_written(
    cast, rent, upload, message
):
    before = counts()

    with pytest.raises(DomainError, match=message) as refused:
        record(None, cast.north, rent, attachments=[Upload("ok.pdf", PDF), upload])

    assert "attachments" in refused.value.fields
    assert counts() == before


def test_a_sixth_file_is_refused(cast, rent):
    with pytest.raises(DomainError, match="at most 5 files"):
        record(None, cast.north, rent, attachments=[Upload(f"{n}.pdf", PDF) for n in range(6)])

    assert counts() == (0, 0, 0, 0, 0)


# ---- correcting and voiding -----------------------------------------------------------------


def test_payee_note_and_category_are_corrected_and_audited_money_is_not(cast, rent):
    expense = record(None, cast.north, rent)
    office = services.save_category(actor=None, operator=cast.north, name="Office")
    alice = cast.fresh(cast.alice)

    services.update_expense(
        actor=alice, expense=expense, payee="Mr Karim", note="March", category=office
    )
    with pytest.raises(DomainError, match="void it"):
        services.update_expense(actor=alice, expense=expense, amount="1")

    expense.refresh_from_db()
    assert (expense.payee, expense.note, expense.category, expense.amount) == (
        "Mr Karim",
        "March",
        office,
        Decimal("1234.56"),
    )
    event = AuditEvent.objects.get(verb="expense.updated")
    assert event.changes == {
        "category": ["Rent", "Office"],
        "note": ["", "March"],
        "payee": ["Landlord", "Mr Karim"],
    }
    assert JournalEntry.objects.count() == 1


def test_voiding_posts_the_exact_reversal_once(cast, rent):
    expense = record(None, cast.north, rent, paid_from=PaidFrom.BANK)
    alice = cast.fresh(cast.alice)

    services.void_expense(actor=alice, expense=expense, reason="Entered twice")

    expense.refresh_from_db()
    reversal = expense.void_entry
    assert expense.status == Expense.Status.VOID
    assert (expense.void_reason, expense.voided_by) == ("Entered twice", cast.alice)
    assert (reversal.reverses_id, reversal.purpose, reversal.source_id) == (
        expense.entry_id,
        "voided",
        str(expense.pk),
    )
    assert lines_of(reversal) == [
        ("expenses", None, Decimal("0.00"), Decimal("1234.56")),
        ("bank", None, Decimal("1234.56"), Decimal("0.00")),
    ]
    assert account_for(cast.north, Account.Kind.EXPENSES).balance == Decimal("0.00")
    assert account_for(cast.north, Account.Kind.BANK).balance == Decimal("0.00")
    assert AuditEvent.objects.get(verb="expense.voided").changes["reason"] == [
        None,
        "Entered twice",
    ]

    before = counts()
    with pytest.raises(ConflictError, match="already void"):
        services.void_expense(actor=alice, expense=expense, reason="Again")
    with pytest.raises(ConflictError, match="kept as it was"):
        services.update_expense(actor=alice, expense=expense, payee="Someone")
    assert counts() == before


def test_voiding_needs_a_reason_and_the_change_right_in_reach(cast, rent):
    expense = record(None, cast.south, rent)

    with pytest.raises(DomainError, match="why"):
        services.void_expense(actor=None, expense=expense, reason=" ")
    with pytest.raises(NotAllowedError):
        services.void_expense(actor=cast.fresh(cast.bob), expense=expense, reason="No")
    with pytest.raises(NotAllowedError):
        services.void_expense(actor=cast.fresh(cast.mallory), expense=expense, reason="No")

    expense.refresh_from_db()
    assert (expense.status, expense.void_entry_id) == (Expense.Status.RECORDED, None)
    assert JournalEntry.objects.count() == 1
