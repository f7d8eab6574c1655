"""Bills as PDF: one A4 invoice per bill, rendered by WeasyPrint from a Django template.

Text is shaped by Pango and HarfBuzz, so Bangla conjuncts and vowel signs come out right.
Fonts are the vendored Noto Sans Bengali (static files, unpacked from WOFF2 once per process)
with DejaVu Sans from the operating system for Latin text. Rendering never fetches from the
network: the only resources it may read are those font files.
"""

import functools
import tempfile
import zipfile
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.staticfiles import finders
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ispbills.billing.models import Bill, BillingRun
from ispbills.core import exports
from ispbills.core.access import access_of
from ispbills.core.errors import DomainError, NotAllowedError
from ispbills.core.jobs import Progress, start_job_run
from ispbills.core.models import JobRun
from ispbills.core.money import format_money
from ispbills.tenancy.services import branding_of

FONT_FILES = {
    400: "vendor/noto-sans-bengali/noto-sans-bengali-bengali-400-normal.woff2",
    600: "vendor/noto-sans-bengali/noto-sans-bengali-bengali-600-normal.woff2",
}


class PdfUnavailableError(DomainError):
    """WeasyPrint or the system libraries it needs (Pango) are not installed."""

    code = "unavailable"
    status = 503

    def __init__(self, detail: str) -> None:
        super().__init__(
            _("PDF invoices are not available on this server (%(detail)s); see docs/deploy.md.")
            % {"detail": detail}
        )


@functools.cache
def _font_paths() -> dict[int, Path]:
    """The fonts as TrueType files, unpacked once per process from the vendored WOFF2 (unpacking
    takes longer than laying out a bill)."""
    from fontTools.ttLib import woff2

    unpacked = Path(tempfile.mkdtemp(prefix="ispbills-fonts-"))
    paths = {}
    for weight, name in FONT_FILES.items():
        found = finders.find(name)
        if not found:
            raise PdfUnavailableError(f"the font {name} is missing from the static files")
        target = unpacked / Path(name).with_suffix(".ttf").name
        with Path(str(found)).open("rb") as source, target.open("wb") as out:
            woff2.decompress(source, out)
        paths[weight] = target.resolve()
    return paths


def _fonts() -> dict[int, Path]:
    paths = _font_paths()
    if not all(path.exists() for path in paths.values()):  # a temp cleaner removed them
        _font_paths.cache_clear()
        paths = _font_paths()
    return paths


def _fetcher(allowed: set[Path]) -> Any:
    """A URL fetcher that reads only the given local files and refuses everything else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LocalFilesFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            path = Path(url.removeprefix("file://")) if url.startswith("file://") else None
            if path is None or path.resolve() not in allowed:
                raise ValueError(f"refused to fetch {url}")
            return URLFetcherResponse(url, path.read_bytes())

    return LocalFilesFetcher(allowed_protocols={"file"}, fail_on_errors=True)


@dataclass(frozen=True)
class Line:
    label: str
    detail: str
    amount: str


def _lines(bill: Bill, currency: str) -> list[Line]:
    """The bill's stored lines named in the reader's language."""
    rows = []
    for line in bill.lines:
        kind = line.get("kind")
        amount = format_money(line.get("amount"), currency)
        if kind == "package":
            days, of = line.get("days"), line.get("of")
            detail = (
                _("%(days)s of %(of)s days") % {"days": days, "of": of}
                if days and of and days != of
                else ""
            )
            rows.append(Line(bill.description, detail, amount))
        elif kind == "discount":
            value = line.get("value", "")
            detail = (
                f"{Decimal(value).normalize():f}%"
                if line.get("discount_kind") == "percent" and value
                else ""
            )
            rows.append(Line(_("Discount"), detail, amount))
        elif kind == "credit":
            detail = _("Unused %(days)s of %(of)s days (%(bill)s)") % {
                "days": line.get("days"),
                "of": line.get("of"),
                "bill": line.get("bill"),
            }
            rows.append(Line(str(line.get("package", "")), detail, amount))
        elif kind == "vat":
            rate = f"{Decimal(line.get('rate') or bill.vat_rate).normalize():f}%"
            if line.get("inclusive"):
                rows.append(Line(_("VAT %(rate)s (included)") % {"rate": rate}, "", amount))
            else:
                rows.append(Line(_("VAT %(rate)s") % {"rate": rate}, "", amount))
    return rows


def bill_context(bill: Bill, brands: dict[int, Any] | None = None) -> dict[str, Any]:
    """What the invoice template shows, with money and dates in the ISP's terms; ``brands``
    keeps each operator's branding across the bills of one export."""
    tenant = bill.tenant
    brands = {} if brands is None else brands
    if bill.operator_id not in brands:
        brands[bill.operator_id] = branding_of(bill.operator)
    logo, vat_registration = brands[bill.operator_id]
    currency = tenant.currency

    def money(value: Any) -> str:
        return format_money(value, currency)

    stamp = ""
    if bill.status == Bill.Status.VOID:
        stamp = _("VOID")
    elif bill.status == Bill.Status.PAID:
        stamp = _("PAID")
    return {
        "bill": bill,
        "tenant": tenant,
        "issuer": bill.operator,
        "logo": logo,
        "vat_registration": vat_registration,
        "customer": bill.customer,
        "lines": _lines(bill, currency),
        "subtotal": money(bill.subtotal),
        "discount": money(bill.discount) if bill.discount else "",
        "vat": money(bill.vat) if bill.vat else "",
        "total": money(bill.total),
        "advance_applied": money(bill.advance_applied) if bill.advance_applied else "",
        "paid_amount": money(bill.paid_amount) if bill.paid_amount else "",
        "payable": money(0 if bill.status == Bill.Status.VOID else bill.payable),
        "stamp": stamp,
        "credit_note": bill.kind == Bill.Kind.REVERSAL or bill.total < 0,
        "voided_at": bill.voided_at,
        "reversal": bill.reversal if bill.kind == Bill.Kind.INVOICE else None,
    }


