from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExpensesConfig(AppConfig):
    """What an operator spends: categories, expenses with their receipts, posted to the ledger."""

    name = "ispbills.expenses"
    label = "expenses"
    verbose_name = _("Expenses")
    default_auto_field = "django.db.models.BigAutoField"
