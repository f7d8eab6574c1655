"""API download of a bill as PDF."""

import json
from collections.abc import Mapping
from typing import Any

from django.http import HttpResponse
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from ispbills.billing.models import Bill
from ispbills.billing.pdf import render_bill_pdf
from ispbills.billing.pdf_views import pdf_response
from ispbills.core.api import ScopedGenericViewSet


class PdfRenderer(BaseRenderer):
    """Lets clients ask for application/pdf; errors still go out as JSON."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return json.dumps(data).encode()


class BillPdfViewSet(ScopedGenericViewSet):
    """``GET /bills/{id}/pdf/``: a bill the token's user may see, as a PDF."""

    queryset = Bill.objects.all()
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(
        summary="Download a bill as PDF",
        description="The bill as an A4 PDF invoice, in the language of the request "
        "(Accept-Language: bn or en).",
        responses={
            (200, "application/pdf"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="The PDF file"
            )
        },
        tags=["bills"],
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        bill = self.get_object()
        return pdf_response(bill, render_bill_pdf(bill, translation.get_language() or "en"))
