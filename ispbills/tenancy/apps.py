from django.apps import AppConfig


class TenancyConfig(AppConfig):
    """ISPs (tenants), their operator trees, staff users, roles and permissions."""

    name = "ispbills.tenancy"
    label = "tenancy"
    default_auto_field = "django.db.models.BigAutoField"
