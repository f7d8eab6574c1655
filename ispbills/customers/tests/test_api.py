"""API v1 for customers (with their lifecycle), zones and custom fields."""

from decimal import Decimal
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from ispbills.catalog import services as catalog_services
from ispbills.catalog.models import Package
from ispbills.core.models import AuditEvent
from ispbills.core.testing.cast import PASSWORD
from ispbills.customers import services
from ispbills.customers.models import Customer, CustomField, Zone
from ispbills.tenancy import services as tenancy_services
from ispbills.tenancy.models import Operator

CUSTOMERS = "/api/v1/customers/"
ZONES = "/api/v1/zones/"
CUSTOM_FIELDS = "/api/v1/custom-fields/"

READ_FIELDS = {
    "id",
    "username",
    "name",
    "mobile",
    "email",
    "national_id",
    "address",
    "house",
    "road",
    "zone",
    "service_model",
    "package",
    "billing_profile",
    "custom_price",
    "mac_address",
    "static_ipv4",
    "static_ipv6",
    "expires_at",
    "advance_balance",
    "parent",
    "manager",
    "sales_notes",
    "custom_fields",
    "is_trial",
    "trial_ends_at",
    "status",
    "status_reason",
    "status_changed_at",
    "operator",
    "created_at",
    "updated_at",
}


def url(customer: Customer, action: str = "") -> str:
    return f"{CUSTOMERS}{customer.pk}/{action + '/' if action else ''}"


def package(operator: Operator, name: str = "Home 10", **fields: Any) -> Package:
    return catalog_services.save_package(
        actor=None,
        operator=operator,
        name=name,
        download_kbps=10000,
        upload_kbps=5000,
        price="800",
        **fields,
    )


def customer(operator: Operator, username: str, mobile: str, **fields: Any) -> Customer:
    fields.setdefault("package", package(operator, f"Plan {username}"))
    return services.register_customer(
        actor=None,
        operator=operator,
        username=username,
        name=fields.pop("name", username.title()),
        mobile=mobile,
        service_password="pw-123456",
        **fields,
    )


def usernames(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["username"] for row in response.json()["results"]]


def audit_count() -> int:
    return AuditEvent.objects.count()


# ---- create -------------------------------------------------------------------------------


