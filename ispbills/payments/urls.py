from django.urls import path

from ispbills.payments import views

app_name = "payments"

urlpatterns = [
    path("payments/", views.PaymentListView.as_view(), name="payment_list"),
    path("payments/<int:pk>/", views.PaymentDetailView.as_view(), name="payment_detail"),
    path("payments/<int:pk>/receipt/", views.PaymentReceiptView.as_view(), name="payment_receipt"),
    path("payments/<int:pk>/reverse/", views.PaymentReverseView.as_view(), name="payment_reverse"),
    path(
        "customers/<int:pk>/payments/",
        views.CustomerPaymentsView.as_view(),
        name="customer_payments",
    ),
    path(
        "customers/<int:pk>/payments/collect/",
        views.CollectCashView.as_view(),
        name="collect_cash",
    ),
]
