from django.urls import path
from rest_framework.routers import DefaultRouter

from ispbills.api.v1 import viewsets

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("operators", viewsets.OperatorViewSet, basename="operator")
router.register("users", viewsets.UserViewSet, basename="user")
router.register("audit-events", viewsets.AuditEventViewSet, basename="auditevent")
router.register("jobs", viewsets.JobViewSet, basename="job")

app_name = "api-v1"
urlpatterns = [
    path("me/", viewsets.MeView.as_view(), name="me"),
    *router.urls,
]
