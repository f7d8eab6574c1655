"""Transfers awaiting approval: cash handovers and reported funds, decided by someone else."""

from decimal import Decimal
from typing import Any

import pytest

from ispbills.accounting import approvals, services
from ispbills.accounting.models import Account, JournalEntry, TransferRequest
from ispbills.core.errors import ConflictError, DomainError, NotAllowedError
from ispbills.core.models import AuditEvent
from ispbills.core.testing.isolation import client_as
from ispbills.payments import services as payments
from ispbills.tenancy.models import Operator

pytestmark = pytest.mark.django_db


@pytest.fixture
def carols_cash(cast: Any, register: Any) -> Account:
    """Carol collected 1,000 in cash from a customer of Acme North."""
    payments.receive_payment(
        actor=cast.alice,
        customer=register(),
        amount="1000",
        method="cash",
        reference="R-1",
        collector=cast.carol,
    )
    services.post_pending()
    return services.account_for(cast.north, Account.Kind.CASH, cast.carol)


def cash(operator: Operator, user: Any = None) -> Decimal:
    return services.account_for(operator, Account.Kind.CASH, user).balance


def test_a_handover_moves_nothing_until_approved_then_posts_once(cast, carols_cash):
    entries = JournalEntry.objects.count()
    request = approvals.request_handover(
        actor=cast.carol, source=carols_cash, amount="600", reference="HO-1"
    )

    assert request.status == "pending"
    assert JournalEntry.objects.count() == entries
    assert cash(cast.north, cast.carol) == Decimal("1000.00")

    approved = approvals.approve(actor=cast.alice, request=request, note="counted")

    assert approved.status == "approved"
    assert approved.decided_by == cast.alice
    assert approved.entry.memo.startswith(f"{request} handover")
    assert cash(cast.north, cast.carol) == Decimal("400.00")
    assert cash(cast.north) == Decimal("600.00")
    with pytest.raises(ConflictError, match="already approved"):
        approvals.approve(actor=cast.alice, request=request)
    assert cash(cast.north) == Decimal("600.00")
    assert list(
        AuditEvent.objects.filter(object_type="accounting.transferrequest")
        .order_by("id")
        .values_list("verb", flat=True)
    ) == ["transfer.requested", "transfer.approved"]


def test_a_collector_cannot_ask_for_more_than_it_holds_less_what_is_pending(cast, carols_cash):
    approvals.request_handover(actor=cast.carol, source=carols_cash, amount="600", reference="A")

    with pytest.raises(DomainError, match=r"holds 400\.00 not yet asked for"):
        approvals.request_handover(
            actor=cast.carol, source=carols_cash, amount="500", reference="B"
        )
    with pytest.raises(ConflictError):
        approvals.request_handover(actor=cast.carol, source=carols_cash, amount="1", reference="A")

    assert TransferRequest.objects.count() == 1


def test_nobody_decides_their_own_request_and_collectors_decide_none(cast, carols_cash):
    own = approvals.request_handover(
        actor=cast.alice, source=carols_cash, amount="100", reference="OWN"
    )
    other = approvals.request_handover(
        actor=cast.carol, source=carols_cash, amount="100", reference="OTHER"
    )

    with pytest.raises(NotAllowedError):
        approvals.approve(actor=cast.alice, request=own)
    with pytest.raises(NotAllowedError):
        approvals.approve(actor=cast.fresh(cast.carol), request=other)
    with pytest.raises(NotAllowedError):
        approvals.approve(actor=cast.fresh(cast.mallory), request=other)
    with pytest.raises(NotAllowedError):
        approvals.approve(actor=cast.fresh(cast.sue), request=other)

    assert set(TransferRequest.objects.values_list("status", flat=True)) == {"pending"}
    assert cash(cast.north, cast.carol) == Decimal("1000.00")


