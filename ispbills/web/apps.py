from django.apps import AppConfig


class WebConfig(AppConfig):
    """The staff panel shell: layout, navigation, dashboard, login, profile, jobs, audit."""

    name = "ispbills.web"
    label = "web"
