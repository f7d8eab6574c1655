from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """What an ISP sells: packages (and operator variants), billing and VAT profiles."""

    name = "ispbills.catalog"
    label = "catalog"
    default_auto_field = "django.db.models.BigAutoField"
