"""Customer and catalog pages: search, keyset pages, money hiding, forms, lifecycle, bulk."""

from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from ispbills.core import jobs
from ispbills.core.models import JobRun
from ispbills.core.testing.isolation import client_as
from ispbills.customers import services
from ispbills.customers.models import Customer


def page(user: Any, url: str, **params: Any) -> str:
    response = client_as(user).get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("rah", {"rahim"}),
        ("রহি", {"rahim"}),
        ("Ka", {"karim"}),
        ("Mi", set()),
        ("KARIM", {"karim"}),
        ("01711", {"rahim"}),
        ("+8801811", {"karim"}),
        ("০১৮১১", {"karim"}),
        ("aa:bb:cc:00:00:07", {"karim"}),
        ("10.9.9.9", {"rahim"}),
    ],
)
def test_one_box_searches_usernames_names_mobiles_macs_and_ips(
    cast: Any, new_customer: Any, term: str, expected: set[str]
) -> None:
    new_customer(username="rahim", name="রহিম Uddin", mobile="01711555000", static_ipv4="10.9.9.9")
    new_customer(
        username="karim", name="Karim Mia", mobile="01811555000", mac_address="AA:BB:CC:00:00:07"
    )

    html = page(cast.bob, "/customers/", q=term)

    found = {name for name in ("rahim", "karim") if f">{name}</a>" in html}
    assert found == expected


def test_the_list_pages_by_keyset_and_hides_deleted_customers(
    cast: Any, new_customer: Any, settings: Any
) -> None:
    made = [new_customer(username=f"k{i:02d}") for i in range(53)]
    services.delete_customer(actor=None, customer=made[0])

    first = page(cast.bob, "/customers/")
    assert first.count('name="ids"') == 50
    cursor = made[3].pk  # newest first: k52 … k03 on page one
    assert f"after={cursor}" in first
    second = page(cast.bob, "/customers/", after=cursor)
    assert second.count('name="ids"') == 2  # k02, k01; k00 is deleted
    assert ">k00</a>" not in second
    archive = page(cast.bob, "/customers/deleted/")
    assert ">k00</a>" in archive
    assert archive.count('name="ids"') == 1


def test_noc_sees_customers_but_no_money(cast: Any, new_customer: Any) -> None:
    customer = new_customer(operator=cast.acme_root, custom_price="999")

    listing = page(cast.nina, "/customers/")
    detail = page(cast.nina, f"/customers/{customer.pk}/")

    assert customer.username in listing
    assert "Advance" not in listing
    assert "৳" not in listing
    assert "৳" not in detail
    assert "999" not in detail
    assert "৳ 999.00" in page(cast.alice, f"/customers/{customer.pk}/")


def test_create_form_registers_with_custom_fields(cast: Any, shop: Any) -> None:
    services.save_custom_field(
        actor=None, operator=cast.acme_root, key="house_no", label="House no", required=True
    )
    form = {
        "operator": cast.north.pk,
        "username": "new.user",
        "service_password": "pw-1",
        "name": "New User",
        "mobile": "01711 999888",
        "service_model": "pppoe",
        "package": shop.home10.pk,
        "zone": shop.mirpur10.pk,
    }

    refused = client_as(cast.bob).post("/customers/add/", form)
    assert refused.status_code == 200
    assert "This field is required." in refused.content.decode()
    assert Customer.objects.count() == 0

    created = client_as(cast.bob).post("/customers/add/", {**form, "cf_house_no": "12/B"})

    customer = Customer.objects.get()
    assert created.status_code == 302
    assert created["Location"] == f"/customers/{customer.pk}/"
    assert (customer.mobile, customer.custom_fields) == ("+8801711999888", {"house_no": "12/B"})


def test_form_choices_offer_the_catalog_of_the_reseller_and_above(cast: Any, shop: Any) -> None:
    html = page(cast.bob, "/customers/add/")

    assert "North Home 10" in html
    assert "Home 20" in html
    assert "South Home 10" not in html


def test_lifecycle_buttons_and_change_log(cast: Any, new_customer: Any) -> None:
    customer = new_customer()
    client = client_as(cast.bob)

    response = client.post(f"/customers/{customer.pk}/status/suspended/", {"reason": "unpaid"})
    refused = client.post(f"/customers/{customer.pk}/status/fup/", {"reason": "x"})

    assert response.status_code == 302
    assert refused.status_code == 200
    assert "cannot become" in refused.content.decode()
    assert Customer.objects.get(pk=customer.pk).status == "suspended"
    detail = page(cast.bob, f"/customers/{customer.pk}/")
    assert 'data-testid="to-active"' in detail
    assert 'data-testid="to-fup"' not in detail
    assert "customer.suspended" in detail
    assert "unpaid" in detail


def test_bulk_update_from_the_list_uses_ticked_or_filtered_customers(
    cast: Any, shop: Any, new_customer: Any
) -> None:
    a, b, c = new_customer(), new_customer(), new_customer(operator=cast.south)
    client = client_as(cast.bob)

    client.post(
        "/customers/bulk/", {"ids": [a.pk, c.pk], "scope": "selected", "zone": shop.mirpur.pk}
    )
    assert Customer.objects.get(pk=a.pk).zone_id == shop.mirpur.pk
    assert Customer.objects.get(pk=c.pk).zone_id is None  # outside bob's reach

    client.post(
        "/customers/bulk/",
        {"scope": "filtered", "f_q": b.username, "billing_profile": shop.monthly.pk},
    )
    assert list(Customer.objects.filter(billing_profile=shop.monthly)) == [b]


