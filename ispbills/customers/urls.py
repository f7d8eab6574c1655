from django.urls import path

from ispbills.customers import import_views, session_views, views

app_name = "customers"

urlpatterns = [
    path("customers/", views.CustomerListView.as_view(), name="customer_list"),
    path("customers/deleted/", views.ArchiveListView.as_view(), name="customer_archive"),
    path("customers/add/", views.CustomerCreateView.as_view(), name="customer_add"),
    path("customers/bulk/", views.BulkView.as_view(), name="customer_bulk"),
    path("customers/import/", import_views.ImportUploadView.as_view(), name="import_upload"),
    path(
        "customers/import/mapping/", import_views.ImportMappingView.as_view(), name="import_mapping"
    ),
    path("customers/bulk-mac/", views.MacBindView.as_view(), name="customer_mac_bind"),
    path("customers/export/", views.CustomerExportView.as_view(), name="customer_export"),
    path("customers/<int:pk>/", views.CustomerDetailView.as_view(), name="customer_detail"),
    path("customers/<int:pk>/edit/", views.CustomerEditView.as_view(), name="customer_edit"),
    path(
        "customers/<int:pk>/status/<slug:to>/",
        views.StatusChangeView.as_view(),
        name="customer_status",
    ),
    path("customers/<int:pk>/transfer/", views.TransferView.as_view(), name="customer_transfer"),
    path("customers/<int:pk>/notes/", views.NoteCreateView.as_view(), name="customer_note"),
    path(
        "customers/<int:pk>/sessions/",
        session_views.CustomerSessionsView.as_view(),
        name="customer_sessions",
    ),
    path(
        "customers/<int:pk>/disconnect/",
        session_views.CustomerDisconnectView.as_view(),
        name="customer_disconnect",
    ),
    path("customers/replace/<slug:field>/<int:pk>/", views.ReplaceView.as_view(), name="replace"),
    path(
        "radius/sessions/", session_views.AccountingSessionListView.as_view(), name="session_list"
    ),
    path("radius/auth-log/", session_views.AuthAttemptListView.as_view(), name="authattempt_list"),
    path("zones/", views.ZoneListView.as_view(), name="zone_list"),
    path("zones/add/", views.ZoneCreateView.as_view(), name="zone_add"),
    path("zones/<int:pk>/", views.ZoneDetailView.as_view(), name="zone_detail"),
    path("zones/<int:pk>/edit/", views.ZoneEditView.as_view(), name="zone_edit"),
    path("custom-fields/", views.CustomFieldListView.as_view(), name="customfield_list"),
    path("custom-fields/add/", views.CustomFieldCreateView.as_view(), name="customfield_add"),
    path(
        "custom-fields/<int:pk>/edit/", views.CustomFieldEditView.as_view(), name="customfield_edit"
    ),
]
