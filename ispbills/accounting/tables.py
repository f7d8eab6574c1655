"""Account and journal tables."""

from typing import Any

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from ispbills.accounting.models import Account, JournalEntry, TransferRequest

MONEY = "{% load ispbills %}{{ value|money }}"
LINES = """{% load ispbills %}<table class="table table-sm table-borderless mb-0 small">
{% for line in record.lines.all %}<tr><td{% if line.credit %} class="ps-4"{% endif %}>
<a href="{{ line.account.get_absolute_url }}">{{ line.account }}</a></td>
<td class="text-end">{% if line.debit %}{{ line.debit|money }}{% endif %}</td>
<td class="text-end">{% if line.credit %}{{ line.credit|money }}{% endif %}</td></tr>
{% endfor %}</table>"""


class AccountTable(tables.Table):
    name = tables.Column(
        accessor="pk",
        linkify=("accounting:account_detail", [tables.A("pk")]),
        verbose_name=_("Account"),
        order_by=("kind", "name"),
    )
    kind = tables.Column(verbose_name=_("Kind"))
    operator = tables.Column(verbose_name=_("Operator"))
    user = tables.Column(verbose_name=_("Held by"), default="—")
    balance = tables.TemplateColumn(MONEY, verbose_name=_("Balance"))

    class Meta:
        model = Account
        fields = ("name", "kind", "operator", "user", "balance")

    def __init__(self, *args: Any, show_money: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, exclude=() if show_money else ("balance",), **kwargs)

    def render_name(self, record: Account) -> str:
        return str(record)


class JournalEntryTable(tables.Table):
    number = tables.Column(
        accessor="display_number", linkify=True, verbose_name=_("Entry"), order_by="id"
    )
    at = tables.TemplateColumn("{% load ispbills %}{{ value|tenant_time }}", verbose_name=_("When"))
    memo = tables.Column(verbose_name=_("Memo"))
    lines = tables.TemplateColumn(LINES, verbose_name=_("Lines (debit, credit)"), orderable=False)
    amount = tables.TemplateColumn(MONEY, verbose_name=_("Amount"))

    class Meta:
        model = JournalEntry
        fields = ("number", "at", "memo", "lines", "amount")

    def __init__(self, *args: Any, show_money: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, exclude=() if show_money else ("lines", "amount"), **kwargs)


class TransferRequestTable(tables.Table):
    number = tables.Column(accessor="pk", linkify=True, verbose_name=_("Request"), order_by="id")
    created_at = tables.TemplateColumn(
        "{% load ispbills %}{{ value|tenant_time }}", verbose_name=_("When")
    )
    kind = tables.Column(verbose_name=_("Kind"))
    operator = tables.Column(verbose_name=_("Operator"))
    source = tables.Column(verbose_name=_("From"), default="—")
    reference = tables.Column(verbose_name=_("Reference"))
    amount = tables.TemplateColumn(MONEY, verbose_name=_("Amount"))
    status = tables.Column(verbose_name=_("Status"))
    requested_by = tables.Column(verbose_name=_("Requested by"), default="—")

    class Meta:
        model = TransferRequest
        fields = (
            "number",
            "created_at",
            "kind",
            "operator",
            "source",
            "reference",
            "amount",
            "status",
            "requested_by",
        )

    def __init__(self, *args: Any, show_money: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, exclude=() if show_money else ("amount",), **kwargs)

    def render_number(self, record: TransferRequest) -> str:
        return str(record)
