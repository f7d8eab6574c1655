"""Panel tables for customers and zones."""

from typing import Any

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from ispbills.customers.models import Customer, CustomField, Zone


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
