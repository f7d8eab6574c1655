"""Payment pages and API: collect cash on the customer page, list, detail, receipt, reverse."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from ispbills.billing import services as billing
from ispbills.billing.models import Bill
from ispbills.core.testing.isolation import client_as
from ispbills.payments import services
from ispbills.payments.models import Payment

pytestmark = pytest.mark.django_db

DHAKA = dt.timezone(dt.timedelta(hours=6))
NOV = dt.datetime(2026, 11, 10, 12, tzinfo=DHAKA)


@pytest.fixture
def billed(register: Any) -> Any:
    with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), tick=False):
        customer = register()
    billing.generate_bill(actor=None, customer=customer, at=NOV)
    return customer


def test_cash_collected_on_the_customer_page_once_even_when_submitted_twice(cast, billed):
    client = client_as(cast.alice)
    url = f"/customers/{billed.pk}/payments/collect/"

    form = client.get(url).content.decode()
    token = form.split('name="token" value="')[1].split('"')[0]
    first = client.post(url, {"amount": "500", "token": token})
    again = client.post(url, {"amount": "500", "token": token})
    bad = client.post(url, {"amount": "-1", "token": "other"})

    payment = Payment.objects.get()
    assert first["Location"] == f"/payments/{payment.pk}/"
    assert again.status_code == 200
    assert f"already recorded as {payment.display_number}" in again.content.decode()
    assert bad.status_code == 200
    assert (payment.amount, payment.collector, payment.method) == (
        Decimal("500.00"),
        cast.alice,
        "cash",
    )
    assert Bill.objects.get(customer=billed).paid_amount == Decimal("500.00")
    tab = client.get(f"/customers/{billed.pk}/payments/").content.decode()
    assert payment.display_number in tab


def test_list_detail_receipt_and_reverse_pages(cast, billed):
    payment = services.receive_payment(
        actor=None, customer=billed, amount="800", method="cash", reference="BOOK-7"
    )
    client = client_as(cast.alice)

    listing = client.get("/payments/?q=BOOK-7").content.decode()
    detail = client.get(f"/payments/{payment.pk}/").content.decode()
    receipt = client.get(f"/payments/{payment.pk}/receipt/").content.decode()
    reversed_ = client.post(f"/payments/{payment.pk}/reverse/", {"reason": "counterfeit note"})

    assert payment.display_number in listing
    assert "BOOK-7" in detail
    assert Bill.objects.get(customer=billed).display_number in receipt
    assert reversed_.status_code == 302
    assert Payment.objects.get(pk=payment.pk).status == "reversed"
    assert Bill.objects.get(customer=billed).status == "unpaid"
    assert client_as(cast.sue).get(f"/payments/{payment.pk}/").status_code == 404
    assert client_as(cast.nina).get("/payments/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_the_api_records_cash_once_and_reverses_it(cast, api_for, billed):
    api = api_for(cast.alice)
    body = {"customer": billed.pk, "amount": "1000.00", "reference": "API-1"}

    created = api.post("/api/v1/payments/", body, format="json")
    replay = api.post("/api/v1/payments/", body, format="json")
    hidden = api_for(cast.mallory).post(
        "/api/v1/payments/", {**body, "reference": "API-2"}, format="json"
    )

    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["to_bills"], data["to_advance"]) == ("800.00", "200.00")
    assert data["allocations"][0]["bill_number"] == Bill.objects.get().display_number
    assert replay.status_code == 409
    assert hidden.status_code == 404
    assert Payment.objects.count() == 1

    reversal = api.post(f"/api/v1/payments/{data['id']}/reverse/", {"reason": "x"}, format="json")
    assert reversal.status_code == 201
    assert reversal.json()["amount"] == "-1000.00"
    assert api.get(f"/api/v1/payments/{data['id']}/").json()["status"] == "reversed"
