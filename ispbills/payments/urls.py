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
    # Online payment gateways (panel).
    path("payments/gateways/", views.GatewayAccountListView.as_view(), name="gateway_list"),
    path("payments/gateways/add/", views.GatewayAccountCreateView.as_view(), name="gateway_add"),
    path(
        "payments/gateways/<int:pk>/",
        views.GatewayAccountDetailView.as_view(),
        name="gateway_detail",
    ),
    path(
        "payments/gateways/<int:pk>/edit/",
        views.GatewayAccountEditView.as_view(),
        name="gateway_edit",
    ),
    path(
        "payments/gateways/<int:pk>/test/",
        views.GatewayAccountTestView.as_view(),
        name="gateway_test",
    ),
    path("payments/online/", views.PaymentAttemptListView.as_view(), name="attempt_list"),
    path("payments/online/attention/", views.AttentionListView.as_view(), name="attention_list"),
    path(
        "payments/online/<int:pk>/", views.PaymentAttemptDetailView.as_view(), name="attempt_detail"
    ),
    path("payments/online/<int:pk>/check/", views.AttemptCheckView.as_view(), name="attempt_check"),
    path(
        "payments/online/<int:pk>/resolve/",
        views.AttemptResolveView.as_view(),
        name="attempt_resolve",
    ),
    path(
        "customers/<int:pk>/payments/link/",
        views.CustomerPaymentLinkView.as_view(),
        name="customer_payment_link",
    ),
    path(
        "customers/<int:pk>/payments/bkash-trxid/",
        views.SendMoneyView.as_view(),
        name="customer_send_money",
    ),
    path("operators/<int:pk>/top-up/", views.OperatorTopUpView.as_view(), name="operator_topup"),
    # Provider callbacks and the public payment page (no login; see public_views).
    path("pay/gw/<slug:code>/return/", public_views.gateway_return, name="gateway_return"),
    path("pay/gw/<slug:code>/ipn/", public_views.gateway_ipn, name="gateway_ipn"),
    path("pay/gw/<slug:code>/page/<str:token>/", public_views.gateway_page, name="gateway_page"),
    path(
        "pay/gw/<slug:code>/action/<slug:name>/",
        public_views.gateway_action,
        name="gateway_action",
    ),
    path("pay/result/<str:token>/", public_views.attempt_result, name="attempt_result"),
    path("pay/<str:token>/", public_views.pay_link, name="pay_link"),
]
