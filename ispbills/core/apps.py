from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class CoreConfig(AppConfig):
    """Base models, scoping, money, clock, audit and job helpers shared by every app."""

    name = "ispbills.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every app's exports.py registers its CSV exports, in web and worker processes alike.
        autodiscover_modules("exports")
