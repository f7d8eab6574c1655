from django.urls import path

from ispbills.cards import views

app_name = "cards"

urlpatterns = [
    path("cards/", views.CardListView.as_view(), name="card_list"),
    path("cards/dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("cards/usage/", views.UsageReportView.as_view(), name="usage"),
    path("cards/void/", views.CardBulkVoidView.as_view(), name="card_bulk_void"),
    path("cards/<int:pk>/", views.CardDetailView.as_view(), name="card_detail"),
    path("cards/<int:pk>/void/", views.CardVoidView.as_view(), name="card_void"),
    path("cards/batches/", views.CardBatchListView.as_view(), name="cardbatch_list"),
    path("cards/batches/add/", views.CardBatchCreateView.as_view(), name="cardbatch_add"),
    path("cards/batches/<int:pk>/", views.CardBatchDetailView.as_view(), name="cardbatch_detail"),
    path(
        "cards/batches/<int:pk>/issue/", views.CardBatchIssueView.as_view(), name="cardbatch_issue"
    ),
    path("cards/batches/<int:pk>/void/", views.CardBatchVoidView.as_view(), name="cardbatch_void"),
    path(
        "cards/batches/<int:pk>/vouchers/",
        views.CardBatchVouchersView.as_view(),
        name="cardbatch_vouchers",
    ),
    path("cards/commissions/", views.CommissionListView.as_view(), name="commission_list"),
    path(
        "cards/payments/",
        views.DistributorPaymentListView.as_view(),
        name="distributorpayment_list",
    ),
    path(
        "cards/payments/add/",
        views.DistributorPaymentCreateView.as_view(),
        name="distributorpayment_add",
    ),
    path(
        "cards/redemptions/",
        views.RedemptionAttemptListView.as_view(),
        name="redemptionattempt_list",
    ),
    path(
        "customers/<int:pk>/cards/redeem/",
        views.CustomerRedeemView.as_view(),
        name="customer_redeem",
    ),
]
