"""Isolation-kit makers for the expense models, and small valid files to attach."""

import io
from typing import Any

from ispbills.core.testing.isolation import maker
from ispbills.expenses import services
from ispbills.expenses.models import Expense, ExpenseAttachment, ExpenseCategory
from ispbills.tenancy.models import Operator

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def image(kind: str = "PNG") -> bytes:
    """A small real PNG or JPEG."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format=kind)
    return buffer.getvalue()


@maker(ExpenseCategory)
def make_category(operator: Operator, marker: str) -> ExpenseCategory:
    return services.save_category(actor=None, operator=operator, name=marker)


@maker(Expense)
def make_expense(operator: Operator, marker: str, **values: Any) -> Expense:
    # Listed with its payee, which is the marker.
    category = make_category(operator, f"cat-{marker}")
    return services.record_expense(
        actor=None,
        operator=operator,
        category=category,
        amount=values.pop("amount", "100"),
        paid_from=values.pop("paid_from", services.PaidFrom.CASH),
        payee=marker,
        **values,
    )


@maker(ExpenseAttachment)
def make_attachment(operator: Operator, marker: str) -> ExpenseAttachment:
    expense = make_expense(
        operator, f"x-{marker}", attachments=[services.Upload(f"{marker}.png", image())]
    )
    return ExpenseAttachment.objects.get(expense=expense)
