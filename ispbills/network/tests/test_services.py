"""Pools, profiles and settings services: overlap, exclusions, usage, next free, replacement."""

from typing import Any

import pytest

from ispbills.core.errors import ConflictError, DomainError, NotAllowedError
from ispbills.core.models import AuditEvent
from ispbills.network import services
from ispbills.network.addresses import next_free, usage_of
from ispbills.network.models import IpPool, NetworkSettings, PppoeProfile

pytestmark = pytest.mark.django_db


def test_a_pool_takes_its_family_from_the_cidr_and_keeps_merged_exclusions(cast, pool):
    made = pool(
        "static-a",
        "103.7.8.0/26",
        "static",
        exclusions="103.7.8.1, 103.7.8.10-103.7.8.12 103.7.8.11-103.7.8.14 103.7.8.32/30",
    )

    assert made.family == 4
    assert made.exclusions == ["103.7.8.1", "103.7.8.10-103.7.8.14", "103.7.8.32-103.7.8.35"]
    assert made.routeros_ranges() == (
        "103.7.8.2-103.7.8.9,103.7.8.15-103.7.8.31,103.7.8.36-103.7.8.62"
    )
    assert AuditEvent.objects.filter(verb="ippool.created", object_id=str(made.pk)).count() == 1


def test_refuses_a_pool_overlapping_another_pool_of_the_isp(cast, pool):
    pool("dyn-a", "100.64.0.0/20")

    with pytest.raises(ConflictError) as refused:
        pool("dyn-b", "100.64.8.0/24")

    assert refused.value.fields == {"cidr": ["Overlaps dyn-a."]}
    assert not IpPool.objects.filter(name="dyn-b").exists()


def test_another_isp_may_use_the_same_private_range(cast, pool):
    pool("dyn-a", "100.64.0.0/20")

    other = pool("dyn-a", "100.64.0.0/20", operator=cast.globex_root)

    assert other.tenant_id == cast.globex.pk


@pytest.mark.parametrize(
    ("cidr", "exclusions", "field", "message"),
    [
        ("100.64.0.5/24", "", "cidr", "Did you mean 100.64.0.0/24?"),
        ("not-a-net", "", "cidr", "Not a CIDR."),
        ("100.64.0.0/24", "100.64.1.5", "exclusions", "100.64.1.5 is outside 100.64.0.0/24."),
        (
            "100.64.0.0/24",
            "100.64.0.9-100.64.0.3",
            "exclusions",
            "100.64.0.9-100.64.0.3 ends before it starts.",
        ),
        ("2001:db8::/48", "2001:db8::1", "exclusions", "IPv4 pools only."),
    ],
)
def test_refuses_bad_cidrs_and_exclusions(cast, pool, cidr, exclusions, field, message):
    with pytest.raises(DomainError) as refused:
        pool("bad", cidr, exclusions=exclusions)

    assert refused.value.fields == {field: [message]}
    assert not IpPool.objects.exists()


def test_usage_counts_excluded_assigned_online_and_free(cast, pool, register, online):
    static = pool("static-a", "103.7.8.0/26", "static", exclusions="103.7.8.1-103.7.8.4")
    register(username="s1", service_model="pppoe", static_ipv4="103.7.8.5")
    register(username="s2", static_ipv4="103.7.8.6")
    deleted = register(username="s3", static_ipv4="103.7.8.7")
    from ispbills.customers import services as customers

    customers.delete_customer(actor=None, customer=deleted)
    online("s1", "103.7.8.5")  # a static customer online counts once
    online("dyn1", "103.7.8.9")  # not a customer of Acme: another ISP's session
    online("s3", "103.7.8.30")  # a deleted customer claims no session (it cannot log in)
    register(username="d1")
    online("d1", "103.7.8.20")

    usage = usage_of(static)

    assert (usage.size, usage.reserved, usage.excluded) == (64, 2, 4)
    assert (usage.assigned, usage.online, usage.in_use) == (2, 2, 3)
    assert (usage.usable, usage.free) == (58, 55)


def test_an_ipv6_prefix_pool_counts_delegated_prefixes(cast, pool, register, online):
    prefixes = pool("v6-pd", "2001:db8:100::/48", prefix_length=56)
    register(username="v6user")
    online("v6user", "100.64.0.9", v6_prefix="2001:db8:100:200::/56")

    usage = usage_of(prefixes)

    assert prefixes.family == 6
    assert (usage.size, usage.reserved, usage.excluded, usage.online, usage.free) == (
        256,
        0,
        0,
        1,
        255,
    )