def render_bill_pdf(bill: Bill, language: str, brands: dict[int, Any] | None = None) -> bytes:
    """The bill as an A4 PDF in ``language`` (``bn`` or ``en``)."""
    try:
        from weasyprint import HTML
    except (OSError, ImportError) as exc:  # WeasyPrint, or the Pango it loads, is missing.
        raise PdfUnavailableError(str(exc)) from exc
    fonts = _fonts()
    bill = (
        Bill.objects.select_related("tenant", "operator", "customer", "reverses", "customer__zone")
        .prefetch_related("reversals")
        .filter(pk=bill.pk)
        .get()
    )
    context = bill_context(bill, brands)
    with tempfile.TemporaryDirectory(prefix="ispbills-bill-") as folder:
        allowed = set(fonts.values())
        logo_url = ""
        if context["logo"] is not None:
            suffix = ".png" if context["logo"].content_type == "image/png" else ".jpg"
            logo_path = (Path(folder) / f"logo{suffix}").resolve()
            logo_path.write_bytes(bytes(context["logo"].data))
            allowed.add(logo_path)
            logo_url = logo_path.as_uri()
        # Times are shown in the ISP's zone, words in the reader's language.
        zone = zoneinfo.ZoneInfo(bill.tenant.timezone)
        with translation.override(language), timezone.override(zone):
            html = render_to_string(
                "billing/bill_pdf.html",
                {
                    **context,
                    "logo_url": logo_url,
                    "font_urls": {weight: path.as_uri() for weight, path in fonts.items()},
                    "language": language,
                },
            )
        document = HTML(string=html, url_fetcher=_fetcher(allowed))
        return bytes(document.write_pdf())


def pdf_filename(bill: Bill) -> str:
    return f"{bill.display_number}.pdf"


# ---- a billing run's bills as one ZIP, as a job ------------------------------------------------


def start_run_pdf_export(*, actor: Any, billing_run: BillingRun) -> JobRun:
    """Queue a ZIP of the PDFs of a run's bills, as the actor sees them, in their language."""
    from ispbills.billing.tasks import export_run_pdfs_task

    access = access_of(actor)
    visible = BillingRun.objects.filter(pk=billing_run.pk).restrict(actor, "view").exists()
    if not visible or not access.can(Bill.permission("export")):
        raise NotAllowedError(_("You do not have permission to export these bills."))
    with transaction.atomic():
        return start_job_run(
            actor=actor,
            kind="export",
            label=_("PDF bills of the billing run of %(date)s")
            % {"date": billing_run.run_date.isoformat()},
            job=export_run_pdfs_task,
            tenant_id=billing_run.tenant_id,
            operator_id=access.operator_id,
            result_permission=Bill.permission("export"),
            billing_run_id=billing_run.pk,
            user_id=access.user_id,
            acting_tenant_id=access.tenant_id,
        )


def write_run_pdfs(
    *, progress: Progress, billing_run_id: int, user: Any, language: str
) -> dict[str, Any]:
    """Write the ZIP of the run's bills that ``user`` may export; returns the result summary."""
    bills = Bill.objects.filter(run_id=billing_run_id).restrict(user, "export").order_by("number")
    found = list(bills.values_list("pk", "kind", "number"))
    total = len(found)
    path = exports.export_path(progress.run_id, "zip")
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    brands: dict[int, Any] = {}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for pk, kind, number in found:
            name = pdf_filename(Bill(pk=pk, kind=kind, number=number))
            archive.writestr(name, render_bill_pdf(Bill(pk=pk), language, brands))
            written += 1
            progress.update(written, total, _("%(n)s of %(t)s bills") % {"n": written, "t": total})
    return {"bills": written, "file": path.name}
