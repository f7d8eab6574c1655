"""Accounting pages and API: accounts, the ledger's running balance, the journal, an entry,
transfers, and who sees which books."""

import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ispbills.accounting import services
from ispbills.accounting.models import Account, JournalEntry
from ispbills.accounting.services import cr, dr
from ispbills.core.testing.isolation import client_as
from ispbills.tenancy import services as tenancy

pytestmark = pytest.mark.django_db


def post(operator: Any, key: str, lines: list[Any], memo: str = "") -> JournalEntry:
    return services.post(
        tenant_id=operator.tenant_id,
        operator_id=operator.pk,
        memo=memo or key,
        source_type="test.source",
        source_id=key,
        purpose="test",
        lines=lines,
    )


@pytest.fixture
def books(cast: Any) -> Any:
    """North's cash held by carol, its own cash and its advances, after three postings: carol
    takes 500 and 300, then hands 200 over to North's own cash."""
    carol = services.account_for(cast.north, Account.Kind.CASH, cast.carol)
    cash = services.account_for(cast.north, Account.Kind.CASH)
    advances = services.account_for(cast.north, Account.Kind.ADVANCES)
    post(cast.north, "one", [dr(carol, "500"), cr(advances, "500")])
    post(cast.north, "two", [dr(carol, "300"), cr(advances, "300")])
    post(cast.north, "handover", [dr(cash, "200"), cr(carol, "200")])
    for operator in (cast.acme_root, cast.south, cast.north_point):
        their_cash = services.account_for(operator, Account.Kind.CASH)
        their_advances = services.account_for(operator, Account.Kind.ADVANCES)
        post(operator, f"{operator.pk}", [dr(their_cash, "1"), cr(their_advances, "1")])
    carol.refresh_from_db()
    return carol


def cells(html: str, testid: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", value).strip()
        for value in re.findall(rf'data-testid="{testid}">(.*?)</td>', html, re.S)
    ]


def test_the_ledger_page_shows_each_line_with_the_running_balance(cast, books):
    page = client_as(cast.ann).get(f"/accounts/{books.pk}/").content.decode()

    assert cells(page, "balance-after") == ["৳ 600.00", "৳ 800.00", "৳ 500.00"]  # newest first
    assert "handover" in page
    assert re.search(r'data-testid="balance">৳ 600.00', page)


def test_the_ledger_pages_by_keyset_and_the_api_returns_the_same_running_balance(
    cast, books, api_for, monkeypatch
):
    monkeypatch.setattr("ispbills.accounting.views.LEDGER_PAGE", 2)
    client = client_as(cast.ann)

    first = client.get(f"/accounts/{books.pk}/").content.decode()
    cursor = re.search(r'href="\?after=(\d+)" data-testid="next-page"', first)
    assert cursor is not None
    second = client.get(f"/accounts/{books.pk}/?after={cursor.group(1)}").content.decode()
    api = api_for(cast.ann).get(f"/api/v1/accounts/{books.pk}/entries/", {"limit": 2}).json()
    rest = api_for(cast.ann).get(api["next"]).json()

    assert cells(first, "balance-after") == ["৳ 600.00", "৳ 800.00"]
    assert cells(second, "balance-after") == ["৳ 500.00"]
    assert 'data-testid="next-page"' not in second
    assert [
        (row["memo"], row["debit"], row["credit"], row["balance_after"]) for row in api["results"]
    ] == [
        ("handover", "0.00", "200.00", "600.00"),
        ("two", "300.00", "0.00", "800.00"),
    ]
    assert [row["balance_after"] for row in rest["results"]] == ["500.00"]


def test_the_journal_lists_entries_with_their_lines_and_filters_by_account(cast, books):
    client = client_as(cast.alice)
    handover = JournalEntry.objects.get(source_id="handover")

    page = client.get("/journal/").content.decode()
    by_account = client.get(
        f"/journal/?account={services.account_for(cast.north, 'cash').pk}"
    ).content.decode()
    detail = client.get(handover.get_absolute_url()).content.decode()

    assert all(memo in page for memo in ("one", "two", "handover"))
    assert "Cash · carol" in page
    assert "৳ 500.00" in page
    assert handover.display_number in by_account
    assert JournalEntry.objects.get(source_id="one").display_number not in by_account
    assert "Cash · carol" in detail
    assert "৳ 200.00" in detail


