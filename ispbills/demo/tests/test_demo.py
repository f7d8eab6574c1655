"""The demo ISP: every role logs in and sees only its menu; real ISPs are never mixed in."""

from typing import Any

import pytest
from django.core.management import CommandError, call_command

from ispbills.accounting.models import JournalEntry, TransferRequest
from ispbills.billing.models import Bill
from ispbills.cards.models import Card
from ispbills.core.testing.isolation import client_as
from ispbills.customers.models import Customer
from ispbills.demo.seed import DEMO_CUSTOMERS, DEMO_LOGINS, seed_demo
from ispbills.payments.models import Payment
from ispbills.radius.models import Nas, RadAcct, RadCheck, SessionHistory, UsageDaily
from ispbills.radius.provisioning import drift
from ispbills.tenancy import services
from ispbills.tenancy.models import Operator, Tenant, User

pytestmark = pytest.mark.smoke


def test_demo_seeds_an_isp_with_staff_of_every_role(db: Any) -> None:
    logins = seed_demo(password="Demo-pass-2026")

    assert [login.username for login in logins] == [
        "admin",
        "reseller",
        "subreseller",
        "manager",
        "noc",
        "distributor",
        "accountant",
        "superadmin",
    ]
    tenant = Tenant.objects.get()
    assert (tenant.is_demo, tenant.timezone, tenant.currency) == (True, "Asia/Dhaka", "BDT")
    assert User.objects.get(username="reseller").membership.operator.name == "Mirpur Link"
    assert seed_demo(password="other") == DEMO_LOGINS  # a second run adds nothing
    assert User.objects.count() == 8
    payments = Payment.objects.filter(tenant=tenant)
    assert payments.count() > 50
    cash = payments.filter(method="cash")
    assert {payment.collector.username for payment in cash} == {"manager"}
    # The demo distributor's cards: two batches, two redeemed through the pipeline.
    cards = Card.objects.filter(tenant=tenant)
    assert set(cards.values_list("distributor__username", flat=True)) == {"distributor"}
    assert cards.filter(state="used").count() == payments.filter(method="card").count() == 2
    assert payments.filter(to_advance__gt=0).exists()
    assert Bill.objects.filter(tenant=tenant, status="partially_paid").exists()
    # Resellers paid their parents and were charged for their customers' bills.
    pending = TransferRequest.objects.filter(tenant=tenant, status="pending")
    assert sorted(pending.values_list("kind", flat=True)) == ["funds", "handover"]
    charged = JournalEntry.objects.filter(tenant=tenant, source_type="billing.charge")
    assert charged.exists()
    assert Operator.objects.filter(tenant=tenant, parent__isnull=False, balance__lt=60000).exists()


@pytest.mark.parametrize(
    ("username", "sees", "does_not_see"),
    [
        ("admin", ["/operators/", "/users/", "/audit/"], ["/isps/"]),
        ("reseller", ["/operators/", "/users/"], ["/isps/"]),
        ("noc", ["/jobs/"], ["/operators/", "/audit/"]),
        ("distributor", ["/cards/dashboard/", "/jobs/"], ["/operators/", "/audit/"]),
        ("accountant", ["/operators/", "/audit/"], ["/users/"]),
        ("superadmin", ["/isps/", "/operators/"], []),
    ],
)
def test_each_demo_role_logs_in_and_sees_only_its_menu(
    db: Any, client: Any, username: str, sees: list[str], does_not_see: list[str]
) -> None:
    seed_demo(password="Demo-pass-2026")

    response = client.post("/login/", {"username": username, "password": "Demo-pass-2026"})
    page = client.get("/").content.decode()

    assert response.status_code == 302
    assert all(f'href="{url}"' in page for url in sees)
    assert not any(f'href="{url}"' in page for url in does_not_see)


