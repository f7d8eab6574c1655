"""Expense pages: recording with files, the list's filters and totals, the detail with its
entry, voiding, downloads, the export, and who sees what."""

import csv
import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ispbills.core.exports import export_path, write_export
from ispbills.core.jobs import Progress
from ispbills.core.models import JobRun
from ispbills.core.testing.isolation import client_as
from ispbills.expenses import services
from ispbills.expenses.models import Expense, ExpenseAttachment, ExpenseCategory
from ispbills.expenses.services import PaidFrom, Upload
from ispbills.expenses.tests.makers import PDF, image

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(cast: Any) -> dict[str, Any]:
    """Acme's categories (Fibre with Splicing below it, Rent) and one expense of each
    operator: root 1000 (Rent), North 250.50 (Splicing), North Point 49.50 (Fibre),
    South 300 (Rent)."""
    rent = services.save_category(actor=None, operator=cast.acme_root, name="Rent")
    fibre = services.save_category(actor=None, operator=cast.acme_root, name="Fibre")
    splicing = services.save_category(
        actor=None, operator=cast.acme_root, name="Splicing", parent=fibre
    )

    def spend(operator: Any, category: Any, amount: str, payee: str, **values: Any) -> Expense:
        return services.record_expense(
            actor=None,
            operator=operator,
            category=category,
            amount=amount,
            paid_from=PaidFrom.CASH,
            payee=payee,
            **values,
        )

    return {
        "rent": rent,
        "fibre": fibre,
        "splicing": splicing,
        "root": spend(
            cast.acme_root,
            rent,
            "1000",
            "Landlord Root",
            attachments=[Upload("lease.pdf", PDF)],
        ),
        "north": spend(cast.north, splicing, "250.50", "Splice Co", reference="SP-1"),
        "north_point": spend(cast.north_point, fibre, "49.50", "Cable Shop"),
        "south": spend(cast.south, rent, "300", "Landlord South"),
    }


def total_of(page: str) -> str:
    found = re.search(r'data-testid="expense-total">([^<]+)<', page)
    return found.group(1) if found else ""


def test_group_admin_records_an_expense_with_files_through_the_form(cast, books):
    client = client_as(cast.alice)
    form = client.get("/expenses/add/").content.decode()
    assert 'enctype="multipart/form-data"' in form

    response = client.post(
        "/expenses/add/",
        {
            "operator": cast.north.pk,
            "category": books["rent"].pk,
            "amount": "1500.25",
            "spent_on": "2026-01-15",
            "paid_from": PaidFrom.BANK,
            "payee": "Office landlord",
            "reference": "JAN-RENT",
            "note": "January",
            "attachments": [
                SimpleUploadedFile("invoice.pdf", PDF, "application/pdf"),
                SimpleUploadedFile("receipt.jpg", image("JPEG"), "image/jpeg"),
            ],
        },
    )

    expense = Expense.objects.get(reference="JAN-RENT")
    assert response.status_code == 302
    assert response["Location"] == f"/expenses/{expense.pk}/"
    assert (expense.operator, expense.amount, expense.account.kind) == (
        cast.north,
        Decimal("1500.25"),
        "bank",
    )
    assert sorted(expense.attachments.values_list("name", "content_type")) == [
        ("invoice.pdf", "application/pdf"),
        ("receipt.jpg", "image/jpeg"),
    ]
    detail = client.get(response["Location"]).content.decode()
    assert "invoice.pdf" in detail
    assert "receipt.jpg" in detail
    assert detail.count('data-testid="entry-lines"') == 1
    assert "৳ 1,500.25" in detail


def test_a_refused_file_shows_its_reason_on_the_form_and_writes_nothing(cast, books):
    before = Expense.objects.count()

    response = client_as(cast.alice).post(
        "/expenses/add/",
        {
            "operator": cast.north.pk,
            "category": books["rent"].pk,
            "amount": "10",
            "spent_on": "2026-01-15",
            "paid_from": PaidFrom.CASH,
            "payee": "Someone",
            "attachments": [SimpleUploadedFile("evil.pdf", b"<script>", "application/pdf")],
        },
    )

    assert response.status_code == 200
    assert "evil.pdf is not a PDF, PNG or JPEG file." in response.content.decode()
    assert Expense.objects.count() == before


def test_the_form_needs_its_csrf_token(cast, books):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.alice)

    response = client.post("/expenses/add/", {"payee": "x"})

    assert response.status_code == 403
    assert Expense.objects.count() == 4


