from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CardsConfig(AppConfig):
    name = "ispbills.cards"
    label = "cards"
    verbose_name = _("Recharge cards")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ispbills.cards import tasks  # noqa: F401  (registers the jobs)
