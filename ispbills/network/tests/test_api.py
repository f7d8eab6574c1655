"""API v1 for IP pools (with usage) and PPPoE profiles."""

import pytest

from ispbills.core.models import AuditEvent
from ispbills.network.models import IpPool, PppoeProfile
from ispbills.radius.models import RadGroupReply

pytestmark = pytest.mark.django_db

POOLS = "/api/v1/ip-pools/"
PROFILES = "/api/v1/pppoe-profiles/"


def test_group_admin_creates_a_static_pool_and_reads_its_usage(cast, api_for, register):
    api = api_for(cast.alice)

    created = api.post(
        POOLS,
        {
            "name": "static-a",
            "cidr": "103.7.8.0/29",
            "purpose": "static",
            "exclusions": ["103.7.8.1"],
        },
        format="json",
    )
    register(static_ipv4="103.7.8.2")
    read = api.get(f"{POOLS}{created.json()['id']}/")

    assert created.status_code == 201, created.content
    assert created.json()["family"] == 4
    assert created.json()["operator"] == cast.acme_root.pk
    assert read.json()["usage"] == {
        "size": 8,
        "reserved": 2,
        "excluded": 1,
        "usable": 5,
        "assigned": 1,
        "online": 0,
        "free": 4,
    }
    assert read.json()["next_free"] == "103.7.8.3"
    listed = api.get(POOLS).json()["results"]
    assert [(row["name"], row["next_free"]) for row in listed] == [("static-a", None)]


def test_an_overlapping_pool_is_refused_with_a_field_error(cast, api_for, pool):
    pool("dyn-a", "100.64.0.0/20")
    api = api_for(cast.alice)
    audit_before = AuditEvent.objects.count()

    response = api.post(POOLS, {"name": "dyn-b", "cidr": "100.64.4.0/22"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {"cidr": ["Overlaps dyn-a."]}
    assert IpPool.objects.count() == 1
    assert AuditEvent.objects.count() == audit_before


def test_a_reseller_sees_pools_above_it_but_cannot_change_them(cast, api_for, pool):
    root_pool = pool("dyn-a", "100.64.0.0/20")
    pool("south-pool", "100.65.0.0/24", operator=cast.south)
    api = api_for(cast.bob)

    listed = api.get(POOLS)
    change = api.patch(f"{POOLS}{root_pool.pk}/", {"name": "mine"}, format="json")

    assert sorted(row["name"] for row in listed.json()["results"]) == ["dyn-a"]
    assert change.status_code == 404
    assert IpPool.objects.get(pk=root_pool.pk).name == "dyn-a"


def test_a_profile_links_packages_and_their_groups_get_the_pool(cast, api_for, pool, home):
    dynamic = pool("dyn-a", "100.64.0.0/20")

    response = api_for(cast.alice).post(
        PROFILES,
        {"name": "home", "ipv4_pool": dynamic.pk, "packages": [home.pk], "rate_limit": "8M/8M"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["packages"] == [home.pk]
    assert list(
        RadGroupReply.objects.filter(groupname=f"pkg-{home.pk}")
        .order_by("id")
        .values_list("attribute", "value")
    ) == [
        ("Mikrotik-Rate-Limit", "8M/8M"),
        ("Acct-Interim-Interval", "300"),
        ("Framed-Pool", "dyn-a"),
    ]


def test_a_profile_with_a_bad_rate_limit_is_refused(cast, api_for, pool):
    dynamic = pool("dyn-a", "100.64.0.0/20")

    response = api_for(cast.alice).post(
        PROFILES, {"name": "home", "ipv4_pool": dynamic.pk, "rate_limit": "lots"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["rate_limit"]
    assert not PppoeProfile.objects.exists()


def test_a_manager_has_no_network_endpoints(cast, api_for):
    assert api_for(cast.carol).get(POOLS).status_code == 403
    assert api_for(cast.carol).get(PROFILES).status_code == 403


def test_a_pool_in_use_is_not_deleted_and_an_unused_one_is(cast, api_for, pool, home):
    used = pool("dyn-a", "100.64.0.0/20")
    spare = pool("dyn-b", "100.65.0.0/20")
    api = api_for(cast.alice)
    api.post(PROFILES, {"name": "home", "ipv4_pool": used.pk}, format="json")

    refused = api.delete(f"{POOLS}{used.pk}/")
    deleted = api.delete(f"{POOLS}{spare.pk}/")

    assert refused.status_code == 409
    assert "home" in refused.json()["error"]["message"]
    assert deleted.status_code == 204
    assert list(IpPool.objects.values_list("name", flat=True)) == ["dyn-a"]


def test_deleting_a_profile_takes_its_pool_out_of_the_package_groups(cast, api_for, pool, home):
    dynamic = pool("dyn-a", "100.64.0.0/20")
    api = api_for(cast.alice)
    created = api.post(
        PROFILES, {"name": "home", "ipv4_pool": dynamic.pk, "packages": [home.pk]}, format="json"
    )

    response = api.delete(f"{PROFILES}{created.json()['id']}/")

    assert response.status_code == 204
    assert not PppoeProfile.objects.exists()
    assert not RadGroupReply.objects.filter(attribute="Framed-Pool").exists()
    assert AuditEvent.objects.filter(verb="pppoeprofile.deleted").count() == 1


def test_an_operator_admin_may_not_delete_network_rows(cast, api_for, pool):
    own = pool("north-pool", "100.66.0.0/24", operator=cast.north)

    response = api_for(cast.bob).delete(f"{POOLS}{own.pk}/")

    assert response.status_code == 403
    assert IpPool.objects.filter(pk=own.pk).exists()
