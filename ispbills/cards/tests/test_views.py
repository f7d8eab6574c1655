"""Card pages and API: batches, voucher sheets, the distributor dashboard, redeeming a PIN
in the panel and the API (429 when locked), and what a distributor sees."""

import datetime as dt
import subprocess
from decimal import Decimal

import pytest
from django.test import override_settings

from ispbills.cards import services
from ispbills.cards.models import Card, CardBatch, RedemptionAttempt
from ispbills.cards.tests.conftest import pins_of
from ispbills.catalog.services import save_package
from ispbills.core import clock
from ispbills.core.models import AuditEvent, JobRun
from ispbills.core.testing.isolation import client_as
from ispbills.core.testing.plugin import require_binary, require_service
from ispbills.customers.tests.makers import make_customer
from ispbills.payments.models import Payment

pytestmark = pytest.mark.django_db
WRONG = "0000-0000-0000-0000"


def pdf_text(content: bytes) -> str:
    pdftotext = require_binary("pdftotext", "poppler-utils")
    text = subprocess.run(
        [pdftotext, "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()
    return "".join(text.split())


# ---- batches -----------------------------------------------------------------------------------


def test_staff_generate_a_batch_in_the_panel(cast, home):
    client = client_as(cast.alice)
    response = client.post(
        "/cards/batches/add/",
        {
            "operator": cast.acme_root.pk,
            "name": "Eid cards",
            "package": home.pk,
            "count": 10,
            "expires_at": (clock.now() + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
            "distributor": cast.dave.pk,
            "commission_percent": "3",
            "commission_on": "use",
        },
    )

    batch = CardBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == batch.get_absolute_url()
    assert (batch.count, batch.value, batch.distributor) == (10, Decimal("800.00"), cast.dave)
    assert Card.objects.filter(batch=batch, state="issued").count() == 10
    page = client.get(batch.get_absolute_url()).content.decode()
    assert "Eid cards" in page
    assert batch.cards.order_by("serial").first().pin not in page  # no PIN on the page


def test_a_bad_batch_shows_the_error_and_writes_nothing(cast, home):
    response = client_as(cast.alice).post(
        "/cards/batches/add/",
        {
            "operator": cast.acme_root.pk,
            "name": "Old",
            "count": 5,
            "expires_at": "2020-01-01T00:00",
            "commission_on": "use",
        },
    )
    assert response.status_code == 200
    assert "A time in the future." in response.content.decode()
    assert not CardBatch.objects.exists()


def test_a_distributor_cannot_generate_or_void(cast, make_batch):
    batch = make_batch()
    client = client_as(cast.dave)
    assert client.get("/cards/batches/add/").status_code == 403
    assert client.post(f"/cards/batches/{batch.pk}/void/", {"reason": "x"}).status_code == 403
    assert client.post(f"/cards/batches/{batch.pk}/issue/", {}).status_code == 403
    assert not Card.objects.filter(state="void").exists()


def test_bulk_void_by_serial_range(cast, make_batch):
    batch = make_batch(count=5)
    first = f"{batch.pk:06d}-000002"
    last = f"{batch.pk:06d}-000004"

    response = client_as(cast.alice).post(
        "/cards/void/", {"serials": f"{first}..{last}", "reason": "box lost"}
    )

    assert response.status_code == 302
    states = dict(Card.objects.filter(batch=batch).values_list("serial", "state"))
    assert [states[f"{batch.pk:06d}-{n:06d}"] for n in range(1, 6)] == [
        "issued",
        "void",
        "void",
        "void",
        "issued",
    ]


# ---- voucher sheets ----------------------------------------------------------------------------


@pytest.fixture
def _weasyprint() -> None:
    try:
        import weasyprint  # noqa: F401
    except OSError as exc:
        require_service("Pango", False, f"install libpango-1.0-0 libpangoft2-1.0-0 ({exc})")


@pytest.mark.usefixtures("_weasyprint")
def test_voucher_sheets_show_serials_pins_and_the_bangla_package(cast, make_batch):
    package = save_package(
        actor=None,
        operator=cast.acme_root,
        name="বাড়ি ২০",
        download_kbps=20000,
        upload_kbps=5000,
        price="800",
    )
    batch = make_batch(package=package, count=14)

    response = client_as(cast.dave).get(f"/cards/batches/{batch.pk}/vouchers/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    for card in Card.objects.filter(batch=batch):
        assert card.serial in text
        assert services.format_pin(card.pin) in text
    assert "বাড়ি২০" in text
    assert "৳800.00" in text
    assert AuditEvent.objects.filter(verb="card_batch.printed", actor=cast.dave).count() == 1


def test_a_manager_cannot_print_vouchers(cast, make_batch):
    batch = make_batch()
    response = client_as(cast.carol).get(f"/cards/batches/{batch.pk}/vouchers/")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(verb="card_batch.printed").exists()


@override_settings(CARD_DIRECT_PDF_LIMIT=2)
def test_a_large_batch_is_printed_by_a_job(cast, make_batch):
    batch = make_batch(count=3)
    client = client_as(cast.alice)
    assert "Make the PDF" in client.get(f"/cards/batches/{batch.pk}/vouchers/").content.decode()

    response = client.post(f"/cards/batches/{batch.pk}/vouchers/")

    run = JobRun.objects.get()
    assert response["Location"] == f"/jobs/{run.pk}/"
    assert run.result_permission == "cards.change"


# ---- the distributor's dashboard and redemption ------------------------------------------------


def test_the_dashboard_shows_a_distributor_only_its_cards_and_customers_in_reach(
    cast, make_batch, north_distributor, register
):
    mine = make_batch(name="Dave's box")
    make_batch(name="Nadia's box", operator=cast.north, distributor=north_distributor)
    register(mobile="01719990001")
    make_customer(cast.globex_root, "globexer")
    other = make_customer(cast.globex_root, "g2")
    other.mobile = "01719990002"
    other.save(update_fields=["mobile"])

    page = client_as(cast.dave).get("/cards/dashboard/?mobile=0171999").content.decode()

    assert "Dave&#x27;s box" in page or "Dave's box" in page
    assert "Nadia" not in page
    assert "01719990001" in page
    assert "01719990002" not in page
    assert f"{mine.pk:06d}-000001" in page


def test_a_distributor_redeems_for_a_customer_in_the_panel(cast, make_batch, register):
    customer = register()
    pin = pins_of(make_batch(package=None, value="300"))[0]

    response = client_as(cast.dave).post(f"/customers/{customer.pk}/cards/redeem/", {"pin": pin})

    payment = Payment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == payment.get_absolute_url()
    assert (payment.method, payment.amount, payment.customer) == (
        "card",
        Decimal("300.00"),
        customer,
    )


def test_a_wrong_pin_in_the_panel_is_shown_and_still_counted(cast, make_batch, register):
    customer = register()
    make_batch()

    response = client_as(cast.dave).post(f"/customers/{customer.pk}/cards/redeem/", {"pin": WRONG})

    assert response.status_code == 200
    assert "No card has this PIN." in response.content.decode()
    assert RedemptionAttempt.objects.get().outcome == "wrong_pin"
    assert not Payment.objects.exists()


@override_settings(CARD_LOCKOUT_CUSTOMER_ATTEMPTS=2)
def test_a_locked_customer_gets_429_in_the_panel(cast, make_batch, register):
    customer = register()
    pin = pins_of(make_batch())[0]
    client = client_as(cast.dave)
    for _attempt in range(2):
        client.post(f"/customers/{customer.pk}/cards/redeem/", {"pin": WRONG})

    response = client.post(f"/customers/{customer.pk}/cards/redeem/", {"pin": pin})

    assert response.status_code == 429
    assert "locked" in response.content.decode()
    assert not Payment.objects.exists()


def test_a_distributor_cannot_open_a_customer_of_another_isp(cast, make_batch):
    other = make_customer(cast.globex_root, "far")
    pin = pins_of(make_batch())[0]
    response = client_as(cast.dave).post(f"/customers/{other.pk}/cards/redeem/", {"pin": pin})
    assert response.status_code == 404
    assert not RedemptionAttempt.objects.exists()


# ---- API ---------------------------------------------------------------------------------------


def test_the_api_lists_cards_without_pins_and_a_distributor_only_its_own(
    cast, make_batch, north_distributor, api_for
):
    make_batch()
    make_batch(operator=cast.north, distributor=north_distributor)

    rows = api_for(cast.alice).get("/api/v1/cards/").json()["results"]
    mine = api_for(cast.dave).get("/api/v1/cards/").json()["results"]

    assert len(rows) == 6
    assert all("pin" not in row and "pin_hash" not in row for row in rows)
    assert {row["distributor"] for row in mine} == {cast.dave.pk}
    assert len(mine) == 3


def test_the_api_generates_a_batch(cast, home, api_for):
    response = api_for(cast.alice).post(
        "/api/v1/card-batches/",
        {
            "operator": cast.acme_root.pk,
            "name": "API cards",
            "package": home.pk,
            "count": 4,
            "expires_at": (clock.now() + dt.timedelta(days=10)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["value"] == "800.00"
    assert Card.objects.filter(state="unissued").count() == 4


def test_the_api_redeems_once_then_409_then_429_when_locked(cast, make_batch, register, api_for):
    customer = register()
    pin = pins_of(make_batch(package=None, value="200"))[0]
    api = api_for(cast.dave)

    first = api.post("/api/v1/cards/redeem/", {"customer": customer.pk, "pin": pin}, format="json")
    again = api.post("/api/v1/cards/redeem/", {"customer": customer.pk, "pin": pin}, format="json")

    assert first.status_code == 201
    assert first.json()["state"] == "used"
    assert "pin" not in first.json()
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    for _attempt in range(5):
        wrong = api.post(
            "/api/v1/cards/redeem/", {"customer": customer.pk, "pin": WRONG}, format="json"
        )
        assert wrong.status_code == 400
    locked = api.post("/api/v1/cards/redeem/", {"customer": customer.pk, "pin": pin}, format="json")
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "locked"
    assert Payment.objects.count() == 1


def test_the_api_refuses_a_customer_out_of_reach(cast, make_batch, api_for):
    other = make_customer(cast.globex_root, "far")
    pin = pins_of(make_batch())[0]
    response = api_for(cast.dave).post(
        "/api/v1/cards/redeem/", {"customer": other.pk, "pin": pin}, format="json"
    )
    assert response.status_code == 404
    assert Card.objects.filter(state="used").count() == 0


def test_the_api_voids_cards_in_reach(cast, make_batch, api_for):
    batch = make_batch()
    ids = list(Card.objects.filter(batch=batch).values_list("pk", flat=True))

    refused = api_for(cast.dave).post(
        "/api/v1/cards/void/", {"cards": ids, "reason": "x"}, format="json"
    )
    done = api_for(cast.alice).post(
        "/api/v1/cards/void/", {"cards": ids, "reason": "lost"}, format="json"
    )

    assert refused.status_code == 403
    assert done.json() == {"voided": 3}


def test_the_api_issues_a_batch_to_a_distributor_in_reach(cast, make_batch, api_for):
    batch = make_batch(distributor=None, count=2)

    refused = api_for(cast.dave).post(
        f"/api/v1/card-batches/{batch.pk}/issue/", {"distributor": cast.dave.pk}, format="json"
    )
    done = api_for(cast.alice).post(
        f"/api/v1/card-batches/{batch.pk}/issue/", {"distributor": cast.dave.pk}, format="json"
    )

    assert refused.status_code in {403, 404}
    assert done.json() == {"issued": 2}
    assert set(Card.objects.filter(batch=batch).values_list("state", flat=True)) == {"issued"}
