"""API v1 for packages (masters and operator variants), billing profiles and VAT profiles."""

from decimal import Decimal
from typing import Any

from ispbills.catalog import services
from ispbills.catalog.models import BillingProfile, Package, VatProfile
from ispbills.core.models import AuditEvent
from ispbills.tenancy import services as tenancy_services
from ispbills.tenancy.models import Operator

PACKAGES = "/api/v1/packages/"
BILLING_PROFILES = "/api/v1/billing-profiles/"
VAT_PROFILES = "/api/v1/vat-profiles/"


def master(operator: Operator, name: str = "Home 10", **fields: Any) -> Package:
    return services.save_package(
        actor=None,
        operator=operator,
        name=name,
        download_kbps=fields.pop("download_kbps", 10000),
        upload_kbps=fields.pop("upload_kbps", 5000),
        price=fields.pop("price", "800"),
        **fields,
    )


def variant(operator: Operator, parent: Package, name: str, price: str = "900") -> Package:
    return services.save_package(
        actor=None, operator=operator, parent=parent, name=name, price=price
    )


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(row["name"] for row in response.json()["results"])


def audit_count() -> int:
    return AuditEvent.objects.count()


# ---- packages -----------------------------------------------------------------------------


def test_group_admin_adds_a_master_package(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).post(
        PACKAGES,
        {
            "name": "Home 20",
            "download_kbps": 20000,
            "upload_kbps": 10000,
            "price": "1200",
            "data_limit_mb": 500000,
            "fup_download_kbps": 2000,
            "fup_upload_kbps": 1000,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    created = Package.objects.get(pk=body["id"])
    assert body == {
        "id": created.pk,
        "operator": cast.acme_root.pk,
        "parent": None,
        "name": "Home 20",
        "service_model": "pppoe",
        "download_kbps": 20000,
        "upload_kbps": 10000,
        "burst_download_kbps": None,
        "burst_upload_kbps": None,
        "price": "1200.00",
        "vat_profile": None,
        "billing_type": "monthly",
        "validity_days": 30,
        "data_limit_mb": 500000,
        "fup_download_kbps": 2000,
        "fup_upload_kbps": 1000,
        "is_active": True,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert (created.tenant_id, created.price) == (cast.acme.pk, Decimal("1200.00"))
    event = AuditEvent.objects.get(verb="package.created", object_id=str(created.pk))
    assert event.actor_id == cast.alice.pk


def test_the_super_admin_names_the_owner_of_a_new_package(cast: Any, api_for: Any) -> None:
    api = api_for(cast.zed)
    payload = {"name": "Home 20", "download_kbps": 20000, "upload_kbps": 10000, "price": "5"}

    unnamed = api.post(PACKAGES, payload, format="json")
    named = api.post(PACKAGES, {**payload, "operator": cast.globex_root.pk}, format="json")

    assert unnamed.status_code == 400
    assert unnamed.json()["error"]["fields"] == {"operator": ["Required."]}
    assert named.status_code == 201
    assert Package.objects.get().tenant_id == cast.globex.pk


def test_a_package_needs_its_speeds(cast: Any, api_for: Any) -> None:
    api = api_for(cast.alice)
    before = audit_count()

    response = api.post(PACKAGES, {"name": "Slow", "price": "100"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "Give the package its speeds.",
        "fields": {"download_kbps": ["Required."]},
    }
    assert Package.objects.count() == 0
    assert audit_count() == before


def test_refuses_a_negative_price(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).post(
        PACKAGES,
        {"name": "Odd", "download_kbps": 1000, "upload_kbps": 1000, "price": "-5"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"price": ["Must be zero or more."]}
    assert Package.objects.count() == 0


def test_refuses_a_package_name_the_operator_already_uses(cast: Any, api_for: Any) -> None:
    master(cast.acme_root, "Home 10")

    response = api_for(cast.alice).post(
        PACKAGES,
        {"name": "HOME 10", "download_kbps": 1000, "upload_kbps": 1000, "price": "5"},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict",
        "message": "HOME 10 already exists for this operator.",
        "fields": {"name": ["Already used."]},
    }
    assert Package.objects.count() == 1


def test_reseller_makes_a_variant_that_follows_the_master(cast: Any, api_for: Any) -> None:
    home = master(cast.acme_root, "Home 10", data_limit_mb=100000)

    response = api_for(cast.bob).post(
        PACKAGES, {"parent": home.pk, "name": "North Home 10", "price": "950"}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["operator"], body["parent"], body["name"], body["price"]) == (
        cast.north.pk,
        home.pk,
        "North Home 10",
        "950.00",
    )
    assert (body["download_kbps"], body["upload_kbps"], body["data_limit_mb"]) == (
        10000,
        5000,
        100000,
    )


def test_a_variant_cannot_set_its_own_speeds(cast: Any, api_for: Any) -> None:
    home = master(cast.acme_root)
    mine = variant(cast.north, home, "North Home 10")
    api = api_for(cast.bob)
    before = audit_count()

    response = api.patch(f"{PACKAGES}{mine.pk}/", {"download_kbps": 50000}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "A variant's speeds and rules follow its master package."
    )
    assert Package.objects.get(pk=mine.pk).download_kbps == 10000
    assert audit_count() == before


def test_reseller_reprices_his_variant_with_a_full_update_as_read(cast: Any, api_for: Any) -> None:
    home = master(cast.acme_root)
    mine = variant(cast.north, home, "North Home 10")
    api = api_for(cast.bob)
    record = api.get(f"{PACKAGES}{mine.pk}/").json()
    record["price"] = "999"

    response = api.put(f"{PACKAGES}{mine.pk}/", record, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["price"] == "999.00"
    event = AuditEvent.objects.get(verb="package.updated")
    assert (event.actor_id, event.changes) == (cast.bob.pk, {"price": ["900.00", "999.00"]})


def test_variants_follow_a_change_of_their_masters_speeds(cast: Any, api_for: Any) -> None:
    home = master(cast.acme_root)
    north_home = variant(cast.north, home, "North Home 10")

    response = api_for(cast.alice).patch(
        f"{PACKAGES}{home.pk}/", {"download_kbps": 12000}, format="json"
    )

    assert response.status_code == 200
    assert Package.objects.get(pk=north_home.pk).download_kbps == 12000


def test_refuses_a_variant_of_a_variant(cast: Any, api_for: Any) -> None:
    home = master(cast.acme_root)
    north_home = variant(cast.north, home, "North Home 10")

    response = api_for(cast.sam).post(
        PACKAGES, {"parent": north_home.pk, "name": "Point Home", "price": "990"}, "json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"parent": ["Choose a master package."]}
    assert not Package.objects.filter(name="Point Home").exists()


def test_reseller_sees_the_isps_masters_and_his_variants_not_a_siblings(
    cast: Any, api_for: Any
) -> None:
    home = master(cast.acme_root, "Home 10")
    variant(cast.north, home, "North Home 10")
    variant(cast.south, home, "South Home 10")
    master(cast.south, "South Special")
    master(cast.globex_root, "Globex Home")

    assert names(api_for(cast.bob).get(PACKAGES)) == ["Home 10", "North Home 10"]
    assert names(api_for(cast.sue).get(PACKAGES)) == [
        "Home 10",
        "South Home 10",
        "South Special",
    ]
    assert names(api_for(cast.alice).get(PACKAGES)) == [
        "Home 10",
        "North Home 10",
        "South Home 10",
        "South Special",
    ]


def test_reseller_cannot_read_a_sibling_resellers_variant(cast: Any, api_for: Any) -> None:
    south_home = variant(cast.south, master(cast.acme_root), "South Home 10")

    response = api_for(cast.bob).get(f"{PACKAGES}{south_home.pk}/")

    assert response.status_code == 404


def test_reseller_cannot_change_the_isps_master_package(cast: Any, api_for: Any) -> None:
    home = master(cast.acme_root, "Home 10")
    api = api_for(cast.bob)
    before = audit_count()

    response = api.patch(f"{PACKAGES}{home.pk}/", {"price": "1", "name": "Mine now"}, format="json")

    assert response.status_code in {403, 404}
    unchanged = Package.objects.get(pk=home.pk)
    assert (unchanged.name, unchanged.price) == ("Home 10", Decimal("800.00"))
    assert audit_count() == before


def test_filters_master_packages_only(cast: Any, api_for: Any) -> None:
    home = master(cast.acme_root, "Home 10")
    variant(cast.north, home, "North Home 10")

    response = api_for(cast.alice).get(PACKAGES, {"masters_only": "true"})

    assert names(response) == ["Home 10"]


def test_a_package_is_retired_not_deleted(cast: Any, api_for: Any) -> None:
    home = master(cast.acme_root)
    api = api_for(cast.alice)

    deleted = api.delete(f"{PACKAGES}{home.pk}/")
    retired = api.patch(f"{PACKAGES}{home.pk}/", {"is_active": False}, format="json")

    assert deleted.status_code == 405
    assert retired.status_code == 200
    assert retired.json()["is_active"] is False
    assert Package.objects.get(pk=home.pk).is_active is False
    assert names(api.get(PACKAGES, {"is_active": "false"})) == ["Home 10"]


def test_noc_user_sees_packages_without_prices(cast: Any, api_for: Any) -> None:
    master(cast.acme_root)

    response = api_for(cast.nina).get(PACKAGES)

    assert response.status_code == 200
    row = response.json()["results"][0]
    assert row["name"] == "Home 10"
    assert "price" not in row


def test_without_money_view_a_price_cannot_be_set(cast: Any, api_for: Any) -> None:
    tenancy_services.set_special_permission(
        actor=None, user=cast.bob, permission="money.view", granted=False
    )
    api = api_for(cast.fresh(cast.bob))

    response = api.post(
        PACKAGES,
        {"name": "North 5", "download_kbps": 5000, "upload_kbps": 5000, "price": "10"},
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["error"]["fields"] == {"price": ["Needs the money permission."]}
    assert Package.objects.count() == 0


def test_noc_user_cannot_add_a_package(cast: Any, api_for: Any) -> None:
    response = api_for(cast.nina).post(
        PACKAGES,
        {"name": "Sneaky", "download_kbps": 1000, "upload_kbps": 1000, "price": "1"},
        format="json",
    )

    assert response.status_code == 403
    assert Package.objects.count() == 0


def test_a_package_cannot_use_a_sibling_resellers_vat_profile(cast: Any, api_for: Any) -> None:
    south_vat = services.save_vat_profile(actor=None, operator=cast.south, name="S", rate="5")

    response = api_for(cast.bob).post(
        PACKAGES,
        {
            "name": "North 5",
            "download_kbps": 5000,
            "upload_kbps": 5000,
            "price": "10",
            "vat_profile": south_vat.pk,
        },
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["vat_profile"]
    assert Package.objects.count() == 0


# ---- billing profiles ---------------------------------------------------------------------


def test_adds_a_monthly_billing_profile(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).post(
        BILLING_PROFILES,
        {
            "name": "Due on the 10th",
            "due_day": 10,
            "grace_days": 3,
            "discount_kind": "percent",
            "discount_value": "100",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert {key: body[key] for key in body if key not in {"id", "created_at", "updated_at"}} == {
        "operator": cast.acme_root.pk,
        "name": "Due on the 10th",
        "term": "monthly",
        "due_day": 10,
        "auto_bill": True,
        "grace_days": 3,
        "min_validity_days": 0,
        "discount_kind": "percent",
        "discount_value": "100.00",
        "is_active": True,
    }


def test_monthly_billing_needs_a_due_day(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).post(
        BILLING_PROFILES, {"name": "Monthly", "term": "monthly"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "Monthly billing needs a due day (1 to 31).",
        "fields": {"due_day": ["Required for monthly billing."]},
    }
    assert BillingProfile.objects.count() == 0


def test_daily_billing_needs_no_due_day(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).post(
        BILLING_PROFILES, {"name": "Daily", "term": "daily"}, format="json"
    )

    assert response.status_code == 201
    assert (response.json()["term"], response.json()["due_day"]) == ("daily", None)


def test_refuses_a_due_day_past_the_31st(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).post(
        BILLING_PROFILES, {"name": "Odd", "due_day": 32}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "due_day": ["Ensure this value is less than or equal to 31."]
    }
    assert BillingProfile.objects.count() == 0


def test_a_percent_discount_is_at_most_100(cast: Any, api_for: Any) -> None:
    api = api_for(cast.alice)

    percent = api.post(
        BILLING_PROFILES,
        {"name": "Too kind", "due_day": 1, "discount_kind": "percent", "discount_value": "100.01"},
        format="json",
    )
    fixed = api.post(
        BILLING_PROFILES,
        {"name": "Fixed 150", "due_day": 1, "discount_kind": "fixed", "discount_value": "150"},
        format="json",
    )

    assert percent.status_code == 400
    assert percent.json()["error"]["fields"] == {"discount_value": ["At most 100."]}
    assert fixed.status_code == 201
    assert list(BillingProfile.objects.values_list("name", flat=True)) == ["Fixed 150"]


def test_switching_a_profile_to_percent_checks_the_amount_it_has(cast: Any, api_for: Any) -> None:
    profile = services.save_billing_profile(
        actor=None,
        operator=cast.acme_root,
        name="Fixed 150",
        due_day=1,
        discount_kind="fixed",
        discount_value="150",
    )
    api = api_for(cast.alice)
    before = audit_count()

    response = api.patch(
        f"{BILLING_PROFILES}{profile.pk}/", {"discount_kind": "percent"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"discount_value": ["At most 100."]}
    assert BillingProfile.objects.get(pk=profile.pk).discount_kind == "fixed"
    assert audit_count() == before


def test_switching_a_daily_profile_to_monthly_needs_a_due_day(cast: Any, api_for: Any) -> None:
    profile = services.save_billing_profile(
        actor=None, operator=cast.acme_root, name="Daily", term="daily"
    )

    response = api_for(cast.alice).patch(
        f"{BILLING_PROFILES}{profile.pk}/", {"term": "monthly"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"due_day": ["Required for monthly billing."]}
    assert BillingProfile.objects.get(pk=profile.pk).term == "daily"


def test_reseller_cannot_change_the_isps_billing_profile(cast: Any, api_for: Any) -> None:
    profile = services.save_billing_profile(
        actor=None, operator=cast.acme_root, name="Due 10", due_day=10
    )
    api = api_for(cast.bob)

    listed = api.get(BILLING_PROFILES)
    changed = api.patch(f"{BILLING_PROFILES}{profile.pk}/", {"due_day": 20}, format="json")

    assert names(listed) == ["Due 10"]
    assert changed.status_code == 404
    assert BillingProfile.objects.get(pk=profile.pk).due_day == 10


# ---- VAT profiles -------------------------------------------------------------------------


def test_adds_a_vat_profile(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).post(
        VAT_PROFILES, {"name": "VAT 15", "rate": "15", "inclusive": True}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["rate"], body["inclusive"], body["operator"]) == (
        "VAT 15",
        "15.00",
        True,
        cast.acme_root.pk,
    )
    assert VatProfile.objects.get(pk=body["id"]).rate == Decimal("15.00")


def test_a_vat_rate_is_between_0_and_100(cast: Any, api_for: Any) -> None:
    api = api_for(cast.alice)

    above = api.post(VAT_PROFILES, {"name": "Above", "rate": "100.01"}, format="json")
    below = api.post(VAT_PROFILES, {"name": "Below", "rate": "-1"}, format="json")
    top = api.post(VAT_PROFILES, {"name": "Top", "rate": "100"}, format="json")
    zero = api.post(VAT_PROFILES, {"name": "Zero", "rate": "0"}, format="json")

    assert above.status_code == 400
    assert above.json()["error"]["fields"] == {"rate": ["At most 100."]}
    assert below.status_code == 400
    assert below.json()["error"]["fields"] == {"rate": ["Must be zero or more."]}
    assert (top.status_code, zero.status_code) == (201, 201)
    assert sorted(VatProfile.objects.values_list("name", flat=True)) == ["Top", "Zero"]


def test_a_vat_profile_is_retired_not_deleted(cast: Any, api_for: Any) -> None:
    vat = services.save_vat_profile(actor=None, operator=cast.acme_root, name="VAT 5", rate="5")
    api = api_for(cast.alice)

    deleted = api.delete(f"{VAT_PROFILES}{vat.pk}/")
    retired = api.patch(f"{VAT_PROFILES}{vat.pk}/", {"is_active": False}, format="json")

    assert deleted.status_code == 405
    assert retired.status_code == 200
    assert VatProfile.objects.get(pk=vat.pk).is_active is False
    event = AuditEvent.objects.get(verb="vat_profile.updated")
    assert event.changes == {"is_active": [True, False]}


# ---- schema -------------------------------------------------------------------------------


def test_schema_documents_the_catalog_endpoints(db: Any) -> None:
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/schema/", {"format": "json"}).json()

    for path in (PACKAGES, BILLING_PROFILES, VAT_PROFILES):
        assert {"get", "post"} <= set(schema["paths"][path]), path
        detail = schema["paths"][f"{path}{{id}}/"]
        assert {"get", "put", "patch"} <= set(detail)
        assert "delete" not in detail
    create = schema["paths"][PACKAGES]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"] == (
        "#/components/schemas/PackageCreateRequest"
    )
    assert create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"] == (
        "#/components/schemas/Package"
    )