def test_reseller_sees_only_its_own_operators(db: Any) -> None:
    seed_demo(password="Demo-pass-2026")

    page = client_as(User.objects.get(username="reseller")).get("/operators/").content.decode()

    assert "Pallabi Point" in page
    assert "Uttara Broadband" not in page


def test_demo_customers_are_seen_by_role(db: Any) -> None:
    seed_demo(password="Demo-pass-2026")
    manager = User.objects.get(username="manager")
    reseller = User.objects.get(username="reseller")

    assigned = Customer.objects.restrict(manager)
    reseller_sees = Customer.objects.restrict(reseller).values_list("operator__name", flat=True)

    assert Customer.objects.count() == DEMO_CUSTOMERS == 300
    assert 0 < assigned.count() == Customer.objects.filter(manager=manager).count() < 100
    assert set(reseller_sees) == {"Mirpur Link", "Pallabi Point"}


def test_demo_refuses_a_database_with_real_isps(db: Any) -> None:
    services.create_tenant(actor=None, name="Real ISP")

    with pytest.raises(CommandError, match="real ISPs"):
        call_command("demo", password="Demo-pass-2026")

    assert list(Tenant.objects.values_list("name", flat=True)) == ["Real ISP"]


def test_demo_customers_get_their_radius_rows(db: Any) -> None:
    seed_demo(password="Demo-pass-2026")

    active = Customer.objects.filter(status="active").first()
    assert active is not None
    assert RadCheck.objects.filter(username=active.username).exists()
    assert not drift()


def test_demo_has_routers_live_sessions_and_a_month_of_usage(db: Any) -> None:
    seed_demo(password="Demo-pass-2026")

    assert sorted(Nas.objects.values_list("nasname", flat=True)) == ["10.10.0.1", "10.20.0.1"]
    online = RadAcct.objects.filter(stop_time__isnull=True)
    assert online.count() > DEMO_CUSTOMERS // 3
    assert SessionHistory.objects.count() > DEMO_CUSTOMERS * 10
    days = UsageDaily.objects.values("day").distinct().count()
    assert days >= 29
    assert not RadAcct.objects.exclude(stop_time__isnull=True).filter(counted_at__isnull=True)


def test_the_demo_network_puts_suspended_customers_in_the_walled_garden(db: Any) -> None:
    from ispbills.network.addresses import usage_of
    from ispbills.network.models import IpPool
    from ispbills.radius.models import RadGroupReply, RadUserGroup

    seed_demo(password="Demo-pass-2026")
    tenant = Tenant.objects.get()
    suspended = Customer.objects.filter(status="suspended", package__isnull=False).first()
    static = IpPool.objects.get(name="static-public")

    assert suspended is not None
    assert list(
        RadUserGroup.objects.filter(username=suspended.username).values_list("groupname", flat=True)
    ) == [f"susp-{tenant.pk}"]
    assert RadGroupReply.objects.filter(attribute="Framed-Pool", value="pppoe-dhaka").exists()
    assert (
        usage_of(static).assigned
        == Customer.objects.filter(static_ipv4__isnull=False).exclude(status="deleted").count()
    )


def test_demo_customers_have_this_periods_bills(db: Any) -> None:
    from ispbills.billing.models import Bill, BillingRun

    seed_demo(password="Demo-pass-2026")

    run = BillingRun.objects.get()
    assert run.status == "succeeded"
    assert Bill.objects.count() == run.summary["billed"] > DEMO_CUSTOMERS // 2


def test_the_demo_bills_vs_payments_chart_is_computed(db: Any) -> None:
    from django.db.models import Sum

    from ispbills.reports.models import BillsPaymentsDay

    seed_demo(password="Demo-pass-2026")

    snapshot = BillsPaymentsDay.objects.aggregate(billed=Sum("billed"), paid=Sum("paid"))
    assert snapshot["paid"] == Payment.objects.aggregate(paid=Sum("amount"))["paid"] > 0
    assert snapshot["billed"] == Bill.objects.aggregate(billed=Sum("total"))["billed"]
