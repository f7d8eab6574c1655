from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo ISP that `ispbills run` and `ispbills demo` seed."""

    name = "ispbills.demo"
    label = "demo"
