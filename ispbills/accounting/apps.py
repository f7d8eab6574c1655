from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountingConfig(AppConfig):
    """The double-entry ledger: accounts, journal entries, and what posts them."""

    name = "ispbills.accounting"
    label = "accounting"
    verbose_name = _("Accounting")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The handlers that post payments run inside the payment's transaction: load them in
        # every process, whatever loads the jobs.
        from ispbills.accounting import tasks  # noqa: F401
