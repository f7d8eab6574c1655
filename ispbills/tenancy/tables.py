"""Panel tables for operators, staff users, login attempts and ISPs."""

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from ispbills.tenancy.models import LoginAttempt, Operator, Tenant, User

TIME = "{% load ispbills %}{{ value|tenant_time }}"
MONEY = "{% load ispbills %}{{ value|money }}"


class OperatorTable(tables.Table):
    name = tables.Column(linkify=True, verbose_name=_("Name"))
    parent = tables.Column(verbose_name=_("Under"))
    credit_limit = tables.TemplateColumn(MONEY, verbose_name=_("Credit limit"))
    balance = tables.TemplateColumn(MONEY, verbose_name=_("Balance"))
    is_active = tables.BooleanColumn(verbose_name=_("Active"))

    class Meta:
        model = Operator
        fields = ("name", "kind", "parent", "account_type", "credit_limit", "balance", "is_active")

    def __init__(self, *args: object, show_money: bool = True, **kwargs: object) -> None:
        exclude = () if show_money else ("credit_limit", "balance")
        super().__init__(*args, exclude=exclude, **kwargs)


class UserTable(tables.Table):
    username = tables.Column(linkify=True, verbose_name=_("Username"))
    full_name = tables.Column(accessor="get_full_name", verbose_name=_("Name"), orderable=False)
    role = tables.Column(
        accessor="membership__get_role_display", verbose_name=_("Role"), order_by="membership__role"
    )
    operator = tables.Column(
        accessor="membership__operator",
        verbose_name=_("Operator"),
        order_by="membership__operator__name",
    )
    last_login = tables.TemplateColumn(TIME, verbose_name=_("Last login"))

    class Meta:
        model = User
        fields = ("username", "full_name", "mobile", "role", "operator", "is_active", "last_login")


class LoginAttemptTable(tables.Table):
    at = tables.TemplateColumn(
        "{% load ispbills %}{{ value|tenant_time:'Y-m-d H:i:s' }}", verbose_name=_("When")
    )

    class Meta:
        model = LoginAttempt
        fields = ("at", "username", "success", "reason", "ip", "user_agent")


class TenantTable(tables.Table):
    created_at = tables.TemplateColumn(TIME, verbose_name=_("Created"))

    class Meta:
        model = Tenant
        fields = ("name", "slug", "timezone", "currency", "is_active", "created_at")
