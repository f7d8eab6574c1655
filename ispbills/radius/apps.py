from django.apps import AppConfig


class RadiusConfig(AppConfig):
    """FreeRADIUS: its SQL tables, and the configuration that points it at this database."""

    name = "ispbills.radius"
    label = "radius"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The in-transaction handlers of network events live with the jobs; load them in
        # every process, whatever loads the jobs.
        from ispbills.radius import tasks  # noqa: F401
