from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from ispbills.api.views import docs_view, schema_view

urlpatterns = [
    path("", include("ispbills.web.urls")),
    path("", include("ispbills.tenancy.urls")),
    path("", include("ispbills.customers.urls")),
    path("", include("ispbills.catalog.urls")),
    path("", include("ispbills.network.urls")),
    path("", include("ispbills.billing.urls")),
    path("", include("ispbills.billing.pdf_urls")),
    path("", include("ispbills.payments.urls")),
    path("", include("ispbills.accounting.urls")),
    path("", include("ispbills.cards.urls")),
    path("", include("ispbills.expenses.urls")),
    path("", include("ispbills.reports.urls")),
    path("radius/", include("ispbills.radius.urls")),
    path("reminders/", include("ispbills.billing.reminder_urls")),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("api/v1/", include("ispbills.api.v1.urls")),
    path("api/schema/", schema_view, name="api-schema"),
    path("api/docs/", docs_view, name="api-docs"),
]
