"""Demo catalog and set-based customer seeding: valid rows, a realistic mix, few statements."""

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ispbills.catalog.models import BillingProfile, Package, VatProfile
from ispbills.core.mac import normalize_mac
from ispbills.core.models import AuditEvent
from ispbills.core.phone import normalize_mobile
from ispbills.customers.filtersets import search_customers
from ispbills.customers.models import Customer, CustomField, Zone
from ispbills.demo.customers import (
    DEMO_SERVICE_PASSWORD,
    seed_catalog,
    seed_customers,
    seeded_mobile,
    seeded_username,
)
from ispbills.demo.seed import DEMO_SLUG, seed_demo
from ispbills.tenancy.models import Tenant

Status = Customer.Status


def schema_of_customers() -> list[tuple[str, str]]:
    """Every index and constraint definition of the customer table, and the statistics
    targets of the index columns."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'customers_customer'"
            " UNION ALL SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'customers_customer'::regclass"
            " UNION ALL SELECT a.attrelid::regclass::text, 'statistics ' || a.attstattarget"
            " FROM pg_attribute a JOIN pg_index i ON i.indexrelid = a.attrelid"
            " WHERE i.indrelid = 'customers_customer'::regclass AND a.attstattarget > 0"
            " ORDER BY 1, 2"
        )
        return [(name, definition) for name, definition in cursor.fetchall()]


def test_demo_catalog_is_a_dhaka_isp_catalog(db: Any) -> None:
    seed_demo(password="Demo-pass-2026", customers=1)
    tenant = Tenant.objects.get(slug=DEMO_SLUG)

    prices = dict(Package.objects.filter(tenant=tenant, parent=None).values_list("name", "price"))
    variant = Package.objects.get(tenant=tenant, parent__isnull=False)

    assert prices == {
        "Home 10 Mbps": Decimal("500.00"),
        "Home 20 Mbps": Decimal("800.00"),
        "Home 40 Mbps": Decimal("1200.00"),
        "Business 100 Mbps": Decimal("5000.00"),
        "Hotspot Day Pass 5 Mbps": Decimal("20.00"),
        "Static IP 30 Mbps": Decimal("2500.00"),
    }
    assert (variant.name, variant.price, variant.operator.name, variant.parent.name) == (
        "Mirpur Home 20 Mbps",
        Decimal("750.00"),
        "Mirpur Link",
        "Home 20 Mbps",
    )
    assert variant.download_kbps == 20_000  # speeds follow the master
    assert sorted(BillingProfile.objects.values_list("name", "term", "due_day", "grace_days")) == [
        ("Daily", "daily", None, 0),
        ("Monthly due 10th (3 grace days)", "monthly", 10, 3),
        ("Monthly due 1st", "monthly", 1, 0),
    ]
    assert list(VatProfile.objects.values_list("name", "rate")) == [("VAT 5%", Decimal("5.00"))]
    dhaka = Zone.objects.get(tenant=tenant, parent=None)
    assert (dhaka.name, dhaka.kind) == ("Dhaka", Zone.Kind.DISTRICT)
    assert sorted(dhaka.children.values_list("name", flat=True)) == [
        "Badda",
        "Dhanmondi",
        "Gulshan",
        "Mirpur",
        "Mohammadpur",
        "Uttara",
    ]
    mirpur_areas = Zone.objects.filter(parent__name="Mirpur").values_list("name", flat=True)
    assert {"Mirpur-10", "Mirpur-12"} <= set(mirpur_areas)
    assert list(CustomField.objects.values_list("key", "kind")) == [
        ("connection_type", "choice"),
        ("connection_date", "date"),
    ]
    assert AuditEvent.objects.filter(verb="package.created").count() == 7


def test_seeding_the_catalog_twice_adds_nothing(cast: Any) -> None:
    first = seed_catalog(cast.acme)
    counts = [model.objects.count() for model in (Package, BillingProfile, Zone, CustomField)]
    audit_rows = AuditEvent.objects.count()

    again = seed_catalog(cast.acme)

    assert [m.objects.count() for m in (Package, BillingProfile, Zone, CustomField)] == counts
    assert AuditEvent.objects.count() == audit_rows
    assert again.packages == first.packages
    assert "Mirpur Home 20 Mbps" not in first.packages  # Acme has no reseller "Mirpur Link"


def test_seeds_customers_in_a_few_statements_with_one_audit_row(cast: Any) -> None:
    seed_catalog(cast.acme)

    with CaptureQueriesContext(connection) as queries:
        added = seed_customers(cast.acme, 5_000)

    assert added == 5_000
    assert Customer.objects.filter(tenant=cast.acme).count() == 5_000
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) <= 16  # a fixed handful whatever the count, never one per row
    assert sum("INSERT INTO customers_customer" in sql for sql in statements) == 1
    seeded = AuditEvent.objects.get(verb="customers.seeded")
    assert (seeded.tenant_id, seeded.operator_id) == (cast.acme.pk, cast.acme_root.pk)
    assert seeded.changes == {"count": 5000, "first": "c0000001", "last": "c0005000"}
    assert not AuditEvent.objects.filter(verb="customer.created").exists()
    assert not Customer.objects.filter(tenant=cast.globex).exists()


def test_seeded_customers_keep_every_rule_of_the_customer_model(cast: Any) -> None:
    seed_customers(cast.acme, 3_000)  # the catalog comes first, on its own
    customers = list(
        Customer.objects.filter(tenant=cast.acme).select_related(
            "operator", "package__operator", "zone", "billing_profile"
        )
    )

    assert len({c.username.lower() for c in customers}) == 3_000
    assert len({c.mobile for c in customers}) == 3_000
    live = [c for c in customers if c.status != Status.DELETED]
    macs = [c.mac_address for c in live if c.mac_address]
    assert len(macs) == len(set(macs)) > 1_000
    ips = [c.static_ipv4 for c in live if c.static_ipv4]
    assert len(ips) == len(set(ips)) > 0
    for customer in customers:
        assert normalize_mobile(customer.mobile) == customer.mobile
        assert not customer.mac_address or normalize_mac(customer.mac_address) == (
            customer.mac_address
        )
        assert customer.package is not None
        assert customer.package.service_model == customer.service_model
        assert customer.operator.path.startswith(customer.package.operator.path)
        assert customer.zone is not None
        assert customer.zone.kind == Zone.Kind.AREA
        if customer.service_model == Customer.ServiceModel.STATIC:
            assert customer.static_ipv4
        else:
            assert customer.service_password == DEMO_SERVICE_PASSWORD
        assert customer.billing_profile is not None
        daily = customer.package.billing_type == Package.BillingType.DAILY
        assert (customer.billing_profile.term == BillingProfile.Term.DAILY) == daily
        assert customer.created_at <= customer.status_changed_at
        assert customer.created_at < customer.expires_at
        assert not customer.is_trial or customer.trial_ends_at is not None
        assert set(customer.custom_fields) == {"connection_type", "connection_date"}
    for customer in customers[::50]:
        customer.full_clean()


def test_seeded_customers_mix_statuses_scripts_and_operators(cast: Any) -> None:
    seed_customers(cast.acme, 5_000)
    customers = Customer.objects.filter(tenant=cast.acme)

    statuses = Counter(customers.values_list("status", flat=True))
    bangla = sum(1 for name in customers.values_list("name", flat=True) if name[0] >= "\u0980")
    operators = set(customers.values_list("operator__name", flat=True))

    assert statuses[Status.ACTIVE] > 3_750
    assert all(statuses[status] >= 50 for status in Status.values)
    assert 1_250 < bangla < 2_250
    assert operators == {"Acme", "Acme North", "North Point", "Acme South"}
    deleted = customers.filter(status=Status.DELETED)
    assert not deleted.filter(deleted_at=None).exists()
    assert not deleted.filter(status_before_delete="").exists()
    assert customers.filter(manager=cast.carol).count() > 300  # carol manages from the root


def test_a_second_seeding_continues_the_usernames(cast: Any) -> None:
    seed_customers(cast.acme, 10)

    seed_customers(cast.acme, 5)

    rows = list(Customer.objects.order_by("pk").values_list("username", "mobile"))
    assert rows == [(seeded_username(n), seeded_mobile(n)) for n in range(1, 16)]
    assert rows[0][0] == "c0000001"


def test_a_bulk_load_in_batches_rebuilds_the_same_indexes_and_keys(cast: Any) -> None:
    seed_customers(cast.acme, 100)
    before = schema_of_customers()

    seed_customers(cast.acme, 2_000, rebuild_indexes=True, batch=700)  # in three statements

    assert ("customer_name_trgm", "statistics 1000") in before
    assert schema_of_customers() == before
    usernames = set(Customer.objects.values_list("username", flat=True))
    assert usernames == {seeded_username(n) for n in range(1, 2_101)}
    found = search_customers(Customer.objects.filter(tenant=cast.acme), "c000209")
    assert sorted(found.values_list("username", flat=True)) == [f"c000209{n}" for n in range(10)]


def test_search_finds_seeded_customers_by_mobile_and_bangla_name(cast: Any) -> None:
    seed_customers(cast.acme, 500)
    customer = Customer.objects.filter(name__regex="^[\u0980-\u09ff]").first()
    assert customer is not None

    by_mobile = search_customers(Customer.objects.all(), "0" + customer.mobile[4:])
    by_name = search_customers(Customer.objects.all(), customer.name.split()[1])

    assert list(by_mobile) == [customer]
    assert customer in by_name


def test_demo_command_adds_customers_to_an_existing_demo(
    db: Any, capsys: Any, settings: Any, tmp_path: Any
) -> None:
    settings.DATA_DIR = tmp_path  # where an embedded install keeps the logins file
    call_command("demo", password="Demo-pass-2026", customers=40)
    tenant = Tenant.objects.get(slug=DEMO_SLUG)

    call_command("demo", customers=25)

    assert Customer.objects.filter(tenant=tenant).count() == 65
    assert Customer.objects.filter(username="c0000065").exists()
    assert "Added 25 customers to the demo ISP" in capsys.readouterr().out


@pytest.mark.parametrize("count", ["0", "-3", "many"])
def test_demo_command_refuses_a_customer_count_that_is_not_positive(db: Any, count: str) -> None:
    with pytest.raises(CommandError, match="--customers"):
        call_command("demo", "--customers", count)

    assert not Tenant.objects.exists()
