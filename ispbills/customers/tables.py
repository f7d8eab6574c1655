"""Panel tables for customers and zones."""

from typing import Any

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from ispbills.customers.models import AccountingSession, AuthAttempt, Customer, CustomField, Zone


class CustomerTable(tables.Table):
    """Headers and sorting come from the table; rows from customer_table.html."""

    select = tables.CheckBoxColumn(
        accessor="pk",
        orderable=False,
        attrs={"th__input": {"data-select-all": "customers", "aria-label": _("Select all")}},
    )
    username = tables.Column(verbose_name=_("Username"))
    name = tables.Column(verbose_name=_("Name"))
    mobile = tables.Column(verbose_name=_("Mobile"))
    zone = tables.Column(verbose_name=_("Zone"), order_by="zone__name")
    package = tables.Column(verbose_name=_("Package"), order_by="package__name")
    status = tables.Column(verbose_name=_("Status"))
    expires_at = tables.Column(verbose_name=_("Expires"))
    operator = tables.Column(verbose_name=_("Operator"), order_by="operator__name")
    advance_balance = tables.Column(verbose_name=_("Advance"))

    class Meta:
        model = Customer
        fields = (
            "select",
            "username",
            "name",
            "mobile",
            "zone",
            "package",
            "status",
            "expires_at",
            "operator",
            "advance_balance",
        )
        template_name = "customers/partials/customer_table.html"
        attrs = {"class": "table table-sm table-hover align-middle"}

    def __init__(self, *args: Any, show_money: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, exclude=() if show_money else ("advance_balance",), **kwargs)
        self.show_money = show_money


class ZoneTable(tables.Table):
    name = tables.Column(linkify=True, verbose_name=_("Name"))
    parent = tables.Column(verbose_name=_("Inside"))
    operator = tables.Column(verbose_name=_("Owner"))

    class Meta:
        model = Zone
        fields = ("name", "kind", "parent", "operator")


class CustomFieldTable(tables.Table):
    label = tables.Column(
        linkify=("customers:customfield_edit", [tables.A("pk")]), verbose_name=_("Label")
    )

    class Meta:
        model = CustomField
        fields = ("label", "key", "kind", "required", "position", "is_active")


# ---- RADIUS sessions and the authentication log ---------------------------------------------

WHEN = "{% load ispbills %}{{ value|tenant_time:'Y-m-d H:i:s' }}"
CUSTOMER = (
    '{% if record.customer %}<a href="{{ record.customer.get_absolute_url }}">'
    "{{ record.customer.name }}</a>{% else %}—{% endif %}"
)


class AccountingSessionTable(tables.Table):
    customer = tables.TemplateColumn(CUSTOMER, verbose_name=_("Customer"), orderable=False)
    username = tables.Column(verbose_name=_("Username"))
    nas = tables.TemplateColumn(
        "{{ record.nas_name|default:record.nas_ip_address }}", verbose_name=_("NAS")
    )
    framed_ip_address = tables.Column(verbose_name=_("Address"), default="—")
    calling_station_id = tables.Column(verbose_name=_("MAC"), default="—")
    start_time = tables.TemplateColumn(WHEN, verbose_name=_("Started"))
    duration = tables.TemplateColumn(
        "{% load radius %}{{ record.start_time|duration }}", verbose_name=_("Duration")
    )
    input_octets = tables.TemplateColumn(
        "{% load radius %}{{ value|octets }}", verbose_name=_("Up")
    )
    output_octets = tables.TemplateColumn(
        "{% load radius %}{{ value|octets }}", verbose_name=_("Down")
    )
    session_id = tables.Column(verbose_name=_("Session"))

    class Meta:
        model = AccountingSession
        fields = (
            "customer",
            "username",
            "nas",
            "framed_ip_address",
            "calling_station_id",
            "start_time",
            "duration",
            "input_octets",
            "output_octets",
            "session_id",
        )
        orderable = False  # newest first, paged by key
        attrs = {"class": "table table-sm table-hover align-middle"}


class AuthAttemptTable(tables.Table):
    authdate = tables.TemplateColumn(WHEN, verbose_name=_("When"))
    customer = tables.TemplateColumn(CUSTOMER, verbose_name=_("Customer"))
    username = tables.Column(verbose_name=_("Username"))
    reply = tables.TemplateColumn(
        '{% if record.accepted %}<span class="badge text-bg-success">{{ value }}</span>'
        '{% else %}<span class="badge text-bg-danger">{{ value }}</span>{% endif %}',
        verbose_name=_("Result"),
    )
    calling_station_id = tables.Column(verbose_name=_("MAC"), default="—")
    called_station_id = tables.Column(verbose_name=_("NAS"), default="—")

    class Meta:
        model = AuthAttempt
        fields = (
            "authdate",
            "customer",
            "username",
            "reply",
            "calling_station_id",
            "called_station_id",
        )
        orderable = False
        attrs = {"class": "table table-sm table-hover align-middle"}
