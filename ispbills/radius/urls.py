from django.urls import path

from ispbills.radius import views

app_name = "radius"

urlpatterns = [
    path("nas/", views.NasDeviceListView.as_view(), name="nasdevice_list"),
    path("nas/add/", views.NasDeviceCreateView.as_view(), name="nasdevice_add"),
    path("nas/<int:pk>/", views.NasDeviceDetailView.as_view(), name="nasdevice_detail"),
    path("nas/<int:pk>/edit/", views.NasDeviceEditView.as_view(), name="nasdevice_edit"),
    path("nas/<int:pk>/delete/", views.NasDeviceDeleteView.as_view(), name="nasdevice_delete"),
    path("disconnects/", views.DisconnectListView.as_view(), name="disconnect_list"),
    path("disconnects/<int:pk>/", views.DisconnectDetailView.as_view(), name="disconnect_detail"),
]
