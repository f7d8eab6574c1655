from django.apps import AppConfig


class RadiusConfig(AppConfig):
    """FreeRADIUS: its SQL tables, and the configuration that points it at this database."""

    name = "ispbills.radius"
    label = "radius"
    default_auto_field = "django.db.models.BigAutoField"