def test_next_free_skips_network_exclusions_assigned_and_online_addresses(
    cast, pool, register, online
):
    static = pool("static-a", "103.7.8.0/29", "static", exclusions="103.7.8.2")
    register(username="a", static_ipv4="103.7.8.1")
    register(username="b", static_ipv4="103.7.8.3")
    register(username="c")
    online("c", "103.7.8.4")

    assert next_free(static) == "103.7.8.5"
    register(username="d", static_ipv4="103.7.8.5")
    register(username="e", static_ipv4="103.7.8.6")
    assert next_free(static) is None  # .7 is the broadcast address


def test_a_pool_holding_static_customers_cannot_shrink_away_from_them(cast, pool, register):
    static = pool("static-a", "103.7.8.0/26", "static")
    register(static_ipv4="103.7.8.40")

    with pytest.raises(ConflictError) as refused:
        services.save_pool(actor=None, operator=cast.acme_root, pool=static, cidr="103.7.8.0/27")

    assert "103.7.8.40" in refused.value.message
    assert IpPool.objects.get(pk=static.pk).cidr == "103.7.8.0/26"


def profile_with(cast, home, v4, **fields: Any) -> PppoeProfile:
    return services.save_profile(
        actor=None,
        operator=cast.acme_root,
        name=fields.pop("name", "home-profile"),
        ipv4_pool=v4,
        packages=fields.pop("packages", [home]),
        **fields,
    )


def test_a_package_belongs_to_at_most_one_profile(cast, pool, home):
    v4 = pool("dyn-a", "100.64.0.0/20")
    profile_with(cast, home, v4)

    with pytest.raises(ConflictError) as refused:
        profile_with(cast, home, v4, name="second")

    assert refused.value.fields == {"packages": ["Home 20 already uses profile home-profile."]}
    assert PppoeProfile.objects.count() == 1


def test_a_dynamic_profile_needs_a_dynamic_ipv4_pool_and_a_valid_rate(cast, pool, home):
    static = pool("static-a", "103.7.8.0/26", "static")

    with pytest.raises(DomainError) as wrong_pool:
        profile_with(cast, home, static)
    with pytest.raises(DomainError) as wrong_rate:
        profile_with(cast, home, pool("dyn-a", "100.64.0.0/20"), rate_limit="fast")

    assert wrong_pool.value.fields == {"ipv4_pool": ["Another kind of pool."]}
    assert list(wrong_rate.value.fields) == ["rate_limit"]
    assert not PppoeProfile.objects.exists()


def test_replacing_a_pool_moves_every_profile_in_one_audited_action(cast, pool, home):
    old = pool("dyn-a", "100.64.0.0/20")
    new = pool("dyn-b", "100.65.0.0/20")
    first = profile_with(cast, home, old)
    second = services.save_profile(
        actor=None, operator=cast.north, name="north", ipv4_pool=old, packages=[]
    )

    moved = services.replace_pool(actor=cast.alice, old=old, new=new)

    assert moved == 2
    assert set(PppoeProfile.objects.values_list("ipv4_pool__name", flat=True)) == {"dyn-b"}
    assert {first.pk, second.pk} == set(PppoeProfile.objects.values_list("pk", flat=True))
    event = AuditEvent.objects.get(verb="ippool.replaced")
    assert event.changes["profiles"] == [None, 2]


def test_refuses_to_replace_a_pool_with_another_kind(cast, pool, home):
    old = pool("dyn-a", "100.64.0.0/20")
    static = pool("static-a", "103.7.8.0/26", "static")
    profile_with(cast, home, old)

    with pytest.raises(DomainError):
        services.replace_pool(actor=cast.alice, old=old, new=static)

    assert PppoeProfile.objects.get().ipv4_pool_id == old.pk
    assert not AuditEvent.objects.filter(verb="ippool.replaced").exists()


def test_the_walled_garden_needs_a_suspended_pool(cast):
    with pytest.raises(DomainError) as refused:
        services.save_settings(actor=cast.alice, tenant=cast.acme, suspended_action="walled_garden")

    assert refused.value.fields == {"suspended_pool": ["Required for the walled garden."]}
    assert not NetworkSettings.objects.exists()


def test_only_group_admins_change_the_network_settings(cast, pool):
    garden = pool("garden", "10.255.0.0/24", "suspended")

    with pytest.raises(NotAllowedError):
        services.save_settings(
            actor=cast.bob,
            tenant=cast.acme,
            suspended_action="walled_garden",
            suspended_pool=garden,
        )
    saved = services.save_settings(
        actor=cast.alice, tenant=cast.acme, suspended_action="walled_garden", suspended_pool=garden
    )

    assert saved.walled_garden
    assert saved.operator == cast.acme_root
    assert NetworkSettings.objects.count() == 1