def test_the_list_totals_the_filtered_set_and_a_parent_category_takes_its_children(cast, books):
    client = client_as(cast.alice)

    everything = client.get("/expenses/").content.decode()
    fibre = client.get(f"/expenses/?category={books['fibre'].pk}").content.decode()
    north = client.get(f"/expenses/?operator={cast.north.pk}").content.decode()
    searched = client.get("/expenses/?q=landlord").content.decode()

    assert total_of(everything) == "৳ 1,600.00"
    assert total_of(fibre) == "৳ 300.00"  # Splicing 250.50 + Fibre 49.50
    assert "Splice Co" in fibre
    assert "Cable Shop" in fibre
    assert "Landlord" not in fibre
    assert total_of(north) == "৳ 250.50"
    assert total_of(searched) == "৳ 1,300.00"


def test_a_void_expense_is_listed_but_not_totalled(cast, books):
    services.void_expense(actor=None, expense=books["south"], reason="Duplicate")

    page = client_as(cast.alice).get("/expenses/").content.decode()

    assert total_of(page) == "৳ 1,300.00"
    assert "1 void expense, not counted" in page
    assert "Landlord South" in page


def test_the_empty_list_says_so(cast):
    page = client_as(cast.alice).get("/expenses/").content.decode()

    assert 'data-testid="empty-state"' in page
    assert total_of(page) == "৳ 0.00"


def test_voiding_through_the_panel_reverses_and_a_second_void_is_refused(cast, books):
    client = client_as(cast.ann)
    url = f"/expenses/{books['north'].pk}/void/"

    first = client.post(url, {"reason": "Wrong operator"})
    second = client.post(url, {"reason": "Again"})

    expense = Expense.objects.get(pk=books["north"].pk)
    assert first.status_code == 302
    assert expense.status == Expense.Status.VOID
    assert second.status_code == 200
    assert f"{expense.display_number} is already void." in second.content.decode()
    detail = client.get(f"/expenses/{expense.pk}/").content.decode()
    assert detail.count('data-testid="entry-lines"') == 2
    assert "Wrong operator" in detail
    assert 'data-testid="void"' not in detail


def test_correcting_changes_the_payee_only_through_the_edit_form(cast, books):
    client = client_as(cast.fresh(cast.bob))
    expense = books["north"]

    response = client.post(
        f"/expenses/{expense.pk}/edit/",
        {"category": books["splicing"].pk, "payee": "Splice Company Ltd", "note": ""},
    )

    expense.refresh_from_db()
    assert response.status_code == 302
    assert (expense.payee, expense.amount) == ("Splice Company Ltd", Decimal("250.50"))


def test_reseller_sees_its_subtree_only_and_cannot_open_others(cast, books):
    client = client_as(cast.bob)

    page = client.get("/expenses/").content.decode()

    assert "Splice Co" in page
    assert "Cable Shop" in page
    assert "Landlord Root" not in page
    assert "Landlord South" not in page
    assert total_of(page) == "৳ 300.00"
    assert client.get(f"/expenses/{books['south'].pk}/").status_code == 404
    assert client.get(f"/expenses/{books['root'].pk}/").status_code == 404
    assert client.post(f"/expenses/{books['south'].pk}/void/", {"reason": "x"}).status_code == 404
    assert Expense.objects.get(pk=books["south"].pk).status == Expense.Status.RECORDED


@pytest.mark.parametrize("name", ["carol", "nina", "dave"])
def test_managers_noc_and_card_distributors_see_no_expenses(cast, books, name):
    client = client_as(getattr(cast, name))
    attachment = ExpenseAttachment.objects.get()

    assert client.get("/expenses/").status_code == 403
    assert client.get("/expenses/categories/").status_code == 403
    assert client.get(f"/expenses/{books['root'].pk}/").status_code == 403
    assert client.get(f"/expenses/attachments/{attachment.pk}/").status_code == 403
    assert "/expenses/" not in client.get("/").content.decode()


def test_another_isps_admin_sees_nothing_of_acme(cast, books):
    client = client_as(cast.mallory)
    attachment = ExpenseAttachment.objects.get()

    page = client.get("/expenses/").content.decode()

    assert 'data-testid="empty-state"' in page
    assert client.get(f"/expenses/{books['root'].pk}/").status_code == 404
    assert client.get(f"/expenses/attachments/{attachment.pk}/").status_code == 404
    assert client.get(f"/expenses/categories/{books['rent'].pk}/").status_code == 404