def test_registers_a_customer_with_normalised_mobile_and_mac(cast: Any, api_for: Any) -> None:
    home = package(cast.acme_root)

    response = api_for(cast.alice).post(
        CUSTOMERS,
        {
            "username": "rahim",
            "name": "Rahim Uddin",
            "mobile": "01711-223344",
            "mac_address": "cb-19-71-17-44-94",
            "service_password": "s3cret-pass",
            "package": home.pk,
            "custom_price": "750",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == READ_FIELDS
    created = Customer.objects.get(pk=body["id"])
    assert body["mobile"] == "+8801711223344"
    assert body["mac_address"] == "CB:19:71:17:44:94"
    assert body["custom_price"] == "750.00"
    assert body["advance_balance"] == "0.00"
    assert (body["operator"], body["package"], body["status"]) == (
        cast.acme_root.pk,
        home.pk,
        "active",
    )
    assert (created.tenant_id, created.operator_id) == (cast.acme.pk, cast.acme_root.pk)
    assert created.service_password == "s3cret-pass"
    event = AuditEvent.objects.get(verb="customer.created", object_id=str(created.pk))
    assert event.actor_id == cast.alice.pk
    assert event.changes["mobile"] == [None, "+8801711223344"]
    assert event.changes["service_password"] == ["•••", "•••"]


def test_never_echoes_the_service_password_and_stores_it_encrypted(cast: Any, api_for: Any) -> None:
    home = package(cast.acme_root)
    api = api_for(cast.alice)

    created = api.post(
        CUSTOMERS,
        {
            "username": "rahim",
            "name": "Rahim Uddin",
            "mobile": "01711223344",
            "service_password": "s3cret-pass",
            "package": home.pk,
        },
        format="json",
    )
    read = api.get(f"{CUSTOMERS}{created.json()['id']}/")
    listed = api.get(CUSTOMERS)

    assert created.status_code == 201
    for response in (created, read, listed):
        assert "s3cret-pass" not in response.content.decode()
        assert "service_password" not in response.content.decode()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT service_password FROM customers_customer WHERE id = %s", [created.json()["id"]]
        )
        stored = cursor.fetchone()[0]
    assert stored.startswith("fernet:")
    assert "s3cret-pass" not in stored
    assert "s3cret-pass" not in str(AuditEvent.objects.values_list("changes", flat=True))


def test_registers_a_customer_sending_blank_optional_fields(cast: Any, api_for: Any) -> None:
    home = package(cast.acme_root)

    response = api_for(cast.alice).post(
        CUSTOMERS,
        {
            "username": "rahim",
            "name": "Rahim Uddin",
            "mobile": "01711223344",
            "service_password": "pw-123456",
            "package": home.pk,
            "mac_address": "",
            "email": "",
            "static_ipv4": None,
            "zone": None,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["mac_address"], body["email"], body["static_ipv4"], body["zone"]) == (
        "",
        "",
        None,
        None,
    )


def test_reseller_registers_a_customer_under_his_sub_operator(cast: Any, api_for: Any) -> None:
    home = package(cast.acme_root)

    response = api_for(cast.bob).post(
        CUSTOMERS,
        {
            "operator": cast.north_point.pk,
            "username": "point1",
            "name": "Point One",
            "mobile": "+88 01811 000111",
            "service_password": "pw-123456",
            "package": home.pk,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["operator"] == cast.north_point.pk
    assert response.json()["mobile"] == "+8801811000111"
    assert Customer.objects.get(username="point1").operator_id == cast.north_point.pk


def test_reseller_without_an_operator_registers_under_his_own_node(cast: Any, api_for: Any) -> None:
    home = package(cast.acme_root)

    response = api_for(cast.bob).post(
        CUSTOMERS,
        {
            "username": "north1",
            "name": "North One",
            "mobile": "01811000112",
            "service_password": "pw-123456",
            "package": home.pk,
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["operator"] == cast.north.pk


def test_refuses_a_username_taken_in_another_case_naming_the_customer(
    cast: Any, api_for: Any
) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344", name="Rahim Uddin")
    api = api_for(cast.alice)
    before = (Customer.objects.count(), audit_count())

    response = api.post(
        CUSTOMERS,
        {
            "username": "RAHIM",
            "name": "Another Rahim",
            "mobile": "01811999888",
            "service_password": "pw-123456",
            "package": rahim.package_id,
        },
        format="json",
    )

    assert response.status_code == 409
    clash = f"Already used by customer rahim · Rahim Uddin (#{rahim.pk})."
    assert response.json()["error"] == {
        "code": "conflict",
        "message": f"The customer was not saved. username: {clash}",
        "fields": {"username": [clash]},
    }
    assert (Customer.objects.count(), audit_count()) == before


def test_a_clashing_customer_out_of_reach_is_not_named(cast: Any, api_for: Any) -> None:
    customer(cast.south, "rahim", "01711223344", name="Rahim Uddin")
    home = package(cast.acme_root)
    api = api_for(cast.bob)
    before = (Customer.objects.count(), audit_count())

    response = api.post(
        CUSTOMERS,
        {
            "username": "Rahim",
            "name": "North Rahim",
            "mobile": "01811999888",
            "service_password": "pw-123456",
            "package": home.pk,
        },
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {
        "username": ["Already used by another customer of this ISP."]
    }
    assert "Rahim Uddin" not in response.content.decode()
    assert (Customer.objects.count(), audit_count()) == before


def test_refuses_invalid_fields_reporting_each_and_writes_nothing(cast: Any, api_for: Any) -> None:
    home = package(cast.acme_root)
    api = api_for(cast.alice)
    before = audit_count()

    response = api.post(
        CUSTOMERS,
        {
            "username": "bad name!",
            "name": "  ",
            "mobile": "12345",
            "mac_address": "zz",
            "service_password": "pw-123456",
            "package": home.pk,
        },
        format="json",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {
        "username": ["Use letters, digits and . _ - @ only."],
        "mobile": ["'12345' is not a mobile number"],
        "mac_address": ["'zz' is not a MAC address (12 hex digits)"],
        "name": ["Required."],
    }
    assert Customer.objects.count() == 0
    assert audit_count() == before


def test_requires_the_service_fields_the_service_names(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).post(CUSTOMERS, {}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "username": ["Required."],
        "name": ["Required."],
        "mobile": ["Required."],
        "package": ["Required."],
        "service_password": ["PPPoE and hotspot accounts need a password."],
    }
    assert Customer.objects.count() == 0


def test_refuses_a_package_of_a_sibling_reseller(cast: Any, api_for: Any) -> None:
    south_plan = package(cast.south, "South Only")

    response = api_for(cast.bob).post(
        CUSTOMERS,
        {
            "username": "north1",
            "name": "North One",
            "mobile": "01811000112",
            "service_password": "pw-123456",
            "package": south_plan.pk,
        },
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["package"]
    assert "South Only" not in response.content.decode()
    assert Customer.objects.count() == 0


def test_refuses_an_operator_outside_reach(cast: Any, api_for: Any) -> None:
    home = package(cast.acme_root)

    response = api_for(cast.bob).post(
        CUSTOMERS,
        {
            "operator": cast.south.pk,
            "username": "south1",
            "name": "South One",
            "mobile": "01811000112",
            "service_password": "pw-123456",
            "package": home.pk,
        },
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["operator"]
    assert Customer.objects.count() == 0


def test_stores_custom_field_values_by_their_type(cast: Any, api_for: Any) -> None:
    services.save_custom_field(
        actor=None, operator=cast.acme_root, key="floor", label="Floor", kind="number"
    )
    home = package(cast.acme_root)
    payload = {
        "username": "rahim",
        "name": "Rahim Uddin",
        "mobile": "01711223344",
        "service_password": "pw-123456",
        "package": home.pk,
    }
    api = api_for(cast.alice)

    wrong = api.post(CUSTOMERS, {**payload, "custom_fields": {"lift": "yes"}}, format="json")
    right = api.post(CUSTOMERS, {**payload, "custom_fields": {"floor": "1,200"}}, format="json")

    assert wrong.status_code == 400
    assert wrong.json()["error"]["fields"] == {"custom_fields": ["Unknown custom field lift."]}
    assert right.status_code == 201
    assert right.json()["custom_fields"] == {"floor": "1200"}


# ---- read, money fields and scoping -------------------------------------------------------


def test_noc_user_sees_no_custom_price_or_balance(cast: Any, api_for: Any) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344", custom_price="750")

    listing = api_for(cast.nina).get(CUSTOMERS)
    detail = api_for(cast.nina).get(url(rahim))
    as_admin = api_for(cast.alice).get(url(rahim))

    assert usernames(listing) == ["rahim"]
    for row in (listing.json()["results"][0], detail.json()):
        assert set(row) == READ_FIELDS - {"custom_price", "advance_balance"}
    assert (as_admin.json()["custom_price"], as_admin.json()["advance_balance"]) == (
        "750.00",
        "0.00",
    )


def test_noc_user_cannot_change_a_customer(cast: Any, api_for: Any) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344")
    api = api_for(cast.nina)
    before = audit_count()

    response = api.patch(url(rahim), {"name": "Changed"}, format="json")

    assert response.status_code == 403
    assert Customer.objects.get(pk=rahim.pk).name == "Rahim"
    assert audit_count() == before


def test_a_user_without_money_view_cannot_set_a_custom_price(cast: Any, api_for: Any) -> None:
    rahim = customer(cast.north, "rahim", "01711223344", custom_price="750")
    tenancy_services.set_special_permission(
        actor=None, user=cast.bob, permission="money.view", granted=False
    )
    api = api_for(cast.fresh(cast.bob))
    before = audit_count()

    response = api.patch(url(rahim), {"custom_price": "1", "name": "Cheap"}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["fields"] == {"custom_price": ["Needs the money permission."]}
    unchanged = Customer.objects.get(pk=rahim.pk)
    assert (unchanged.custom_price, unchanged.name) == (Decimal("750.00"), "Rahim")
    assert audit_count() == before


def test_manager_lists_only_the_customers_assigned_to_him(cast: Any, api_for: Any) -> None:
    mine = customer(cast.north, "mine", "01711000001", manager=cast.carol)
    other = customer(cast.north, "other", "01711000002")

    listing = api_for(cast.carol).get(CUSTOMERS)
    hidden = api_for(cast.carol).get(url(other))
    hidden_change = api_for(cast.carol).post(url(other, "suspend"), {}, format="json")

    assert usernames(listing) == ["mine"]
    assert api_for(cast.carol).get(url(mine)).status_code == 200
    assert hidden.status_code == 404
    assert hidden_change.status_code == 404
    assert Customer.objects.get(pk=other.pk).status == "active"


def test_manager_keeps_the_customer_he_registers(cast: Any, api_for: Any) -> None:
    home = package(cast.acme_root)
    api = api_for(cast.carol)

    response = api.post(
        CUSTOMERS,
        {
            "username": "rahim",
            "name": "Rahim Uddin",
            "mobile": "01711223344",
            "service_password": "pw-123456",
            "package": home.pk,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["manager"] == cast.carol.pk
    assert usernames(api.get(CUSTOMERS)) == ["rahim"]


def test_manager_cannot_hand_his_customer_to_nobody(cast: Any, api_for: Any) -> None:
    mine = customer(cast.acme_root, "mine", "01711000001", manager=cast.carol)
    api = api_for(cast.carol)
    before = audit_count()

    response = api.patch(url(mine), {"manager": None}, format="json")

    assert response.status_code == 403
    assert Customer.objects.get(pk=mine.pk).manager_id == cast.carol.pk
    assert audit_count() == before


# ---- update -------------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields_with_an_audit_row(cast: Any, api_for: Any) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344", name="Rahim Uddin")

    response = api_for(cast.alice).patch(
        url(rahim), {"mobile": "০১৮১১-৯৯৯৮৮৮", "house": "12/A"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert (response.json()["mobile"], response.json()["house"]) == ("+8801811999888", "12/A")
    assert response.json()["name"] == "Rahim Uddin"
    event = AuditEvent.objects.get(verb="customer.updated")
    assert event.actor_id == cast.alice.pk
    assert event.changes == {
        "house": ["", "12/A"],
        "mobile": ["+8801711223344", "+8801811999888"],
    }


def test_a_full_update_of_the_record_as_read_logs_only_what_changed(
    cast: Any, api_for: Any
) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344", mac_address="cb1971174494")
    api = api_for(cast.alice)
    record = api.get(url(rahim)).json()
    record["road"] = "Lake Road"

    response = api.put(url(rahim), record, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["road"] == "Lake Road"
    event = AuditEvent.objects.get(verb="customer.updated")
    assert event.changes == {"road": ["", "Lake Road"]}
    assert Customer.objects.get(pk=rahim.pk).service_password == "pw-123456"


def test_a_new_service_password_is_stored_and_logged_without_its_value(
    cast: Any, api_for: Any
) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344")

    response = api_for(cast.alice).patch(
        url(rahim), {"service_password": "n3w-secret"}, format="json"
    )

    assert response.status_code == 200
    assert "n3w-secret" not in response.content.decode()
    assert Customer.objects.get(pk=rahim.pk).service_password == "n3w-secret"
    event = AuditEvent.objects.get(verb="customer.updated")
    assert event.changes == {"service_password": ["•••", "•••"]}


def test_status_and_operator_cannot_be_written_by_a_patch(cast: Any, api_for: Any) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344")

    response = api_for(cast.alice).patch(
        url(rahim),
        {"status": "disabled", "operator": cast.south.pk, "advance_balance": "5000"},
        format="json",
    )

    assert response.status_code == 200
    unchanged = Customer.objects.get(pk=rahim.pk)
    assert (unchanged.status, unchanged.operator_id, unchanged.advance_balance) == (
        "active",
        cast.acme_root.pk,
        Decimal("0.00"),
    )
    assert not AuditEvent.objects.filter(verb="customer.updated").exists()


def test_refuses_a_mac_address_of_another_live_customer(cast: Any, api_for: Any) -> None:
    first = customer(cast.acme_root, "first", "01711000001", mac_address="CB:19:71:17:44:94")
    second = customer(cast.acme_root, "second", "01711000002")
    api = api_for(cast.alice)
    before = audit_count()

    response = api.patch(url(second), {"mac_address": "cb1971174494"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {
        "mac_address": [f"Already used by customer first · First (#{first.pk})."]
    }
    assert Customer.objects.get(pk=second.pk).mac_address == ""
    assert audit_count() == before


def test_clearing_a_mac_address_frees_it_for_another_customer(cast: Any, api_for: Any) -> None:
    first = customer(cast.acme_root, "first", "01711000001", mac_address="CB:19:71:17:44:94")
    second = customer(cast.acme_root, "second", "01711000002")
    api = api_for(cast.alice)

    cleared = api.patch(url(first), {"mac_address": ""}, format="json")
    taken = api.patch(url(second), {"mac_address": "CB:19:71:17:44:94"}, format="json")

    assert (cleared.status_code, taken.status_code) == (200, 200)
    assert Customer.objects.get(pk=first.pk).mac_address == ""
    assert Customer.objects.get(pk=second.pk).mac_address == "CB:19:71:17:44:94"


# ---- lifecycle ----------------------------------------------------------------------------


def test_suspends_activates_and_disables_with_reasons(cast: Any, api_for: Any) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344")
    api = api_for(cast.alice)

    suspended = api.post(url(rahim, "suspend"), {"reason": "unpaid"}, format="json")
    activated = api.post(url(rahim, "activate"), {}, format="json")
    disabled = api.post(url(rahim, "disable"), {"reason": "moved away"}, format="json")

    assert (suspended.status_code, activated.status_code, disabled.status_code) == (200, 200, 200)
    assert (suspended.json()["status"], suspended.json()["status_reason"]) == (
        "suspended",
        "unpaid",
    )
    assert (activated.json()["status"], activated.json()["status_reason"]) == ("active", "")
    assert (disabled.json()["status"], disabled.json()["status_reason"]) == (
        "disabled",
        "moved away",
    )
    events = AuditEvent.objects.filter(object_id=str(rahim.pk), actor=cast.alice).order_by("pk")
    assert [(e.verb, e.changes) for e in events] == [
        ("customer.suspended", {"status": ["active", "suspended"], "reason": "unpaid"}),
        ("customer.activated", {"status": ["suspended", "active"], "reason": ""}),
        ("customer.disabled", {"status": ["active", "disabled"], "reason": "moved away"}),
    ]


def test_refuses_to_suspend_a_disabled_customer(cast: Any, api_for: Any) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344")
    services.disable_customer(actor=None, customer=rahim)
    api = api_for(cast.alice)
    before = audit_count()

    response = api.post(url(rahim, "suspend"), {}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "A Disabled customer cannot become Suspended.",
        "fields": {},
    }
    assert Customer.objects.get(pk=rahim.pk).status == "disabled"
    assert audit_count() == before


def test_refuses_to_suspend_a_suspended_customer_again(cast: Any, api_for: Any) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344")
    services.suspend_customer(actor=None, customer=rahim, reason="unpaid")
    api = api_for(cast.alice)
    before = audit_count()

    response = api.post(url(rahim, "suspend"), {"reason": "x"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The customer is already Suspended."
    assert Customer.objects.get(pk=rahim.pk).status_reason == "unpaid"
    assert audit_count() == before


def test_refuses_to_restore_an_active_customer(cast: Any, api_for: Any) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344")
    changed_at = Customer.objects.get(pk=rahim.pk).status_changed_at
    api = api_for(cast.alice)
    before = audit_count()

    response = api.post(url(rahim, "restore"), {}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Only deleted customers can be restored."
    unchanged = Customer.objects.get(pk=rahim.pk)
    assert (unchanged.status, unchanged.status_changed_at) == ("active", changed_at)
    assert audit_count() == before


def test_soft_delete_moves_the_customer_to_the_archive(cast: Any, api_for: Any) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344")
    customer(cast.acme_root, "karim", "01711223345")
    api = api_for(cast.alice)

    deleted = api.delete(url(rahim))

    assert deleted.status_code == 204
    assert deleted.content == b""
    stored = Customer.objects.get(pk=rahim.pk)
    assert (stored.status, stored.status_before_delete) == ("deleted", "active")
    assert stored.deleted_at is not None
    assert usernames(api.get(CUSTOMERS)) == ["karim"]
    assert usernames(api.get(CUSTOMERS, {"status": "deleted"})) == ["rahim"]
    assert api.get(url(rahim)).json()["status"] == "deleted"
    event = AuditEvent.objects.get(verb="customer.deleted")
    assert (event.actor_id, event.changes) == (
        cast.alice.pk,
        {"status": ["active", "deleted"], "reason": ""},
    )


def test_restores_a_deleted_customer_to_the_status_it_had(cast: Any, api_for: Any) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344")
    services.suspend_customer(actor=None, customer=rahim)
    services.delete_customer(actor=None, customer=rahim)

    response = api_for(cast.alice).post(
        url(rahim, "restore"), {"reason": "came back"}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["status_reason"]) == (
        "suspended",
        "came back",
    )
    assert Customer.objects.get(pk=rahim.pk).deleted_at is None
    event = AuditEvent.objects.get(verb="customer.restored")
    assert event.changes == {"status": ["deleted", "suspended"], "reason": "came back"}


def test_refuses_to_restore_a_customer_whose_mac_was_taken_meanwhile(
    cast: Any, api_for: Any
) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344", mac_address="CB:19:71:17:44:94")
    services.delete_customer(actor=None, customer=rahim)
    karim = customer(cast.acme_root, "karim", "01711223345", mac_address="CB:19:71:17:44:94")
    api = api_for(cast.alice)
    before = audit_count()

    response = api.post(url(rahim, "restore"), {}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {
        "mac_address": [f"Already used by customer karim · Karim (#{karim.pk})."]
    }
    assert Customer.objects.get(pk=rahim.pk).status == "deleted"
    assert audit_count() == before


def test_refuses_to_restore_a_customer_whose_mobile_was_taken_meanwhile(
    cast: Any, api_for: Any
) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344")
    services.delete_customer(actor=None, customer=rahim)
    karim = customer(cast.acme_root, "karim", "01711223344")
    api = api_for(cast.alice)
    before = audit_count()

    response = api.post(url(rahim, "restore"), {}, format="json")

    # Registering or editing refuses a mobile another live customer uses; so must restoring.
    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {
        "mobile": [f"Already used by customer karim · Karim (#{karim.pk})."]
    }
    assert Customer.objects.get(pk=rahim.pk).status == "deleted"
    assert audit_count() == before


def test_refuses_to_change_a_deleted_customer(cast: Any, api_for: Any) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344")
    services.delete_customer(actor=None, customer=rahim)
    api = api_for(cast.alice)
    before = audit_count()

    response = api.patch(url(rahim), {"name": "New"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Restore the customer before changing it."
    assert Customer.objects.get(pk=rahim.pk).name == "Rahim"
    assert audit_count() == before


def test_manager_may_suspend_but_not_delete_or_restore(cast: Any, api_for: Any) -> None:
    mine = customer(cast.acme_root, "mine", "01711000001", manager=cast.carol)
    gone = customer(cast.acme_root, "gone", "01711000002", manager=cast.carol)
    services.delete_customer(actor=None, customer=gone)
    api = api_for(cast.carol)

    suspended = api.post(url(mine, "suspend"), {}, format="json")
    deleted = api.delete(url(mine))
    restored = api.post(url(gone, "restore"), {}, format="json")

    assert suspended.status_code == 200
    assert (deleted.status_code, restored.status_code) == (403, 403)
    assert Customer.objects.get(pk=mine.pk).status == "suspended"
    assert Customer.objects.get(pk=gone.pk).status == "deleted"
    assert (
        not AuditEvent.objects.filter(verb__in=["customer.deleted", "customer.restored"])
        .filter(actor=cast.carol)
        .exists()
    )


def test_noc_user_cannot_suspend_a_customer(cast: Any, api_for: Any) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344")
    api = api_for(cast.nina)
    before = audit_count()

    response = api.post(url(rahim, "suspend"), {}, format="json")

    assert response.status_code == 403
    assert Customer.objects.get(pk=rahim.pk).status == "active"
    assert audit_count() == before


# ---- transfer -----------------------------------------------------------------------------


def test_transfers_a_customer_to_a_reseller(cast: Any, api_for: Any) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344")

    response = api_for(cast.alice).post(
        url(rahim, "transfer"), {"operator": cast.north.pk, "reason": "area handover"}, "json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["operator"] == cast.north.pk
    assert Customer.objects.get(pk=rahim.pk).operator_id == cast.north.pk
    event = AuditEvent.objects.get(verb="customer.transferred")
    assert (event.actor_id, event.changes) == (
        cast.alice.pk,
        {"operator": ["Acme", "Acme North"], "reason": "area handover"},
    )
    assert usernames(api_for(cast.bob).get(CUSTOMERS)) == ["rahim"]


def test_refuses_a_transfer_to_an_operator_outside_reach(cast: Any, api_for: Any) -> None:
    rahim = customer(cast.north, "rahim", "01711223344")
    api = api_for(cast.bob)
    before = audit_count()

    response = api.post(url(rahim, "transfer"), {"operator": cast.south.pk}, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["operator"]
    assert Customer.objects.get(pk=rahim.pk).operator_id == cast.north.pk
    assert audit_count() == before


def test_refuses_a_transfer_to_another_isp(cast: Any, api_for: Any) -> None:
    rahim = customer(cast.acme_root, "rahim", "01711223344")
    api = api_for(cast.alice)
    before = audit_count()

    response = api.post(url(rahim, "transfer"), {"operator": cast.globex_east.pk}, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["operator"]
    assert Customer.objects.get(pk=rahim.pk).operator_id == cast.acme_root.pk
    assert audit_count() == before


def test_refuses_a_transfer_when_the_package_is_not_the_new_operators(
    cast: Any, api_for: Any
) -> None:
    rahim = customer(cast.north, "rahim", "01711223344", package=package(cast.north, "North 5"))
    api = api_for(cast.alice)
    before = audit_count()

    response = api.post(url(rahim, "transfer"), {"operator": cast.south.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "package": ["North 5 is not available to Acme South; change it first."]
    }
    assert Customer.objects.get(pk=rahim.pk).operator_id == cast.north.pk
    assert audit_count() == before


def test_refuses_a_transfer_that_would_leave_a_manager_of_the_old_operator(
    cast: Any, api_for: Any
) -> None:
    pia = tenancy_services.create_staff_user(
        actor=None, operator=cast.north, username="pia", password=PASSWORD, role="manager"
    )
    rahim = customer(cast.north, "rahim", "01711223344", package=package(cast.acme_root))
    services.update_customer(actor=None, customer=rahim, manager=pia)
    api = api_for(cast.alice)
    before = audit_count()

    response = api.post(url(rahim, "transfer"), {"operator": cast.south.pk}, format="json")

    # Registering or editing accepts only a manager of the customer's operator or above it.
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["manager"]
    unchanged = Customer.objects.get(pk=rahim.pk)
    assert (unchanged.operator_id, unchanged.manager_id) == (cast.north.pk, pia.pk)
    assert audit_count() == before


# ---- search and filters -------------------------------------------------------------------


def given_search_cast(cast: Any) -> None:
    customer(
        cast.acme_root,
        "rahim01",
        "01711223344",
        name="Rahim Uddin",
        mac_address="CB:19:71:17:44:94",
    )
    customer(
        cast.acme_root,
        "kbari",
        "01811000222",
        name="Abdul Karim Bari",
        service_model="static",
        static_ipv4="10.20.0.5",
        package=package(cast.acme_root, "Static 20", service_model="static"),
    )
    customer(cast.acme_root, "salma", "01911555666", name="Salma Begum")


def search(api: Any, term: str, param: str = "search") -> list[str]:
    return sorted(usernames(api.get(CUSTOMERS, {param: term})))


def test_searches_by_username_prefix_mobile_prefix_name_mac_and_ip(cast: Any, api_for: Any) -> None:
    given_search_cast(cast)
    api = api_for(cast.alice)

    assert search(api, "RAH") == ["rahim01"]
    assert search(api, "01711") == ["rahim01"]
    assert search(api, "+8801711") == ["rahim01"]
    assert search(api, "০১৮১১") == ["kbari"]
    assert search(api, "karim") == ["kbari"]
    assert search(api, "begum") == ["salma"]
    assert search(api, "cb1971174494") == ["rahim01"]
    assert search(api, "cb:19:71:17:44:94") == ["rahim01"]
    assert search(api, "10.20.0.5") == ["kbari"]
    assert search(api, "0191") == ["salma"]
    assert search(api, "nobody") == []


def test_q_and_search_are_the_same_filter(cast: Any, api_for: Any) -> None:
    given_search_cast(cast)
    api = api_for(cast.alice)

    assert search(api, "01711", param="q") == search(api, "01711", param="search")


def test_search_finds_nothing_of_a_sibling_reseller(cast: Any, api_for: Any) -> None:
    customer(cast.south, "rahim", "01711223344")

    assert search(api_for(cast.bob), "rahim") == []
    assert search(api_for(cast.bob), "01711") == []


def test_filters_by_status_package_and_operator_subtree(cast: Any, api_for: Any) -> None:
    home = package(cast.acme_root)
    customer(cast.acme_root, "root1", "01711000001", package=home)
    customer(cast.north_point, "point1", "01711000002", package=home)
    suspended = customer(cast.south, "south1", "01711000003")
    services.suspend_customer(actor=None, customer=suspended)
    api = api_for(cast.alice)

    assert usernames(api.get(CUSTOMERS, {"status": "suspended"})) == ["south1"]
    assert usernames(api.get(CUSTOMERS, {"package": home.pk})) == ["point1", "root1"]
    assert usernames(api.get(CUSTOMERS, {"operator": cast.north.pk})) == ["point1"]


def test_lists_newest_first_in_keyset_pages(cast: Any, api_for: Any) -> None:
    home = package(cast.acme_root)
    for number in range(3):
        customer(cast.acme_root, f"c{number}", f"0171100000{number}", package=home)
    api = api_for(cast.alice)

    first = api.get(CUSTOMERS, {"limit": 2})
    second = api.get(first.json()["next"])

    assert usernames(first) == ["c2", "c1"]
    assert usernames(second) == ["c0"]
    assert second.json()["next"] is None


def test_the_list_costs_the_same_queries_for_two_or_twelve_customers(
    cast: Any, api_for: Any
) -> None:
    home = package(cast.acme_root)
    zone = services.save_zone(actor=None, operator=cast.acme_root, name="Mirpur")
    api = api_for(cast.alice)

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(CUSTOMERS).status_code == 200
        return len(captured)

    queries_for_list()  # the token's first use records its time once

    for number in range(2):
        customer(cast.acme_root, f"a{number}", f"0171100000{number}", package=home, zone=zone)
    few = queries_for_list()
    for number in range(10):
        customer(cast.north, f"b{number}", f"0181100000{number}", package=home, manager=cast.carol)
    many = queries_for_list()

    assert many == few


# ---- zones --------------------------------------------------------------------------------


def test_adds_a_district_and_an_area_inside_it(cast: Any, api_for: Any) -> None:
    api = api_for(cast.alice)

    district = api.post(ZONES, {"name": " Dhaka ", "kind": "district"}, format="json")
    area = api.post(
        ZONES, {"name": "Mirpur", "kind": "area", "parent": district.json()["id"]}, format="json"
    )

    assert district.status_code == 201
    assert {k: district.json()[k] for k in ("name", "kind", "parent", "operator")} == {
        "name": "Dhaka",
        "kind": "district",
        "parent": None,
        "operator": cast.acme_root.pk,
    }
    assert area.status_code == 201
    assert area.json()["parent"] == district.json()["id"]
    assert AuditEvent.objects.filter(verb="zone.created", actor=cast.alice).count() == 2


def test_refuses_a_zone_name_taken_in_the_same_place(cast: Any, api_for: Any) -> None:
    services.save_zone(actor=None, operator=cast.acme_root, name="Mirpur")
    api = api_for(cast.alice)
    before = (Zone.objects.count(), audit_count())

    response = api.post(ZONES, {"name": "MIRPUR"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict",
        "message": "A zone MIRPUR exists there already.",
        "fields": {"name": ["Already used."]},
    }
    assert (Zone.objects.count(), audit_count()) == before


def test_renaming_a_zone_keeps_its_kind_and_place(cast: Any, api_for: Any) -> None:
    dhaka = services.save_zone(actor=None, operator=cast.acme_root, name="Dhaka", kind="district")
    mirpur = services.save_zone(
        actor=None, operator=cast.acme_root, name="Mirpur", kind="thana", parent=dhaka
    )

    response = api_for(cast.alice).patch(f"{ZONES}{mirpur.pk}/", {"name": "Mirpur-10"}, "json")

    assert response.status_code == 200
    stored = Zone.objects.get(pk=mirpur.pk)
    assert (stored.name, stored.kind, stored.parent_id) == ("Mirpur-10", "thana", dhaka.pk)
    event = AuditEvent.objects.get(verb="zone.updated")
    assert event.changes == {"name": ["Mirpur", "Mirpur-10"]}


def test_saving_a_zone_unchanged_logs_nothing(cast: Any, api_for: Any) -> None:
    dhaka = services.save_zone(actor=None, operator=cast.acme_root, name="Dhaka")
    api = api_for(cast.alice)
    record = api.get(f"{ZONES}{dhaka.pk}/").json()
    before = audit_count()

    response = api.put(f"{ZONES}{dhaka.pk}/", record, format="json")

    assert response.status_code == 200
    assert response.json() == record
    assert audit_count() == before


def test_reseller_uses_but_cannot_change_the_isps_zones(cast: Any, api_for: Any) -> None:
    dhaka = services.save_zone(actor=None, operator=cast.acme_root, name="Dhaka")
    services.save_zone(actor=None, operator=cast.south, name="South Only")
    api = api_for(cast.bob)
    before = audit_count()

    listing = api.get(ZONES)
    changed = api.patch(f"{ZONES}{dhaka.pk}/", {"name": "Mine"}, format="json")

    assert sorted(row["name"] for row in listing.json()["results"]) == ["Dhaka"]
    assert changed.status_code == 404
    assert Zone.objects.get(pk=dhaka.pk).name == "Dhaka"
    assert audit_count() == before


def test_zones_cannot_be_deleted(cast: Any, api_for: Any) -> None:
    dhaka = services.save_zone(actor=None, operator=cast.acme_root, name="Dhaka")

    response = api_for(cast.alice).delete(f"{ZONES}{dhaka.pk}/")

    assert response.status_code == 405
    assert Zone.objects.filter(pk=dhaka.pk).exists()


# ---- custom fields ------------------------------------------------------------------------


def test_group_admin_defines_a_choice_field(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).post(
        CUSTOM_FIELDS,
        {
            "key": "Connection",
            "label": "Connection",
            "kind": "choice",
            "choices": ["fibre", "cat6"],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("key", "label", "kind", "choices", "required", "is_active")} == {
        "key": "connection",
        "label": "Connection",
        "kind": "choice",
        "choices": ["fibre", "cat6"],
        "required": False,
        "is_active": True,
    }
    assert body["operator"] == cast.acme_root.pk


def test_a_choice_field_needs_its_choices(cast: Any, api_for: Any) -> None:
    response = api_for(cast.alice).post(
        CUSTOM_FIELDS, {"key": "connection", "label": "Connection", "kind": "choice"}, "json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"choices": ["Required."]}
    assert CustomField.objects.count() == 0


def test_refuses_a_custom_field_key_in_use(cast: Any, api_for: Any) -> None:
    services.save_custom_field(actor=None, operator=cast.acme_root, key="floor", label="Floor")

    response = api_for(cast.alice).post(
        CUSTOM_FIELDS, {"key": "FLOOR", "label": "Floor again"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {"key": ["Already used."]}
    assert CustomField.objects.count() == 1


def test_relabelling_a_custom_field_keeps_its_type_and_choices(cast: Any, api_for: Any) -> None:
    field = services.save_custom_field(
        actor=None,
        operator=cast.acme_root,
        key="connection",
        label="Connection",
        kind="choice",
        choices=["fibre", "cat6"],
        required=True,
        position=3,
    )

    response = api_for(cast.alice).patch(
        f"{CUSTOM_FIELDS}{field.pk}/", {"label": "Cable"}, format="json"
    )

    assert response.status_code == 200
    stored = CustomField.objects.get(pk=field.pk)
    assert (stored.label, stored.kind, stored.choices, stored.required, stored.position) == (
        "Cable",
        "choice",
        ["fibre", "cat6"],
        True,
        3,
    )


def test_a_reseller_cannot_define_custom_fields(cast: Any, api_for: Any) -> None:
    api = api_for(cast.bob)
    before = audit_count()

    response = api.post(CUSTOM_FIELDS, {"key": "floor", "label": "Floor"}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "Custom fields belong to the whole ISP; the group admin sets them."
    )
    assert CustomField.objects.count() == 0
    assert audit_count() == before


# ---- schema -------------------------------------------------------------------------------


def test_schema_documents_the_customer_endpoints_and_action_bodies(db: Any) -> None:
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/schema/", {"format": "json"}).json()

    paths = schema["paths"]
    for path in (CUSTOMERS, ZONES, CUSTOM_FIELDS, f"{CUSTOMERS}{{id}}/"):
        assert path in paths, path
    assert {"get", "post"} <= set(paths[CUSTOMERS])
    assert {"get", "put", "patch", "delete"} <= set(paths[f"{CUSTOMERS}{{id}}/"])
    assert "search" in {p["name"] for p in paths[CUSTOMERS]["get"]["parameters"]}
    for action in ("suspend", "activate", "disable", "restore", "transfer"):
        body = paths[f"{CUSTOMERS}{{id}}/{action}/"]["post"]
        ref = body["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("TransferRequest" if action == "transfer" else "ReasonRequest")
        assert body["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] == (
            "#/components/schemas/Customer"
        )
    customer_schema = schema["components"]["schemas"]["Customer"]["properties"]
    assert "service_password" not in customer_schema
    assert "service_password" in schema["components"]["schemas"]["CustomerRequest"]["properties"]
