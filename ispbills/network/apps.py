from django.apps import AppConfig


class NetworkConfig(AppConfig):
    """The network catalog: IP pools, PPPoE profiles and what suspended customers get."""

    name = "ispbills.network"
    label = "network"
    default_auto_field = "django.db.models.BigAutoField"
