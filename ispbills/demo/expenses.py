"""Demo expenses: the categories a Dhaka ISP books its spending under, and two months of it."""

import datetime as dt
from decimal import Decimal

from ispbills.core import clock
from ispbills.expenses.models import Expense
from ispbills.expenses.services import PaidFrom, Upload, record_expense, save_category, void_expense
from ispbills.tenancy.models import Operator, Tenant

# (name, subcategories) of the ISP's own categories, which its resellers use too.
CATEGORIES = [
    ("Salaries", []),
    ("Bandwidth (IIG/IP transit)", []),
    ("Electricity", []),
    ("Rent", []),
    ("Fibre repairs/maintenance", ["Splicing", "Cable replacement", "Poles and ducts"]),
]

# (days ago, operator, category, amount, paid from, payee, reference)
SPENDING = [
    (
        58,
        "root",
        "Bandwidth (IIG/IP transit)",
        "185000",
        PaidFrom.BANK,
        "Summit Communications",
        "IIG-0925",
    ),
    (55, "root", "Rent", "45000", PaidFrom.BANK, "Rahman Properties", "RENT-09"),
    (52, "root", "Electricity", "18250.75", PaidFrom.CASH, "DESCO", "DESCO-8812"),
    (50, "root", "Salaries", "240000", PaidFrom.BANK, "Staff payroll", "PAY-09"),
    (44, "root", "Splicing", "6500", PaidFrom.CASH, "Mirpur fibre team", "FR-101"),
    (40, "mirpur", "Cable replacement", "12800", PaidFrom.CASH, "Bashundhara Cables", "BC-332"),
    (
        28,
        "root",
        "Bandwidth (IIG/IP transit)",
        "185000",
        PaidFrom.BANK,
        "Summit Communications",
        "IIG-1025",
    ),
    (25, "root", "Rent", "45000", PaidFrom.BANK, "Rahman Properties", "RENT-10"),
    (22, "root", "Electricity", "19875.40", PaidFrom.CASH, "DESCO", "DESCO-9034"),
    (20, "root", "Salaries", "240000", PaidFrom.BANK, "Staff payroll", "PAY-10"),
    (12, "root", "Poles and ducts", "9400", PaidFrom.CASH, "City pole rental", "PL-77"),
    (6, "mirpur", "Splicing", "3200", PaidFrom.CASH, "Pallabi fibre team", "FR-118"),
    (2, "root", "Electricity", "2150", PaidFrom.CASH, "Generator fuel", "FUEL-3"),
]

INVOICE = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def seed_expenses(tenant: Tenant) -> int:
    """Create the categories and post the spending (the invoices of the transit bills
    attached, one duplicate voided); returns the expenses recorded."""
    root = Operator.objects.get(tenant=tenant, parent__isnull=True)
    where = {"root": root, "mirpur": Operator.objects.get(tenant=tenant, name="Mirpur Link")}
    categories = {}
    for name, children in CATEGORIES:
        parent = save_category(actor=None, operator=root, name=name)
        categories[name] = parent
        for child in children:
            categories[child] = save_category(actor=None, operator=root, name=child, parent=parent)
    today = clock.local_today(tenant.timezone)
    made: list[Expense] = []
    for days, place, category, amount, paid_from, payee, reference in SPENDING:
        attachments = []
        if reference.startswith("IIG"):
            attachments = [Upload(f"{reference}.pdf", INVOICE)]
        made.append(
            record_expense(
                actor=None,
                operator=where[place],
                category=categories[category],
                amount=Decimal(amount),
                spent_on=today - dt.timedelta(days=days),
                paid_from=paid_from,
                payee=payee,
                reference=reference,
                attachments=attachments,
            )
        )
    void_expense(actor=None, expense=made[-1], reason="Entered under the wrong category")
    return len(made)
