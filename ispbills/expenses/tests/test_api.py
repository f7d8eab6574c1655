"""The v1 expense endpoints: categories, recording (JSON and multipart), listing with
filters, voiding once, attachments, and who reaches what."""

from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ispbills.accounting.models import JournalEntry
from ispbills.expenses import services
from ispbills.expenses.models import Expense, ExpenseCategory
from ispbills.expenses.services import PaidFrom, Upload
from ispbills.expenses.tests.makers import PDF, image

pytestmark = pytest.mark.django_db

EXPENSES = "/api/v1/expenses/"
CATEGORIES = "/api/v1/expense-categories/"


@pytest.fixture
def rent(cast: Any) -> ExpenseCategory:
    return services.save_category(actor=None, operator=cast.acme_root, name="Rent")


def test_a_category_is_created_and_retired_through_the_api(cast, api_for, rent):
    api = api_for(cast.alice)

    made = api.post(CATEGORIES, {"name": "Office", "parent": rent.pk}, format="json")
    clash = api.post(CATEGORIES, {"name": "rent"}, format="json")
    retired = api.patch(f"{CATEGORIES}{made.json()['id']}/", {"is_active": False}, format="json")

    assert made.status_code == 201
    assert (made.json()["full_name"], made.json()["operator"]) == (
        "Rent / Office",
        cast.acme_root.pk,
    )
    assert clash.status_code == 409
    assert retired.status_code == 200
    assert retired.json()["is_active"] is False


def test_recording_through_the_api_posts_and_answers_the_expense(cast, api_for, rent):
    response = api_for(cast.bob).post(
        EXPENSES,
        {
            "category": rent.pk,
            "amount": "700.40",
            "paid_from": PaidFrom.CASH,
            "payee": "Landlord",
            "reference": "R-1",
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    expense = Expense.objects.get()
    assert (body["id"], body["operator"], body["amount"], body["status"]) == (
        expense.pk,
        cast.north.pk,
        "700.40",
        "recorded",
    )
    assert body["entry"] == JournalEntry.objects.get(source_id=str(expense.pk)).pk
    assert body["category_label"] == "Rent"
    assert body["attachments"] == []


def test_multipart_recording_keeps_the_files_and_they_download(cast, api_for, rent):
    api = api_for(cast.alice)

    response = api.post(
        EXPENSES,
        {
            "operator": cast.south.pk,
            "category": rent.pk,
            "amount": "99.99",
            "spent_on": "2026-01-02",
            "paid_from": PaidFrom.BANK,
            "payee": "Cable vendor",
            "attachments": [
                SimpleUploadedFile("quote.pdf", PDF, "application/pdf"),
                SimpleUploadedFile("photo.png", image(), "image/png"),
            ],
        },
        format="multipart",
    )

    assert response.status_code == 201
    files = response.json()["attachments"]
    assert [(f["name"], f["content_type"], f["size"]) for f in files] == [
        ("quote.pdf", "application/pdf", len(PDF)),
        ("photo.png", "image/png", len(image())),
    ]
    download = api.get(files[0]["url"])
    assert download.status_code == 200
    assert download.content == PDF
    assert download["Content-Disposition"] == 'attachment; filename="quote.pdf"'
    assert download["X-Content-Type-Options"] == "nosniff"
    assert api_for(cast.bob).get(files[0]["url"]).status_code == 404
    assert api_for(cast.mallory).get(files[0]["url"]).status_code == 404
    assert api_for(cast.nina).get(files[0]["url"]).status_code == 403


def test_a_refused_attachment_or_category_answers_400_with_nothing_written(cast, api_for, rent):
    globex = services.save_category(actor=None, operator=cast.globex_root, name="Globex rent")
    api = api_for(cast.alice)
    base = {"category": rent.pk, "amount": "10", "paid_from": PaidFrom.CASH, "payee": "X"}

    bad_file = api.post(
        EXPENSES,
        {**base, "attachments": [SimpleUploadedFile("x.png", b"GIF89a....", "image/png")]},
        format="multipart",
    )
    foreign = api.post(EXPENSES, {**base, "category": globex.pk}, format="json")
    zero = api.post(EXPENSES, {**base, "amount": "0"}, format="json")

    assert bad_file.status_code == 400
    assert "x.png is not a PDF, PNG or JPEG file." in bad_file.content.decode()
    assert foreign.status_code == 400  # not among the categories alice may name
    assert zero.status_code == 400
    assert Expense.objects.count() == 0
    assert JournalEntry.objects.count() == 0


def test_the_list_filters_and_is_scoped(cast, api_for, rent):
    def spend(operator: Any, amount: str, payee: str) -> Expense:
        return services.record_expense(
            actor=None,
            operator=operator,
            category=rent,
            amount=amount,
            paid_from=PaidFrom.CASH,
            payee=payee,
            attachments=[Upload("a.pdf", PDF)],
        )

    north = spend(cast.north, "10", "North payee")
    south = spend(cast.south, "20", "South payee")
    root = spend(cast.acme_root, "30", "Root payee")

    def payees(user: Any, query: str = "") -> list[str]:
        response = api_for(user).get(f"{EXPENSES}{query}")
        assert response.status_code == 200
        return [row["payee"] for row in response.json()["results"]]

    assert payees(cast.alice) == ["Root payee", "South payee", "North payee"]
    assert payees(cast.alice, f"?operator={cast.south.pk}") == ["South payee"]
    assert payees(cast.alice, "?q=north") == ["North payee"]
    assert payees(cast.alice, f"?q={root.display_number}") == ["Root payee"]
    assert payees(cast.bob) == ["North payee"]
    assert payees(cast.mallory) == []
    assert api_for(cast.carol).get(EXPENSES).status_code == 403
    assert api_for(cast.nina).get(EXPENSES).status_code == 403
    assert api_for(cast.bob).get(f"{EXPENSES}{south.pk}/").status_code == 404
    assert api_for(cast.bob).get(f"{EXPENSES}{north.pk}/").status_code == 200


def test_voiding_through_the_api_reverses_once(cast, api_for, rent):
    expense = services.record_expense(
        actor=None,
        operator=cast.north,
        category=rent,
        amount="55.55",
        paid_from=PaidFrom.CASH,
        payee="Someone",
    )
    api = api_for(cast.ann)

    first = api.post(f"{EXPENSES}{expense.pk}/void/", {"reason": "Typo"}, format="json")
    entries = JournalEntry.objects.count()
    second = api.post(f"{EXPENSES}{expense.pk}/void/", {"reason": "Again"}, format="json")
    other = api_for(cast.mallory).post(
        f"{EXPENSES}{expense.pk}/void/", {"reason": "x"}, format="json"
    )

    assert first.status_code == 200
    assert (first.json()["status"], first.json()["void_reason"]) == ("void", "Typo")
    reversal = JournalEntry.objects.get(pk=first.json()["void_entry"])
    assert (reversal.reverses_id, reversal.amount) == (expense.entry_id, Decimal("55.55"))
    assert second.status_code == 409
    assert other.status_code == 404
    assert JournalEntry.objects.count() == entries == 2
