"""Panel download of a bill as PDF, and of a billing run's bills as a ZIP made by a job."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ispbills.billing.models import Bill, BillingRun
from ispbills.billing.pdf import pdf_filename, render_bill_pdf, start_run_pdf_export
from ispbills.core.errors import DomainError
from ispbills.core.views import ObjectActionView, ObjectDetailView


def pdf_response(bill: Bill, content: bytes) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf_filename(bill)}"'
    return response


class BillPdfView(ObjectDetailView):
    """A bill the user may see, as a PDF in the user's language."""

    model = Bill

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        bill = self.get_object()
        try:
            content = render_bill_pdf(bill, translation.get_language() or "en")
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(bill.get_absolute_url())
        return pdf_response(bill, content)


class RunPdfExportView(ObjectActionView):
    """Asks for a ZIP of the PDFs of a run's bills; the job's page shows progress and the file."""

    model = BillingRun
    action = "export"
    title = _("PDF bills of a billing run")
    question = _("Make a ZIP of the PDFs of the bills of the billing run of %(object)s?")
    button = _("Make the ZIP")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        billing_run = self.get_object()
        try:
            run = start_run_pdf_export(actor=request.user, billing_run=billing_run)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("billing:billingrun_detail", pk=billing_run.pk)
        return redirect("web:job_detail", pk=run.pk)
