"""Catalog tables."""

from typing import Any

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from ispbills.catalog.models import BillingProfile, Package, VatProfile

MONEY = "{% load ispbills %}{{ value|money }}"


class PackageTable(tables.Table):
    name = tables.Column(linkify=True, verbose_name=_("Name"))
    speed = tables.Column(accessor="speed_label", verbose_name=_("Speed"), orderable=False)
    price = tables.TemplateColumn(MONEY, verbose_name=_("Price"))
    parent = tables.Column(verbose_name=_("Variant of"))
    operator = tables.Column(verbose_name=_("Owner"))

    class Meta:
        model = Package
        fields = (
            "name",
            "service_model",
            "speed",
            "price",
            "billing_type",
            "validity_days",
            "parent",
            "operator",
            "is_active",
        )

    def __init__(self, *args: Any, show_money: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, exclude=() if show_money else ("price",), **kwargs)


class BillingProfileTable(tables.Table):
    name = tables.Column(linkify=True, verbose_name=_("Name"))
    operator = tables.Column(verbose_name=_("Owner"))

    class Meta:
        model = BillingProfile
        fields = (
            "name",
            "term",
            "due_day",
            "grace_days",
            "auto_bill",
            "discount_kind",
            "discount_value",
            "operator",
            "is_active",
        )


class VatProfileTable(tables.Table):
    name = tables.Column(linkify=True, verbose_name=_("Name"))
    operator = tables.Column(verbose_name=_("Owner"))

    class Meta:
        model = VatProfile
        fields = ("name", "rate", "inclusive", "operator", "is_active")
