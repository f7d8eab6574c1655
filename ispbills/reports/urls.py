from django.urls import path

from ispbills.reports import views

app_name = "reports"

urlpatterns = [
    path("reports/", views.ReportListView.as_view(), name="report_list"),
    path("reports/<slug:name>/", views.ReportView.as_view(), name="report_detail"),
]
