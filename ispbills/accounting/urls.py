from django.urls import path

from ispbills.accounting import views

app_name = "accounting"

urlpatterns = [
    path("accounts/", views.AccountListView.as_view(), name="account_list"),
    path("accounts/<int:pk>/", views.AccountDetailView.as_view(), name="account_detail"),
    path("journal/", views.JournalEntryListView.as_view(), name="journalentry_list"),
    path("journal/transfer/", views.TransferView.as_view(), name="transfer"),
    path("operators/<int:pk>/funds/", views.OperatorFundsView.as_view(), name="operator_funds"),
    path("operators/<int:pk>/funds/add/", views.AddFundsView.as_view(), name="operator_add_funds"),
    path("operators/<int:pk>/close/", views.CloseOperatorView.as_view(), name="operator_close"),
    path("transfers/", views.TransferRequestListView.as_view(), name="transferrequest_list"),
    path("transfers/handover/", views.HandoverRequestView.as_view(), name="handover"),
    path("transfers/funds/", views.FundsRequestView.as_view(), name="funds_request"),
    path(
        "transfers/<int:pk>/",
        views.TransferRequestDetailView.as_view(),
        name="transferrequest_detail",
    ),
    path(
        "transfers/<int:pk>/approve/", views.TransferDecisionView.as_view(), name="transfer_approve"
    ),
    path("transfers/<int:pk>/reject/", views.TransferRejectView.as_view(), name="transfer_reject"),
    path("journal/<int:pk>/", views.JournalEntryDetailView.as_view(), name="journalentry_detail"),
]