def test_an_entry_page_links_its_reversal(cast, books):
    entry = JournalEntry.objects.get(source_id="two")
    reversal = services.reverse_entry(entry, memo="typo")

    page = client_as(cast.ann).get(entry.get_absolute_url()).content.decode()
    mirror = client_as(cast.ann).get(reversal.get_absolute_url()).content.decode()

    assert f'data-testid="reversed">Reversed by <a href="{reversal.get_absolute_url()}">' in page
    assert entry.get_absolute_url() in mirror


def test_the_api_lists_accounts_and_entries_with_lines(cast, books, api_for):
    api = api_for(cast.ann)

    accounts = api.get("/api/v1/accounts/", {"operator": cast.north.pk}).json()["results"]
    entry = api.get("/api/v1/journal-entries/", {"q": "handover"}).json()["results"]

    assert {(a["display_name"], a["balance"], a["debit_normal"]) for a in accounts} == {
        ("Cash · carol", "600.00", True),
        ("Cash", "200.00", True),
        ("Customer advances", "800.00", False),
    }
    assert [(e["amount"], e["source_id"]) for e in entry] == [("200.00", "handover")]
    assert [
        (line["account_name"], line["debit"], line["credit"]) for line in entry[0]["lines"]
    ] == [
        ("Cash", "200.00", "0.00"),
        ("Cash · carol", "0.00", "200.00"),
    ]


def test_amounts_are_hidden_without_money_view(cast, books, api_for):
    tenancy.set_special_permission(
        actor=None, user=cast.ann, permission="money.view", granted=False
    )
    ann = cast.fresh(cast.ann)

    page = client_as(ann).get(f"/accounts/{books.pk}/").content.decode()
    account = api_for(ann).get(f"/api/v1/accounts/{books.pk}/").json()
    ledger = api_for(ann).get(f"/api/v1/accounts/{books.pk}/entries/").json()["results"]

    assert "৳" not in page
    assert "handover" in page
    assert "balance" not in account
    assert "balance_after" not in ledger[0]
    assert ledger[0]["memo"] == "handover"


def test_a_reseller_sees_its_subtrees_books_and_noc_and_managers_none(cast, books, api_for):
    listed = api_for(cast.bob).get("/api/v1/accounts/").json()["results"]
    journal = api_for(cast.bob).get("/api/v1/journal-entries/").json()["results"]
    root_entry = JournalEntry.objects.get(operator=cast.acme_root)

    assert {a["operator"] for a in listed} == {cast.north.pk, cast.north_point.pk}
    assert {e["operator"] for e in journal} == {cast.north.pk, cast.north_point.pk}
    assert client_as(cast.bob).get(root_entry.get_absolute_url()).status_code == 404
    for user in (cast.nina, cast.carol, cast.dave):
        assert client_as(user).get("/accounts/").status_code == 403
        assert client_as(user).get(f"/accounts/{books.pk}/").status_code == 403
        assert api_for(user).get("/api/v1/journal-entries/").status_code == 403


def test_a_collector_hands_cash_over_through_the_transfer_form(cast, books):
    client = client_as(cast.ann)
    form = {"source": books.pk, "target": "cash", "amount": "450", "reference": "HO-1"}

    done = client.post("/journal/transfer/", form)
    again = client.post("/journal/transfer/", {**form, "amount": "10"})
    too_much = client.post("/journal/transfer/", {**form, "reference": "HO-2", "amount": "151"})
    nina = client_as(cast.nina).post("/journal/transfer/", {**form, "reference": "HO-3"})

    entry = JournalEntry.objects.get(source_type="accounting.transfer")
    assert done.status_code == 302
    assert done["Location"] == entry.get_absolute_url()
    assert "Already recorded." in again.content.decode()
    assert "More than the account holds." in too_much.content.decode()
    assert nina.status_code == 403
    books.refresh_from_db()
    assert books.balance == Decimal("150.00")
    assert services.account_for(cast.north, Account.Kind.CASH).balance == Decimal("650.00")


def test_ledger_and_journal_pages_cost_the_same_queries_whatever_their_rows(cast, books):
    client = client_as(cast.ann)

    def queries(url: str) -> int:
        client.get(url)  # warm the session and the user's access
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    ledger, journal = queries(f"/accounts/{books.pk}/"), queries("/journal/")
    advances = services.account_for(cast.north, Account.Kind.ADVANCES)
    for number in range(10):
        post(cast.north, f"more-{number}", [dr(books, "1"), cr(advances, "1")])

    assert queries(f"/accounts/{books.pk}/") == ledger
    assert queries("/journal/") == journal