@pytest.mark.django_db(transaction=True)
def test_export_with_chosen_columns_as_xlsx_hides_money_from_noc(
    cast: Any, new_customer: Any, settings: Any, tmp_path: Path
) -> None:
    settings.EXPORT_ROOT = tmp_path
    from ispbills.tenancy.services import set_special_permission

    set_special_permission(actor=None, user=cast.nina, permission="customers.export", granted=True)
    new_customer(operator=cast.acme_root, username="exp1", custom_price="700")
    client = client_as(cast.nina)

    form = page(cast.nina, "/customers/")
    assert 'value="username"' in form
    assert 'value="custom_price"' not in form
    tampered = client.post(
        "/customers/export/",
        {"format": "xlsx", "columns": ["username", "custom_price"], "f_q": "exp"},
    )
    assert tampered.status_code == 302
    assert JobRun.objects.count() == 0

    response = client.post(
        "/customers/export/", {"format": "xlsx", "columns": ["username", "mobile"], "f_q": "exp"}
    )
    run = JobRun.objects.get()
    jobs.run_worker(queues=["exports"], wait=False)

    assert response.status_code == 302
    run.refresh_from_db()
    assert (run.status, run.result["file"]) == ("succeeded", f"export-{run.pk}.xlsx")
    sheet = load_workbook(tmp_path / run.result["file"]).active
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        ["username", "mobile"],
        ["exp1", "+8801711000100"],
    ]


@pytest.mark.django_db(transaction=True)
def test_replacing_a_package_moves_only_customers_in_reach(
    cast: Any, shop: Any, new_customer: Any
) -> None:
    mine = [new_customer(package=shop.home10) for _ in range(3)]
    theirs = new_customer(operator=cast.south, package=shop.home10)

    response = client_as(cast.bob).post(
        f"/customers/replace/package/{shop.home10.pk}/", {"replacement": shop.home20.pk}
    )
    jobs.run_worker(queues=["bulk"], wait=False)

    run = JobRun.objects.get(kind="replace")
    assert response.status_code == 302
    assert (run.status, run.result) == ("succeeded", {"replaced": 3, "skipped": 0})
    assert set(Customer.objects.filter(package=shop.home20)) == set(mine)
    assert Customer.objects.get(pk=theirs.pk).package_id == shop.home10.pk


def test_reseller_sees_root_packages_and_its_variants_but_cannot_change_the_masters(
    cast: Any, shop: Any
) -> None:
    html = page(cast.bob, "/packages/")

    assert "North Home 10" in html
    assert "Home 20" in html
    assert "South Home 10" not in html
    assert client_as(cast.bob).get(f"/packages/{shop.home10.pk}/edit/").status_code == 404
    assert client_as(cast.bob).get(f"/packages/{shop.north_home10.pk}/edit/").status_code == 200


def test_a_sorted_list_pages_by_number_and_renders_only_one_page(
    cast: Any, new_customer: Any
) -> None:
    for i in range(55):
        new_customer(username=f"s{i:02d}")

    first = page(cast.bob, "/customers/", sort="username")
    second = page(cast.bob, "/customers/", sort="username", page=2)

    assert first.count('name="ids"') == 50
    assert first.index(">s00</a>") < first.index(">s49</a>")
    assert ">s50</a>" not in first
    assert second.count('name="ids"') == 5


def test_the_bulk_form_loads_on_demand_with_choices_in_reach(cast: Any, shop: Any) -> None:
    listing = page(cast.bob, "/customers/")
    form = page(cast.bob, "/customers/bulk/")

    assert "Monthly 10th" not in listing  # the bulk choice lists are not on the list page
    assert 'id="bulk-form"' in form
    assert "North Home 10" in form
    assert "South Home 10" not in form
    assert "Monthly 10th" in form
    assert client_as(cast.nina).get("/customers/bulk/").status_code == 403


def test_an_unknown_status_in_the_url_is_a_404_not_an_error(cast: Any, new_customer: Any) -> None:
    customer = new_customer()

    response = client_as(cast.bob).post(f"/customers/{customer.pk}/status/frozen/", {})

    assert response.status_code == 404
    assert Customer.objects.get(pk=customer.pk).status == "active"


def test_a_manager_registers_a_customer_and_keeps_it(cast: Any, shop: Any) -> None:
    form = {
        "operator": cast.acme_root.pk,
        "username": "by.carol",
        "service_password": "pw-1",
        "name": "Carol's customer",
        "mobile": "01711 999777",
        "service_model": "pppoe",
        "package": shop.home10.pk,
    }

    response = client_as(cast.carol).post("/customers/add/", form)

    customer = Customer.objects.get()
    assert response.status_code == 302
    assert customer.manager_id == cast.carol.pk
    assert list(Customer.objects.restrict(cast.carol)) == [customer]
