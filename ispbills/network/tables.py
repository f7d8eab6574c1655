"""Network tables."""

from typing import Any

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ispbills.network.addresses import usage_of
from ispbills.network.models import IpPool, PppoeProfile


def usage_bar(pool: Any) -> str:
    """A stacked bar: assigned (static), online (dynamic sessions), the rest free."""
    usage = usage_of(pool)
    return format_html(
        '<div class="progress-stacked" style="min-width: 10rem">'
        '<div class="progress" role="progressbar" aria-label="{}" style="width: {}%">'
        '<div class="progress-bar"></div></div>'
        '<div class="progress" role="progressbar" aria-label="{}" style="width: {}%">'
        '<div class="progress-bar bg-success"></div></div></div>'
        '<div class="small text-body-secondary">{}</div>',
        _("Assigned"),
        usage.assigned_percent,
        _("Online"),
        usage.online_percent,
        _("%(assigned)s assigned · %(online)s online · %(free)s free")
        % {"assigned": usage.assigned, "online": usage.online, "free": usage.free},
    )


class IpPoolTable(tables.Table):
    name = tables.Column(linkify=True, verbose_name=gettext_lazy("Name"))
    cidr = tables.Column(verbose_name="CIDR")
    usage = tables.Column(empty_values=(), orderable=False, verbose_name=gettext_lazy("Usage"))
    operator = tables.Column(verbose_name=gettext_lazy("Owner"))

    class Meta:
        model = IpPool
        fields = ("name", "cidr", "family", "purpose", "usage", "operator")

    def render_usage(self, record: IpPool) -> str:
        return usage_bar(record)


class PppoeProfileTable(tables.Table):
    name = tables.Column(linkify=True, verbose_name=gettext_lazy("Name"))
    rate_limit = tables.Column(verbose_name=gettext_lazy("Rate limit"), default="—")
    operator = tables.Column(verbose_name=gettext_lazy("Owner"))

    class Meta:
        model = PppoeProfile
        fields = (
            "name",
            "ip_mode",
            "ipv4_pool",
            "ipv6_pool",
            "rate_limit",
            "operator",
            "is_active",
        )

    def render_rate_limit(self, value: str) -> str:
        return value or _("From the package")
