from django.urls import path

from ispbills.payments import public_views, views

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
    # Provider callbacks and the public payment page (no login; see public_views).
    path("pay/gw/<slug:code>/return/", public_views.gateway_return, name="gateway_return"),
    path("pay/gw/<slug:code>/ipn/", public_views.gateway_ipn, name="gateway_ipn"),
    path("pay/result/<str:token>/", public_views.attempt_result, name="attempt_result"),
    path("pay/<str:token>/", public_views.pay_link, name="pay_link"),
]
