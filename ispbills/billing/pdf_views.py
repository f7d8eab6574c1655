"""Panel download of a bill as PDF."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from ispbills.billing.models import Bill
from ispbills.billing.pdf import pdf_filename, render_bill_pdf
from ispbills.core.views import ObjectDetailView


def pdf_response(bill: Bill, content: bytes) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf_filename(bill)}"'
    return response


class BillPdfView(ObjectDetailView):
    """A bill the user may see, as a PDF in the user's language."""

    model = Bill

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        bill = self.get_object()
        return pdf_response(bill, render_bill_pdf(bill, translation.get_language() or "en"))
