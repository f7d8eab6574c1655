from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """Financial reports over the ledger, bills and payments, and the bills-vs-payments chart."""

    name = "ispbills.reports"
    label = "reports"
    verbose_name = _("Reports")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The reports register themselves when their module loads.
        from ispbills.reports import library  # noqa: F401
