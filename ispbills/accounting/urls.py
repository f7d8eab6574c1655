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
    path("journal/<int:pk>/", views.JournalEntryDetailView.as_view(), name="journalentry_detail"),
]