def test_an_attachment_downloads_with_its_name_type_and_nosniff(cast, books):
    attachment = ExpenseAttachment.objects.get()

    response = client_as(cast.ann).get(f"/expenses/attachments/{attachment.pk}/")

    assert response.status_code == 200
    assert response.content == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="lease.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert client_as(cast.bob).get(f"/expenses/attachments/{attachment.pk}/").status_code == 404


def test_the_export_writes_the_filtered_rows_with_exact_amounts(cast, books, settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path
    progress = Progress(JobRun.objects.create(kind="test", label="export").pk)

    write_export(
        progress=progress,
        export="expenses",
        filters={"category": str(books["fibre"].pk)},
        user=cast.fresh(cast.ann),
        columns=["number", "operator", "category", "parent_category", "payee", "amount"],
    )

    rows = list(csv.reader(export_path(progress.run_id).open(encoding="utf-8-sig")))
    assert rows == [
        ["number", "operator", "category", "parent_category", "payee", "amount"],
        [books["north_point"].display_number, "North Point", "Fibre", "", "Cable Shop", "49.50"],
        [books["north"].display_number, "Acme North", "Splicing", "Fibre", "Splice Co", "250.50"],
    ]


def test_categories_are_listed_with_the_ancestors_ones_and_can_be_retired(cast, books):
    bob = client_as(cast.bob)
    own = services.save_category(actor=None, operator=cast.north, name="North van")

    page = bob.get("/expenses/categories/").content.decode()
    refused = bob.post(f"/expenses/categories/{books['rent'].pk}/toggle/")
    retired = bob.post(f"/expenses/categories/{own.pk}/toggle/")

    assert "Rent" in page
    assert "North van" in page
    assert refused.status_code == 404
    assert retired.status_code == 302
    assert ExpenseCategory.objects.get(pk=own.pk).is_active is False
    assert ExpenseCategory.objects.get(pk=books["rent"].pk).is_active is True


def test_the_list_and_the_api_cost_the_same_queries_for_more_rows(cast, books, api_for):
    client, api = client_as(cast.alice), api_for(cast.alice)
    api.get("/api/v1/expenses/")  # the token's first use is recorded once

    def cost() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as page:
            client.get("/expenses/")
        with CaptureQueriesContext(connection) as listing:
            api.get("/api/v1/expenses/")
        return len(page), len(listing)

    before = cost()
    alice = cast.fresh(cast.alice)
    for n, paid_from in enumerate([PaidFrom.BANK, PaidFrom.MY_CASH, PaidFrom.CASH]):
        services.record_expense(
            actor=alice,
            operator=cast.north,
            category=books["splicing"],
            amount="1",
            paid_from=paid_from,
            payee=f"More {n}",
            attachments=[Upload("a.pdf", PDF)],
        )

    assert cost() == before


def test_the_xlsx_export_carries_amounts_as_numbers(cast, books, settings, tmp_path):
    from openpyxl import load_workbook

    settings.EXPORT_ROOT = tmp_path
    progress = Progress(JobRun.objects.create(kind="test", label="export").pk)

    write_export(
        progress=progress,
        export="expenses",
        filters={"operator": str(cast.south.pk)},
        user=cast.fresh(cast.alice),
        columns=["payee", "amount", "status"],
        fmt="xlsx",
    )

    sheet = load_workbook(export_path(progress.run_id, "xlsx")).active
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        ["payee", "amount", "status"],
        ["Landlord South", 300, "recorded"],
    ]


def test_a_subcategory_is_added_and_renamed_through_the_panel(cast, books):
    client = client_as(cast.bob)

    added = client.post(
        "/expenses/categories/add/",
        {"operator": cast.north.pk, "name": "Van fuel", "parent": books["fibre"].pk},
    )
    fuel = ExpenseCategory.objects.get(name="Van fuel")
    renamed = client.post(
        f"/expenses/categories/{fuel.pk}/edit/",
        {"name": "Van diesel", "parent": books["fibre"].pk, "is_active": "on"},
    )
    clash = client.post(
        "/expenses/categories/add/", {"operator": cast.north.pk, "name": "van DIESEL"}
    )

    fuel.refresh_from_db()
    assert (added.status_code, renamed.status_code, clash.status_code) == (302, 302, 200)
    assert (fuel.name, fuel.operator, fuel.parent, fuel.is_active) == (
        "Van diesel",
        cast.north,
        books["fibre"],
        True,
    )
    assert "van DIESEL already exists for this operator." in clash.content.decode()
