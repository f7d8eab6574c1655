from django.urls import path
from rest_framework.routers import DefaultRouter

from ispbills.accounting.api.v1 import viewsets as accounting_viewsets
from ispbills.api.v1 import viewsets
from ispbills.billing import pdf_urls as billing_pdf_urls
from ispbills.billing.api.v1 import viewsets as billing_viewsets
from ispbills.cards.api.v1 import viewsets as card_viewsets
from ispbills.catalog.api.v1 import viewsets as catalog_viewsets
from ispbills.customers.api.v1 import viewsets as customer_viewsets
from ispbills.expenses.api.v1 import viewsets as expense_viewsets
from ispbills.network.api.v1 import viewsets as network_viewsets
from ispbills.payments.api.v1 import viewsets as payment_viewsets
from ispbills.radius.api.v1 import viewsets as radius_viewsets
from ispbills.reports.api.v1 import views as report_views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("operators", viewsets.OperatorViewSet, basename="operator")
router.register("users", viewsets.UserViewSet, basename="user")
router.register("audit-events", viewsets.AuditEventViewSet, basename="auditevent")
router.register("jobs", viewsets.JobViewSet, basename="job")
router.register("customers", customer_viewsets.CustomerViewSet, basename="customer")
router.register("zones", customer_viewsets.ZoneViewSet, basename="zone")
router.register("custom-fields", customer_viewsets.CustomFieldViewSet, basename="customfield")
router.register("packages", catalog_viewsets.PackageViewSet, basename="package")
router.register(
    "billing-profiles", catalog_viewsets.BillingProfileViewSet, basename="billingprofile"
)
router.register("vat-profiles", catalog_viewsets.VatProfileViewSet, basename="vatprofile")
router.register("ip-pools", network_viewsets.IpPoolViewSet, basename="ippool")
router.register("pppoe-profiles", network_viewsets.PppoeProfileViewSet, basename="pppoeprofile")
router.register("nas", radius_viewsets.NasDeviceViewSet, basename="nasdevice")
router.register("disconnects", radius_viewsets.DisconnectViewSet, basename="disconnect")
router.register("sessions", customer_viewsets.SessionViewSet, basename="session")
router.register("auth-log", customer_viewsets.AuthAttemptViewSet, basename="authattempt")
router.register("bills", billing_viewsets.BillViewSet, basename="bill")
router.register("customers", billing_viewsets.CustomerBillingViewSet, basename="customer-billing")
router.register("billing-runs", billing_viewsets.BillingRunViewSet, basename="billingrun")
router.register("payments", payment_viewsets.PaymentViewSet, basename="payment")
router.register(
    "payment-gateways", payment_viewsets.GatewayAccountViewSet, basename="gatewayaccount"
)
router.register(
    "payment-attempts", payment_viewsets.PaymentAttemptViewSet, basename="paymentattempt"
)
router.register(
    "customers", payment_viewsets.CustomerPaymentLinkViewSet, basename="customer-payment-links"
)
router.register("accounts", accounting_viewsets.AccountViewSet, basename="account")
router.register("journal-entries", accounting_viewsets.JournalEntryViewSet, basename="journalentry")
router.register("operators", accounting_viewsets.OperatorFundsViewSet, basename="operator-funds")
router.register("transfers", accounting_viewsets.TransferRequestViewSet, basename="transferrequest")
router.register("card-batches", card_viewsets.CardBatchViewSet, basename="cardbatch")
router.register("cards", card_viewsets.CardViewSet, basename="card")
router.register(
    "expense-categories", expense_viewsets.ExpenseCategoryViewSet, basename="expensecategory"
)
router.register("expenses", expense_viewsets.ExpenseViewSet, basename="expense")
router.register("expenses", expense_viewsets.ExpenseFileViewSet, basename="expense-file")

app_name = "api-v1"
urlpatterns = [
    path("me/", viewsets.MeView.as_view(), name="me"),
    path("reports/", report_views.ReportListAPIView.as_view(), name="report-list"),
    path("reports/<slug:name>/", report_views.ReportDetailAPIView.as_view(), name="report-detail"),
    *router.urls,
    *billing_pdf_urls.api_urlpatterns,
]