def test_a_reseller_reports_funds_and_its_parent_confirms_them(cast):
    request = approvals.request_funds(
        actor=cast.bob, operator=cast.north, amount="3000", reference="DEP-9", method="bank"
    )
    with pytest.raises(NotAllowedError):
        approvals.approve(actor=cast.fresh(cast.bob), request=request)
    assert Operator.objects.get(pk=cast.north.pk).balance == Decimal("0.00")

    approvals.approve(actor=cast.alice, request=request)

    assert Operator.objects.get(pk=cast.north.pk).balance == Decimal("3000.00")
    assert services.account_for(cast.acme_root, "bank").balance == Decimal("3000.00")


def test_a_rejection_says_why_and_moves_no_money(cast):
    request = approvals.request_funds(
        actor=cast.bob, operator=cast.north, amount="3000", reference="DEP-9", method="bank"
    )

    with pytest.raises(DomainError):
        approvals.reject(actor=cast.alice, request=request, note="  ")
    rejected = approvals.reject(actor=cast.alice, request=request, note="not on the statement")

    assert (rejected.status, rejected.decision_note) == ("rejected", "not on the statement")
    assert rejected.entry is None
    assert not JournalEntry.objects.exists()
    assert Operator.objects.get(pk=cast.north.pk).balance == Decimal("0.00")


def test_the_panel_takes_a_handover_and_the_approval(cast, carols_cash):
    response = client_as(cast.carol).post(
        "/transfers/handover/",
        {"source": carols_cash.pk, "amount": "250", "reference": "HO-7"},
    )
    assert response.status_code == 302
    request = TransferRequest.objects.get()

    listing = client_as(cast.alice).get("/transfers/?status=pending").content.decode()
    assert str(request) in listing
    detail = client_as(cast.alice).get(f"/transfers/{request.pk}/").content.decode()
    assert 'data-testid="approve"' in detail
    assert client_as(cast.alice).post(f"/transfers/{request.pk}/approve/", {}).status_code == 302

    assert cash(cast.north) == Decimal("250.00")
    assert client_as(cast.carol).get("/transfers/").status_code == 403
    assert client_as(cast.sue).get(f"/transfers/{request.pk}/").status_code == 404


def test_a_collector_picks_only_its_own_cash_in_the_form(cast, carols_cash):
    dave_cash = services.account_for(cast.north, Account.Kind.CASH, cast.dave)

    page = client_as(cast.carol).get("/transfers/handover/").content.decode()
    refused = client_as(cast.carol).post(
        "/transfers/handover/", {"source": dave_cash.pk, "amount": "1", "reference": "X"}
    )

    assert f'value="{carols_cash.pk}"' in page
    assert f'value="{dave_cash.pk}"' not in page
    assert refused.status_code == 200
    assert not TransferRequest.objects.exists()


def test_the_api_asks_approves_and_rejects(cast, carols_cash, api_for):
    created = api_for(cast.carol).post(
        "/api/v1/transfers/",
        {"kind": "handover", "account": carols_cash.pk, "amount": "300", "reference": "HO-2"},
        format="json",
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    funds = api_for(cast.bob).post(
        "/api/v1/transfers/",
        {
            "kind": "funds",
            "operator": cast.north.pk,
            "method": "cash",
            "amount": "50",
            "reference": "F-2",
        },
        format="json",
    )
    assert funds.status_code == 201

    approved = api_for(cast.alice).post(f"/api/v1/transfers/{pk}/approve/", {}, format="json")
    rejected = api_for(cast.alice).post(
        f"/api/v1/transfers/{funds.json()['id']}/reject/", {"note": "no slip"}, format="json"
    )

    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert rejected.json()["status"] == "rejected"
    assert cash(cast.north) == Decimal("300.00")
    pending = api_for(cast.alice).get("/api/v1/transfers/", {"status": "pending"}).json()
    assert pending["results"] == []
    assert api_for(cast.mallory).get(f"/api/v1/transfers/{pk}/").status_code == 404
    assert (
        api_for(cast.carol)
        .post(
            "/api/v1/transfers/",
            {"kind": "handover", "account": 999999, "amount": "1", "reference": "Z"},
            format="json",
        )
        .status_code
        == 400
    )
