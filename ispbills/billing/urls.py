from django.urls import path

from ispbills.billing import views

app_name = "billing"

urlpatterns = [
    path("bills/", views.BillListView.as_view(), name="bill_list"),
    path("bills/void/", views.BulkVoidView.as_view(), name="bill_bulk_void"),
    path("bills/issue/", views.BulkGenerateView.as_view(), name="bill_bulk_generate"),
    path("bills/<int:pk>/", views.BillDetailView.as_view(), name="bill_detail"),
    path("bills/<int:pk>/void/", views.BillVoidView.as_view(), name="bill_void"),
    path("customers/<int:pk>/bills/", views.CustomerBillsView.as_view(), name="customer_bills"),
    path(
        "customers/<int:pk>/bills/generate/",
        views.GenerateBillView.as_view(),
        name="customer_bill_generate",
    ),
    path(
        "customers/<int:pk>/invoice-preview/",
        views.InvoicePreviewView.as_view(),
        name="invoice_preview",
    ),
    path("billing-runs/", views.BillingRunListView.as_view(), name="billingrun_list"),
    path("billing-runs/add/", views.BillingRunStartView.as_view(), name="billingrun_add"),
    path("billing-runs/<int:pk>/", views.BillingRunDetailView.as_view(), name="billingrun_detail"),
    path("billing/settings/", views.BillingSettingsView.as_view(), name="settings"),
    path("reports/vat/", views.VatReportView.as_view(), name="vat_report"),
]
