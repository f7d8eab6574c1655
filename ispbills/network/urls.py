from django.urls import path

from ispbills.network import views

app_name = "network"

urlpatterns = [
    path("ip-pools/", views.IpPoolListView.as_view(), name="ippool_list"),
    path("ip-pools/add/", views.IpPoolCreateView.as_view(), name="ippool_add"),
    path("ip-pools/<int:pk>/", views.IpPoolDetailView.as_view(), name="ippool_detail"),
    path("ip-pools/<int:pk>/edit/", views.IpPoolEditView.as_view(), name="ippool_edit"),
    path("ip-pools/<int:pk>/replace/", views.IpPoolReplaceView.as_view(), name="ippool_replace"),
    path("ip-pools/<int:pk>/delete/", views.IpPoolDeleteView.as_view(), name="ippool_delete"),
    path("pppoe-profiles/", views.PppoeProfileListView.as_view(), name="pppoeprofile_list"),
    path("pppoe-profiles/add/", views.PppoeProfileCreateView.as_view(), name="pppoeprofile_add"),
    path(
        "pppoe-profiles/<int:pk>/",
        views.PppoeProfileDetailView.as_view(),
        name="pppoeprofile_detail",
    ),
    path(
        "pppoe-profiles/<int:pk>/edit/",
        views.PppoeProfileEditView.as_view(),
        name="pppoeprofile_edit",
    ),
    path(
        "pppoe-profiles/<int:pk>/delete/",
        views.PppoeProfileDeleteView.as_view(),
        name="pppoeprofile_delete",
    ),
    path("network/settings/", views.NetworkSettingsView.as_view(), name="settings"),
]
