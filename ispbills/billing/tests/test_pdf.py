"""Bills as PDF: the text a reader gets (Bangla shaped by HarfBuzz), scoping, the run's ZIP."""

import datetime as dt
import io
import logging
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
import time_machine

from ispbills.billing import services, voids
from ispbills.billing.models import Bill
from ispbills.billing.pdf import render_bill_pdf, start_run_pdf_export
from ispbills.catalog import services as catalog
from ispbills.core import jobs
from ispbills.core.errors import NotAllowedError
from ispbills.core.models import JobRun
from ispbills.core.testing.isolation import client_as
from ispbills.core.testing.plugin import require_binary, require_service

DHAKA = dt.timezone(dt.timedelta(hours=6))
NAME = "রাশেদ তালুকদার"


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=DHAKA)


@pytest.fixture(autouse=True)
def _weasyprint() -> None:
    try:
        import weasyprint  # noqa: F401
    except OSError as exc:
        require_service("Pango", False, f"install libpango-1.0-0 libpangoft2-1.0-0 ({exc})")


def pdf_text(content: bytes) -> str:
    """The PDF's text as poppler extracts it, without whitespace: shaped Bangla comes back in
    glyph order with breaks inside words, so words are compared without spaces."""
    pdftotext = require_binary("pdftotext", "poppler-utils")
    text = subprocess.run(
        [pdftotext, "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()
    return "".join(text.split())


@pytest.fixture
def bill(cast: Any, register: Any, home: Any) -> Bill:
    """A bill of a Bangla-named customer who joined mid-period, with 5 % VAT on top."""
    vat = catalog.save_vat_profile(actor=None, operator=cast.acme_root, name="VAT 5", rate="5")
    catalog.save_package(actor=None, operator=cast.acme_root, package=home, vat_profile=vat)
    profile = catalog.save_billing_profile(
        actor=None, operator=cast.acme_root, name="Monthly on the 1st", due_day=1
    )
    with time_machine.travel(at("2026-11-16"), tick=False):
        customer = register(name=NAME, address="মিরপুর ১০, ঢাকা", billing_profile=profile)
    return services.generate_bill(actor=cast.alice, customer=customer, at=at("2026-11-26"))


@pytest.mark.django_db
def test_a_bill_renders_as_a_pdf_with_its_number_bangla_name_and_amounts(
    bill: Bill, caplog: Any
) -> None:
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        content = render_bill_pdf(bill, "en")

    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    assert bill.display_number in text
    assert "".join(NAME.split()) in text
    # Joined on the 16th of a 30-day period: 15 days of ৳800 = ৳400, 5 % VAT on top.
    assert "15of30days" in text
    assert "৳400.00" in text
    assert "৳20.00" in text
    assert "৳420.00" in text
    assert "VOID" not in text
    # Every character had a glyph: the Bengali font was loaded, not a fallback box.
    assert not [r for r in caplog.records if "notdef" in r.getMessage() or "Font" in r.getMessage()]


@pytest.mark.django_db
def test_a_voided_bill_is_stamped_void_and_its_reversal_names_what_it_cancels(
    cast: Any, bill: Bill
) -> None:
    # 20:30 UTC is already the next day in Dhaka.
    with time_machine.travel(dt.datetime(2026, 11, 26, 20, 30, tzinfo=dt.UTC), tick=False):
        reversal = voids.void_bill(actor=cast.alice, bill=bill, reason="wrong package")
    bill.refresh_from_db()

    voided = pdf_text(render_bill_pdf(bill, "en"))
    cancelling = pdf_text(render_bill_pdf(reversal, "en"))

    assert "VOID" in voided
    assert "Voidedon27Nov202602:30." in voided
    assert "৳0.00" in voided  # nothing payable
    assert "VOIDEDBY" in voided  # labels are set in capitals
    assert reversal.display_number in voided
    assert reversal.display_number in cancelling
    assert "CANCELS" in cancelling
    assert bill.display_number in cancelling
    assert "-৳420.00" in cancelling


@pytest.mark.django_db
def test_the_panel_download_is_an_attachment_named_after_the_bill(cast: Any, bill: Bill) -> None:
    response = client_as(cast.alice).get(f"/bills/{bill.pk}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{bill.display_number}.pdf"'
    assert response.content.startswith(b"%PDF")


@pytest.mark.django_db
def test_another_isps_bill_is_not_found_and_nothing_leaks(cast: Any, bill: Bill) -> None:
    response = client_as(cast.mallory).get(f"/bills/{bill.pk}/pdf/")

    assert response.status_code == 404
    assert b"%PDF" not in response.content
    assert NAME.encode() not in response.content


@pytest.mark.django_db
def test_the_api_returns_the_pdf_and_404_for_another_isp(
    cast: Any, bill: Bill, api_for: Any
) -> None:
    response = api_for(cast.alice).get(
        f"/api/v1/bills/{bill.pk}/pdf/", HTTP_ACCEPT="application/pdf"
    )
    refused = api_for(cast.mallory).get(f"/api/v1/bills/{bill.pk}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert bill.display_number in pdf_text(response.content)
    assert refused.status_code == 404
    assert b"%PDF" not in refused.content


@pytest.mark.django_db
def test_the_pdf_speaks_the_readers_language(bill: Bill) -> None:
    english = pdf_text(render_bill_pdf(bill, "en"))
    bangla = pdf_text(render_bill_pdf(bill, "bn"))

    assert "Subtotal" in english
    assert bill.display_number in bangla
    assert "".join(NAME.split()) in bangla


@pytest.mark.django_db(transaction=True)
def test_a_runs_bills_export_as_one_zip_of_pdfs(
    cast: Any, register: Any, settings: Any, tmp_path: Path
) -> None:
    settings.EXPORT_ROOT = tmp_path
    profile = catalog.save_billing_profile(
        actor=None, operator=cast.acme_root, name="Monthly on the 1st", due_day=1
    )
    with time_machine.travel(at("2026-10-01"), tick=False):
        register(billing_profile=profile)
        register(billing_profile=profile)
    billing_run = services.run_billing(tenant_id=cast.acme.pk, at=at("2026-11-26"))
    numbers = sorted(Bill.objects.filter(run=billing_run).values_list("number", flat=True))

    with pytest.raises(NotAllowedError):
        start_run_pdf_export(actor=cast.fresh(cast.mallory), billing_run=billing_run)
    assert client_as(cast.mallory).post(f"/billing-runs/{billing_run.pk}/pdfs/").status_code == 404
    started = client_as(cast.alice).post(f"/billing-runs/{billing_run.pk}/pdfs/")
    run = JobRun.objects.get()
    assert started["Location"] == f"/jobs/{run.pk}/"
    jobs.run_worker(queues=["exports"], wait=False)

    run.refresh_from_db()
    assert (run.status, run.percent, run.result["bills"]) == (JobRun.Status.SUCCEEDED, 100, 2)
    response = client_as(cast.alice).get(f"/jobs/{run.pk}/download/")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == [f"INV-{number:06d}.pdf" for number in numbers]
    assert all(archive.read(name).startswith(b"%PDF") for name in archive.namelist())


def png(width: int = 120, height: int = 40) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_a_bill_carries_the_nearest_logo_and_vat_registration(cast: Any, bill: Bill) -> None:
    from ispbills.tenancy import services as tenancy

    plain = render_bill_pdf(bill, "en")
    tenancy.set_operator_logo(actor=None, operator=cast.acme_root, data=png())
    tenancy.update_operator(actor=None, operator=cast.acme_root, vat_registration="000111222-0101")
    tenancy.update_operator(actor=None, operator=cast.north, vat_registration="999888777-0202")

    branded = render_bill_pdf(bill, "en")

    assert b"/Subtype /Image" not in plain
    assert b"/Subtype /Image" in branded  # the ISP's logo, North having none of its own
    text = pdf_text(branded)
    assert "VATregistration(BIN):999888777-0202" in text  # North's own number wins
    assert "000111222" not in text
