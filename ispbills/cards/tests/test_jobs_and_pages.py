"""Card jobs (expiry, the duplicate-PIN check, large voucher sheets) and the remaining pages:
issuing in the panel, distributor payments, the usage report and the staff dashboard."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings

from ispbills.cards import pdf, services
from ispbills.cards.models import Card, DistributorPayment
from ispbills.cards.tests.conftest import pins_of
from ispbills.core import clock
from ispbills.core.jobs import Progress
from ispbills.core.models import AuditEvent, JobRun
from ispbills.core.testing.isolation import client_as

pytestmark = pytest.mark.django_db


def test_expiry_marks_only_unused_cards_past_their_date(cast, make_batch, register):
    batch = make_batch(count=3, expires_at=clock.now() + dt.timedelta(hours=1))
    services.redeem_card(actor=None, customer=register(), pin=pins_of(batch)[0])
    make_batch(count=2)  # expires in 90 days

    assert services.expire_cards(now=clock.now() + dt.timedelta(hours=2)) == 2

    assert sorted(Card.objects.filter(batch=batch).values_list("state", flat=True)) == [
        "expired",
        "expired",
        "used",
    ]
    assert Card.objects.filter(state="issued").count() == 2
    assert AuditEvent.objects.filter(verb="card.expired").count() == 2


def test_the_duplicate_pin_check_voids_all_but_the_first(cast, make_batch):
    batch = make_batch(count=3)
    first, second, third = Card.objects.filter(batch=batch).order_by("serial")
    with connection.cursor() as cursor:  # as a restore without constraints could leave them
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE cards_card DROP CONSTRAINT card_pin_unique")
        cursor.execute(
            "UPDATE cards_card SET pin_hash = %s WHERE id = %s", [first.pin_hash, second.pk]
        )

    found = services.find_duplicate_pins()

    assert found == [(cast.acme.pk, [first.pk, second.pk])]
    states = dict(Card.objects.filter(batch=batch).values_list("pk", "state"))
    assert states == {first.pk: "issued", second.pk: "void", third.pk: "issued"}
    assert Card.objects.get(pk=second.pk).void_reason == "duplicate PIN"


@override_settings(CARD_DIRECT_PDF_LIMIT=1)
def test_the_voucher_job_writes_a_pdf_the_job_page_offers(cast, make_batch):
    try:
        import weasyprint  # noqa: F401
    except OSError:
        pytest.skip("Pango is not installed")
    batch = make_batch(count=13)
    run = pdf.start_vouchers_export(actor=cast.dave, batch=batch)

    result = pdf.write_vouchers(
        progress=Progress(run.pk), batch_id=batch.pk, user=cast.dave, language="bn"
    )
    JobRun.objects.filter(pk=run.pk).update(status="succeeded", result=result)

    response = client_as(cast.dave).get(f"/jobs/{run.pk}/download/")
    content = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert content.startswith(b"%PDF")
    assert result == {"cards": 13, "file": f"export-{run.pk}.pdf"}


def test_a_manager_cannot_queue_voucher_sheets(cast, make_batch):
    batch = make_batch()
    with pytest.raises(services.NotAllowedError):
        pdf.start_vouchers_export(actor=cast.carol, batch=batch)
    assert not JobRun.objects.exists()


def test_staff_issue_a_batch_in_the_panel(cast, make_batch):
    batch = make_batch(distributor=None, count=2)
    response = client_as(cast.alice).post(
        f"/cards/batches/{batch.pk}/issue/", {"distributor": cast.dave.pk}
    )
    assert response.status_code == 302
    assert set(Card.objects.filter(batch=batch).values_list("distributor", flat=True)) == {
        cast.dave.pk
    }


def test_an_accountant_records_a_remittance(cast, make_batch):
    make_batch()
    response = client_as(cast.ann).post(
        "/cards/payments/add/",
        {
            "operator": cast.acme_root.pk,
            "distributor": cast.dave.pk,
            "kind": "remittance",
            "amount": "1600",
            "reference": "SLIP-7",
        },
    )
    assert response.status_code == 302
    payment = DistributorPayment.objects.get()
    assert (payment.amount, payment.entry.amount) == (Decimal("1600.00"), Decimal("1600.00"))
    assert "SLIP-7" in client_as(cast.ann).get("/cards/payments/").content.decode()


def test_a_distributor_cannot_record_its_own_payments(cast):
    assert client_as(cast.dave).get("/cards/payments/add/").status_code == 403


def test_the_usage_report_counts_states_by_batch(cast, make_batch, register):
    batch = make_batch(name="Usage box", count=4)
    services.redeem_card(actor=None, customer=register(), pin=pins_of(batch)[0])
    services.void_cards(
        actor=cast.alice, cards=Card.objects.filter(batch=batch, state="issued")[:1], reason="x"
    )

    page = client_as(cast.alice).get("/cards/usage/")

    rows = page.context["table"].data.data
    assert [(r["batch__name"], r["issued"], r["used"], r["void"]) for r in rows] == [
        ("Usage box", 2, 1, 1)
    ]


def test_the_staff_dashboard_sums_every_distributor(cast, make_batch, register):
    batch = make_batch(package=None, value="400", commission_percent="5")
    services.redeem_card(actor=cast.dave, customer=register(), pin=pins_of(batch)[0])
    services.post_commissions()

    page = client_as(cast.alice).get("/cards/dashboard/")

    assert page.status_code == 200
    summary = page.context["summary"]
    assert [(r["distributor"], r["used"], r["commission"]) for r in summary] == [
        ("dave", 1, Decimal("20.00"))
    ]
    assert page.context["earned"] == Decimal("20.00")
