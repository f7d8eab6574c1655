"""Network pages: pools with usage, pool and profile forms, replacement and settings."""

import pytest
from django.urls import reverse

from ispbills.core.testing.isolation import client_as
from ispbills.network.models import IpPool, NetworkSettings, PppoeProfile

pytestmark = pytest.mark.django_db


def test_the_pool_list_shows_usage_bars(cast, pool, register):
    pool("static-a", "103.7.8.0/29", "static")
    register(static_ipv4="103.7.8.1")

    page = client_as(cast.alice).get(reverse("network:ippool_list"))

    assert page.status_code == 200
    assert "1 assigned · 0 online · 5 free" in page.content.decode()


def test_the_pool_detail_lists_the_customers_holding_its_addresses(cast, pool, register):
    static = pool("static-a", "103.7.8.0/26", "static", exclusions="103.7.8.1-103.7.8.3")
    register(username="office", static_ipv4="103.7.8.9")
    register(username="elsewhere")

    page = client_as(cast.alice).get(static.get_absolute_url())
    text = page.content.decode()

    assert "office · " in text
    assert "elsewhere" not in text
    assert "103.7.8.4-103.7.8.62" in text  # the RouterOS ranges
    assert "<code>103.7.8.4</code>" in text  # the next free address


def test_a_pool_is_created_from_the_form_with_exclusions_per_line(cast):
    response = client_as(cast.alice).post(
        reverse("network:ippool_add"),
        {
            "operator": cast.acme_root.pk,
            "name": "static-a",
            "cidr": "103.7.8.0/26",
            "purpose": "static",
            "exclusions": "103.7.8.1\n103.7.8.10-103.7.8.12",
        },
    )

    assert response.status_code == 302
    assert IpPool.objects.get().exclusions == ["103.7.8.1", "103.7.8.10-103.7.8.12"]


def test_the_form_shows_the_overlap_on_the_cidr_field(cast, pool):
    pool("dyn-a", "100.64.0.0/20")

    response = client_as(cast.alice).post(
        reverse("network:ippool_add"),
        {
            "operator": cast.acme_root.pk,
            "name": "dyn-b",
            "cidr": "100.64.0.0/24",
            "purpose": "dynamic",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["cidr"] == ["Overlaps dyn-a."]
    assert IpPool.objects.count() == 1


def test_replacing_a_pool_from_its_page(cast, pool, home):
    old = pool("dyn-a", "100.64.0.0/20")
    new = pool("dyn-b", "100.65.0.0/20")
    client = client_as(cast.alice)
    client.post(
        reverse("network:pppoeprofile_add"),
        {
            "operator": cast.acme_root.pk,
            "name": "home",
            "ip_mode": "dynamic",
            "ipv4_pool": old.pk,
            "packages": [home.pk],
            "is_active": "on",
        },
    )

    response = client.post(
        reverse("network:ippool_replace", args=[old.pk]), {"replacement": new.pk}
    )

    assert response.status_code == 302
    assert PppoeProfile.objects.get().ipv4_pool == new


def test_the_group_admin_turns_on_the_walled_garden(cast, pool):
    garden = pool("garden", "10.255.0.0/24", "suspended")

    response = client_as(cast.alice).post(
        reverse("network:settings"),
        {
            "suspended_action": "walled_garden",
            "suspended_pool": garden.pk,
            "address_list": "unpaid",
            "walled_garden_rate": "256k/256k",
        },
    )

    assert response.status_code == 302
    settings = NetworkSettings.objects.get(tenant=cast.acme)
    assert (settings.suspended_action, settings.address_list) == ("walled_garden", "unpaid")


def test_a_reseller_may_not_open_the_isp_settings(cast):
    assert client_as(cast.bob).get(reverse("network:settings")).status_code == 403


def test_noc_staff_may_pick_any_owner_of_their_subtree_without_operators_view(cast):
    for url in (reverse("network:ippool_add"), reverse("network:pppoeprofile_add")):
        page = client_as(cast.nina).get(url).content.decode()

        assert page.count(">Acme North<") == 1, url
        assert ">Globex East<" not in page
