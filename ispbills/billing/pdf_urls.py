"""URLs of bill PDFs: the panel download, and the API route the v1 API includes."""

from django.urls import path

from ispbills.billing import pdf_views
from ispbills.billing.api.pdf import BillPdfViewSet

app_name = "billing_pdf"

urlpatterns = [
    path("bills/<int:pk>/pdf/", pdf_views.BillPdfView.as_view(), name="bill_pdf"),
    path(
        "billing-runs/<int:pk>/pdfs/", pdf_views.RunPdfExportView.as_view(), name="run_pdf_export"
    ),
]

api_urlpatterns = [
    path("bills/<int:pk>/pdf/", BillPdfViewSet.as_view({"get": "retrieve"}), name="bill-pdf"),
]
