from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Base models, scoping, money, clock, audit and job helpers shared by every app."""

    name = "ispbills.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"
