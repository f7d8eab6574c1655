"""A customer's static address must fit the ISP's pools: service, panel and API."""

import pytest
from django.urls import reverse

from ispbills.core.testing.isolation import client_as
from ispbills.customers import services as customers
from ispbills.customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def pools(pool):
    return {
        "dynamic": pool("dyn-a", "100.64.0.0/20"),
        "static": pool("static-a", "103.7.8.0/26", "static", exclusions="103.7.8.10-103.7.8.12"),
        "garden": pool("garden", "10.255.0.0/24", "suspended"),
    }


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("100.64.3.7", "Inside the dynamic pool dyn-a, whose addresses the router hands out."),
        (
            "10.255.0.9",
            "Inside the suspended (walled garden) pool garden, whose addresses the router "
            "hands out.",
        ),
        ("103.7.8.0", "The network or broadcast address of pool static-a cannot be assigned."),
        ("103.7.8.63", "The network or broadcast address of pool static-a cannot be assigned."),
        ("103.7.8.11", "Excluded from pool static-a."),
        ("198.51.100.4", "Not inside any of the static IP pools."),
    ],
)
def test_refuses_a_static_address_outside_the_static_pools(pools, register, address, message):
    with pytest.raises(customers.CustomerInvalidError) as refused:
        register(username="office", static_ipv4=address)

    assert refused.value.fields == {"static_ipv4": [message]}
    assert not Customer.objects.filter(username="office").exists()


def test_accepts_a_free_address_of_a_static_pool(pools, register):
    customer = register(username="office", static_ipv4="103.7.8.20")

    assert customer.static_ipv4 == "103.7.8.20"


def test_without_static_pools_any_address_outside_the_dynamic_ones_is_accepted(pool, register):
    pool("dyn-a", "100.64.0.0/20")

    customer = register(username="office", static_ipv4="198.51.100.4")
    with pytest.raises(customers.CustomerInvalidError):
        register(username="office2", static_ipv4="100.64.0.20")

    assert customer.static_ipv4 == "198.51.100.4"


def test_an_ipv6_address_inside_a_prefix_pool_is_refused(pool, register):
    pool("v6-pd", "2001:db8:100::/48", prefix_length=56)

    with pytest.raises(customers.CustomerInvalidError) as refused:
        register(username="office", static_ipv6="2001:db8:100::5")

    assert list(refused.value.fields) == ["static_ipv6"]


def test_the_panel_assigns_the_next_free_address_of_the_chosen_pool(cast, pools, register, home):
    register(username="first", static_ipv4="103.7.8.1")
    form = {
        "operator": cast.north.pk,
        "username": "office",
        "service_password": "s3cret-pw",
        "name": "Office",
        "mobile": "01711009999",
        "service_model": "pppoe",
        "package": home.pk,
        "static_pool": pools["static"].pk,
    }

    response = client_as(cast.alice).post(reverse("customers:customer_add"), form)

    assert response.status_code == 302
    assert Customer.objects.get(username="office").static_ipv4 == "103.7.8.2"


def test_the_panel_shows_the_pool_rule_on_the_address_field(cast, pools, home):
    form = {
        "operator": cast.north.pk,
        "username": "office",
        "service_password": "s3cret-pw",
        "name": "Office",
        "mobile": "01711009999",
        "service_model": "pppoe",
        "package": home.pk,
        "static_ipv4": "100.64.0.9",
    }

    response = client_as(cast.alice).post(reverse("customers:customer_add"), form)

    assert response.status_code == 200
    assert response.context["form"].errors["static_ipv4"] == [
        "Inside the dynamic pool dyn-a, whose addresses the router hands out."
    ]
    assert not Customer.objects.filter(username="office").exists()


def test_the_api_reports_the_pool_rule_as_a_field_error(cast, pools, home, api_for):
    response = api_for(cast.alice).post(
        "/api/v1/customers/",
        {
            "username": "office",
            "service_password": "s3cret-pw",
            "name": "Office",
            "mobile": "01711009999",
            "package": home.pk,
            "static_ipv4": "103.7.8.11",
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"static_ipv4": ["Excluded from pool static-a."]}
    assert not Customer.objects.filter(username="office").exists()
