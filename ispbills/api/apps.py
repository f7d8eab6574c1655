from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API: authentication, pagination, errors, and the v1 endpoints."""

    name = "ispbills.api"
    label = "api"
