from django.urls import path

from ispbills.catalog import views

app_name = "catalog"

urlpatterns = [
    path("packages/", views.PackageListView.as_view(), name="package_list"),
    path("packages/add/", views.PackageCreateView.as_view(), name="package_add"),
    path("packages/<int:pk>/", views.PackageDetailView.as_view(), name="package_detail"),
    path("packages/<int:pk>/edit/", views.PackageEditView.as_view(), name="package_edit"),
    path("billing-profiles/", views.BillingProfileListView.as_view(), name="billingprofile_list"),
    path(
        "billing-profiles/add/", views.BillingProfileCreateView.as_view(), name="billingprofile_add"
    ),
    path(
        "billing-profiles/<int:pk>/",
        views.BillingProfileDetailView.as_view(),
        name="billingprofile_detail",
    ),
    path(
        "billing-profiles/<int:pk>/edit/",
        views.BillingProfileEditView.as_view(),
        name="billingprofile_edit",
    ),
    path("vat-profiles/", views.VatProfileListView.as_view(), name="vatprofile_list"),
    path("vat-profiles/add/", views.VatProfileCreateView.as_view(), name="vatprofile_add"),
    path("vat-profiles/<int:pk>/", views.VatProfileDetailView.as_view(), name="vatprofile_detail"),
    path("vat-profiles/<int:pk>/edit/", views.VatProfileEditView.as_view(), name="vatprofile_edit"),
]
