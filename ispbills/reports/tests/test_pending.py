"""The pending transactions report: what waits for approval, in the user's reach."""

from typing import Any

import pytest

from ispbills.accounting import approvals

pytestmark = pytest.mark.django_db


@pytest.fixture
def requests(cast: Any) -> Any:
    """North and North Point report funds; South's report was already rejected."""
    north = approvals.request_funds(
        actor=cast.bob, operator=cast.north, amount="1000", reference="N-1", method="bank"
    )
    point = approvals.request_funds(
        actor=cast.sam, operator=cast.north_point, amount="250.50", reference="P-1", method="cash"
    )
    south = approvals.request_funds(
        actor=cast.sue, operator=cast.south, amount="75", reference="S-1", method="cash"
    )
    approvals.reject(actor=cast.alice, request=south, note="no slip")
    return north, point


def test_pending_lists_what_waits_oldest_first_with_its_total(cast, requests, api_for):
    body = api_for(cast.alice).get("/api/v1/reports/pending/").json()

    assert [(row["request"], row["operator"], row["amount"]) for row in body["rows"]] == [
        (str(requests[0]), "Acme North", "1000.00"),
        (str(requests[1]), "North Point", "250.50"),
    ]
    assert body["rows"][0]["kind"] == "Funds paid to the parent"
    assert body["rows"][0]["requested_by"] == "bob"
    assert body["totals"] == {"amount": "1250.50"}


def test_pending_holds_the_users_subtree_and_the_chosen_operator(cast, requests, api_for):
    sams = api_for(cast.sam).get("/api/v1/reports/pending/").json()
    chosen = api_for(cast.alice).get(f"/api/v1/reports/pending/?operator={cast.north_point.pk}")

    assert [row["operator"] for row in sams["rows"]] == ["North Point"]
    assert [row["operator"] for row in chosen.json()["rows"]] == ["North Point"]
    assert api_for(cast.nina).get("/api/v1/reports/pending/").status_code == 403
    assert api_for(cast.mallory).get("/api/v1/reports/pending/").json()["rows"] == []
