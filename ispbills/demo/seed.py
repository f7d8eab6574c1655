"""The demo ISP: a Dhaka broadband operator with a reseller tree and staff of every role."""

import secrets
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from ispbills.billing.services import run_billing
from ispbills.core.errors import DomainError
from ispbills.customers.models import Customer
from ispbills.demo.accounting import seed_accounting
from ispbills.demo.cards import seed_cards
from ispbills.demo.customers import seed_catalog, seed_customers
from ispbills.demo.expenses import seed_expenses
from ispbills.demo.network import seed_network
from ispbills.demo.payments import seed_funds, seed_gateways, seed_handover, seed_payments
from ispbills.radius import provisioning
from ispbills.reports.services import refresh_bills_vs_payments
from ispbills.tenancy import services
from ispbills.tenancy.models import Operator, Tenant
from ispbills.tenancy.roles import Role

DEMO_SLUG = "dhaka-fibre-net"
DEMO_CUSTOMERS = 300


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    where: str


class DemoRefusedError(DomainError):
    """The database holds real ISPs; the demo never mixes with them."""

    code = "demo_refused"


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def _refuse_real_isps() -> None:
    if Tenant.objects.filter(is_demo=False).exists():
        raise DemoRefusedError(
            "This database holds real ISPs; the demo is only seeded into an empty or demo database."
        )


def demo_tenant() -> Tenant | None:
    return Tenant.objects.filter(slug=DEMO_SLUG).first()


@transaction.atomic
def seed_demo(*, password: str, customers: int = DEMO_CUSTOMERS) -> list[DemoLogin]:
    """Create the demo ISP (once) with its catalog and customers; returns its logins.

    Refuses next to real tenants.
    """
    _refuse_real_isps()
    if demo_tenant() is not None:
        return DEMO_LOGINS
    tenant = services.create_tenant(
        actor=None,
        name="Dhaka Fibre Net",
        slug=DEMO_SLUG,
        timezone="Asia/Dhaka",
        currency="BDT",
        is_demo=True,
    )
    root = services.root_operator(tenant)
    mirpur = services.create_operator(
        actor=None,
        parent=root,
        name="Mirpur Link",
        account_type=Operator.AccountType.CREDIT,
        credit_limit="50000",
        mobile="01711-000111",
        address="Section 10, Mirpur, Dhaka",
    )
    services.create_operator(
        actor=None,
        parent=root,
        name="Uttara Broadband",
        account_type=Operator.AccountType.DEBIT,
        mobile="01811000222",
        address="Sector 7, Uttara, Dhaka",
    )
    pallabi = services.create_operator(
        actor=None,
        parent=mirpur,
        name="Pallabi Point",
        account_type=Operator.AccountType.DEBIT,
        mobile="+8801911000333",
        address="Pallabi, Mirpur 12, Dhaka",
    )
    services.create_operator(
        actor=None,
        parent=root,
        name="Dhanmondi Net",
        account_type=Operator.AccountType.CREDIT,
        credit_limit="20000",
    )
    where = {"root": root, "mirpur": mirpur, "pallabi": pallabi}
    for username, role, place, first, last, mobile in STAFF:
        services.create_staff_user(
            actor=None,
            operator=where[place],
            username=username,
            password=password,
            role=role,
            first_name=first,
            last_name=last,
            mobile=mobile,
            email=f"{username}@demo.ispbills.local",
        )
    services.create_superadmin(username="superadmin", password=password)
    seed_catalog(tenant)
    seed_network(tenant)
    seed_customers(tenant, customers)
    provision_demo(tenant)
    seed_accounting(tenant)
    seed_funds(tenant)
    run_billing(tenant_id=tenant.pk)  # this period's bills, advances applied
    seed_payments(tenant)
    seed_handover(tenant)
    seed_gateways(tenant)
    seed_cards(tenant)
    seed_expenses(tenant)
    refresh_bills_vs_payments()  # the chart shows the seeded month before the hourly job runs
    return DEMO_LOGINS


def provision_demo(tenant: Tenant, *, after: int = 0) -> None:
    """Seeded customers get their RADIUS rows, as every registered customer does."""
    provisioning.provision_packages(provisioning.package_ids(tenant_id=tenant.pk))
    for ids in provisioning.customer_batches(tenant_id=tenant.pk, after=after):
        provisioning.provision_customers(ids)


def add_demo_customers(count: int) -> int:
    """Add ``count`` customers to the existing demo ISP, usernames continuing; returns count."""
    _refuse_real_isps()
    tenant = demo_tenant()
    if tenant is None:
        raise DomainError("There is no demo ISP yet; run the demo command first.")
    last = Customer.objects.filter(tenant=tenant).aggregate(last=Max("pk"))["last"] or 0
    added = seed_customers(tenant, count)
    provision_demo(tenant, after=last)
    return added


STAFF = [
    ("admin", Role.GROUP_ADMIN, "root", "রাশেদ", "করিম", "01711000001"),
    ("reseller", Role.OPERATOR_ADMIN, "mirpur", "Tanvir", "Hossain", "01711000002"),
    ("subreseller", Role.OPERATOR_ADMIN, "pallabi", "নুসরাত", "জাহান", "01711000003"),
    ("manager", Role.MANAGER, "root", "Farhana", "Akter", "01711000004"),
    ("noc", Role.NOC, "root", "Imran", "Kabir", "01711000005"),
    ("distributor", Role.CARD_DISTRIBUTOR, "root", "সাকিব", "হাসান", "01711000006"),
    ("accountant", Role.ACCOUNTANT, "root", "Shirin", "Sultana", "01711000007"),
]

PLACE_NAMES = {"root": "Dhaka Fibre Net", "mirpur": "Mirpur Link", "pallabi": "Pallabi Point"}

DEMO_LOGINS = [
    DemoLogin(username, str(role.label), PLACE_NAMES[place])
    for username, role, place, *_rest in STAFF
] + [DemoLogin("superadmin", "Platform super admin", "all ISPs")]
