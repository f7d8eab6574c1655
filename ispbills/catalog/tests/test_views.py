"""Catalog pages: profiles and packages created and changed through their forms."""

from decimal import Decimal
from typing import Any

from ispbills.catalog.models import BillingProfile, Package, VatProfile
from ispbills.core.testing.isolation import client_as


def test_billing_profile_form_creates_then_changes_a_profile(cast: Any) -> None:
    client = client_as(cast.bob)
    form = {
        "operator": cast.north.pk,
        "name": "North monthly",
        "term": "monthly",
        "due_day": "31",
        "auto_bill": "on",
        "grace_days": "3",
        "min_validity_days": "0",
        "discount_kind": "percent",
        "discount_value": "120",
    }

    refused = client.post("/billing-profiles/add/", form)
    created = client.post("/billing-profiles/add/", {**form, "discount_value": "10"})

    assert refused.status_code == 200
    assert "At most 100." in refused.content.decode()
    profile = BillingProfile.objects.get()
    assert created["Location"] == f"/billing-profiles/{profile.pk}/"
    assert (profile.operator_id, profile.due_day, profile.discount_value) == (
        cast.north.pk,
        31,
        Decimal("10.00"),
    )

    client.post(f"/billing-profiles/{profile.pk}/edit/", {**form, "discount_value": "15"})

    profile.refresh_from_db()
    assert (profile.operator_id, profile.discount_value) == (cast.north.pk, Decimal("15.00"))


def test_vat_profile_form_refuses_a_rate_over_100_and_writes_nothing(cast: Any) -> None:
    response = client_as(cast.alice).post(
        "/vat-profiles/add/", {"operator": cast.acme_root.pk, "name": "VAT", "rate": "101"}
    )

    assert response.status_code == 200
    assert VatProfile.objects.count() == 0


def test_a_variant_form_takes_its_speeds_from_the_master(cast: Any) -> None:
    client = client_as(cast.alice)
    client.post(
        "/packages/add/",
        {
            "operator": cast.acme_root.pk,
            "name": "Home 10",
            "service_model": "pppoe",
            "download_kbps": "10000",
            "upload_kbps": "5000",
            "price": "500",
            "billing_type": "monthly",
            "validity_days": "30",
            "is_active": "on",
        },
    )
    master = Package.objects.get()

    client.post(
        "/packages/add/",
        {
            "operator": cast.north.pk,
            "parent": master.pk,
            "name": "North 10",
            "price": "450",
            "is_active": "on",
        },
    )

    variant = Package.objects.get(parent=master)
    assert (variant.download_kbps, variant.upload_kbps, variant.price) == (
        10000,
        5000,
        Decimal("450.00"),
    )
