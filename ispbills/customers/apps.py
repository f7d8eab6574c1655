from django.apps import AppConfig


class CustomersConfig(AppConfig):
    """Subscribers: their service, lifecycle, zones, custom fields, notes, bulk work."""

    name = "ispbills.customers"
    label = "customers"
    default_auto_field = "django.db.models.BigAutoField"
