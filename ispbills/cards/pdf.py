"""Voucher sheets: a batch's cards as an A4 PDF, twelve a page (serial, PIN, package, value,
expiry), rendered by WeasyPrint with the fonts the bills use (Bangla shapes right). Small
batches are rendered at once; larger ones by a job whose file the job page offers."""

import tempfile
import zoneinfo
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ispbills.billing.pdf import PdfUnavailableError, _fetcher, _fonts
from ispbills.cards.models import Card, CardBatch
from ispbills.cards.services import format_pin
from ispbills.core import exports
from ispbills.core.access import access_of
from ispbills.core.errors import NotAllowedError
from ispbills.core.jobs import Progress, start_job_run
from ispbills.core.models import JobRun
from ispbills.core.money import format_money

PER_PAGE = 12
# The permission that shows a PIN (printing, the card page): issuing cards is what needs it.
PIN_PERMISSION = "cards.change"


def may_print(user: Any, batch: CardBatch) -> bool:
    """The user reaches the batch with the permission to see PINs."""
    access = access_of(user)
    return access.can(PIN_PERMISSION) and (
        CardBatch.objects.restrict(user, "change").filter(pk=batch.pk).exists()
    )


def render_vouchers(
    batch: CardBatch, user: Any, language: str, progress: Progress | None = None
) -> bytes:
    """The batch's cards the user may see that are still unused, as voucher sheets."""
    try:
        from weasyprint import HTML
    except (OSError, ImportError) as exc:
        raise PdfUnavailableError(str(exc)) from exc
    batch = CardBatch.objects.select_related("tenant", "operator", "package").get(pk=batch.pk)
    cards = (
        Card.objects.restrict(user, "view")
        .filter(batch=batch, state__in=[Card.State.UNISSUED, Card.State.ISSUED])
        .order_by("serial")
    )
    zone = zoneinfo.ZoneInfo(batch.tenant.timezone)
    rows = []
    for number, card in enumerate(cards.iterator(chunk_size=2000), start=1):
        rows.append({"serial": card.serial, "pin": format_pin(card.pin)})
        if progress is not None and number % 500 == 0:
            progress.update(number, batch.count, _("%(n)s cards") % {"n": number})
    pages = [rows[i : i + PER_PAGE] for i in range(0, len(rows), PER_PAGE)]
    fonts = _fonts()
    with translation.override(language), timezone.override(zone):
        html = render_to_string(
            "cards/vouchers_pdf.html",
            {
                "batch": batch,
                "pages": pages,
                "value": format_money(batch.value, batch.tenant.currency),
                "font_urls": {weight: path.as_uri() for weight, path in fonts.items()},
                "language": language,
            },
        )
    with tempfile.TemporaryDirectory(prefix="ispbills-cards-"):
        document = HTML(string=html, url_fetcher=_fetcher(set(fonts.values())))
        return bytes(document.write_pdf())


def direct(batch: CardBatch) -> bool:
    """Whether the batch is small enough to render in the request."""
    return batch.count <= settings.CARD_DIRECT_PDF_LIMIT


def start_vouchers_export(*, actor: Any, batch: CardBatch) -> JobRun:
    """Queue the voucher sheets of a large batch; the job page offers the PDF when done."""
    from ispbills.cards.tasks import export_vouchers_task

    if not may_print(actor, batch):
        raise NotAllowedError(_("You do not have permission to print these cards."))
    access = access_of(actor)
    with transaction.atomic():
        return start_job_run(
            actor=actor,
            kind="export",
            label=_("Voucher sheets of %(batch)s") % {"batch": batch},
            job=export_vouchers_task,
            tenant_id=batch.tenant_id,
            operator_id=access.operator_id,
            result_permission=PIN_PERMISSION,
            batch_id=batch.pk,
            user_id=access.user_id,
            acting_tenant_id=access.tenant_id,
        )


def write_vouchers(
    *, progress: Progress, batch_id: int, user: Any, language: str
) -> dict[str, Any]:
    batch = CardBatch.objects.get(pk=batch_id)
    if not may_print(user, batch):
        raise NotAllowedError(_("You do not have permission to print these cards."))
    path = exports.export_path(progress.run_id, "pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_vouchers(batch, user, language, progress))
    return {"cards": batch.count, "file": path.name}
