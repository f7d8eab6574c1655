"""The demo's expenses: categories with subcategories, two months of spending, one voided."""

from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum

from ispbills.accounting.models import Account
from ispbills.core.testing.isolation import client_as
from ispbills.demo.expenses import SPENDING
from ispbills.demo.seed import seed_demo
from ispbills.expenses.models import Expense, ExpenseAttachment, ExpenseCategory
from ispbills.tenancy.models import Tenant, User

pytestmark = pytest.mark.smoke


def test_the_demo_books_its_spending_and_the_accountant_sees_it(db: Any) -> None:
    seed_demo(password="Demo-pass-2026", customers=20)
    tenant = Tenant.objects.get()

    expenses = Expense.objects.filter(tenant=tenant)
    recorded = expenses.filter(status=Expense.Status.RECORDED)
    posted = Account.objects.filter(tenant=tenant, kind=Account.Kind.EXPENSES)
    assert expenses.count() == len(SPENDING)
    assert expenses.filter(status=Expense.Status.VOID).count() == 1
    assert ExpenseCategory.objects.filter(tenant=tenant, parent__isnull=False).count() == 3
    assert ExpenseAttachment.objects.filter(tenant=tenant).count() == 2
    assert (
        posted.aggregate(total=Sum("balance"))["total"]
        == recorded.aggregate(total=Sum("amount"))["total"]
    )
    assert recorded.aggregate(total=Sum("amount"))["total"] == Decimal("1010026.15")
    page = client_as(User.objects.get(username="accountant")).get("/expenses/")
    assert "Summit Communications" in page.content.decode()
    assert client_as(User.objects.get(username="noc")).get("/expenses/").status_code == 403
