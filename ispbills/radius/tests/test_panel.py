"""NAS device pages and API (the secret never comes back), the disconnect log and its alert."""

import csv
from typing import Any

from django.utils import timezone

from ispbills.core.exports import export_path, write_export
from ispbills.core.jobs import Progress
from ispbills.core.models import AuditEvent, JobRun
from ispbills.core.testing.isolation import client_as
from ispbills.customers.tests.makers import make_customer
from ispbills.radius.models import Disconnect, DisconnectAttempt, Nas, NasDevice, RadAcct
from ispbills.radius.tests.makers import make_disconnect, make_nas_device

SECRET = "router-secret-1234"


def page(user: Any, url: str, **params: Any) -> str:
    response = client_as(user).get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_nas_list_shows_each_device_with_its_online_sessions(cast: Any) -> None:
    core = make_nas_device(cast.acme_root, "Core-1")
    make_nas_device(cast.globex_root, "Theirs")
    for number in range(3):
        RadAcct.objects.create(
            session_id=f"s{number}",
            unique_id=f"u{number}",
            username=f"user{number}",
            nas_ip_address=core.address,
            start_time=timezone.now(),
            stop_time=timezone.now() if number == 2 else None,
        )

    html = page(cast.nina, "/radius/nas/")
    detail = page(cast.nina, f"/radius/nas/{core.pk}/")

    assert "Core-1" in html
    assert "Theirs" not in html
    row = html.split("Core-1")[1].split("</tr>")[0]
    assert ">2</td>" in row
    assert ">3799</td>" in row
    assert 'data-testid="online-count">2<' in detail
    assert detail.count("user0") == 1
    assert "user2" not in detail


def test_nas_create_edit_and_delete_keep_the_secret_out_of_pages_and_the_log(cast: Any) -> None:
    client = client_as(cast.nina)

    created = client.post(
        "/radius/nas/add/",
        {
            "operator": cast.acme_root.pk,
            "name": "Core-1",
            "address": "10.9.0.1",
            "secret": SECRET,
            "kind": "mikrotik",
            "coa_port": 1700,
            "is_active": "on",
        },
    )
    device = NasDevice.objects.get()
    form = client.get(f"/radius/nas/{device.pk}/edit/").content.decode()
    edited = client.post(
        f"/radius/nas/{device.pk}/edit/",
        {
            "name": "Core-1",
            "address": "10.9.0.2",
            "secret": "",
            "kind": "mikrotik",
            "coa_port": 1700,
            "is_active": "on",
        },
    )
    device.refresh_from_db()

    assert created.status_code == edited.status_code == 302
    assert (device.address, device.secret, device.coa_port) == ("10.9.0.2", SECRET, 1700)
    assert Nas.objects.get().secret == SECRET  # FreeRADIUS's client row
    assert 'type="password"' in form
    assert SECRET not in form
    assert "Leave empty to keep" in form
    assert SECRET not in page(cast.nina, f"/radius/nas/{device.pk}/")
    assert SECRET not in str(list(AuditEvent.objects.values_list("changes", flat=True)))

    confirm = page(cast.nina, f"/radius/nas/{device.pk}/delete/")
    deleted = client.post(f"/radius/nas/{device.pk}/delete/")

    assert "Delete" in confirm
    assert deleted.status_code == 302
    assert deleted["Location"] == "/radius/nas/"
    assert NasDevice.objects.count() == Nas.objects.count() == 0


def test_nas_form_reports_a_short_secret_and_writes_nothing(cast: Any) -> None:
    response = client_as(cast.nina).post(
        "/radius/nas/add/",
        {
            "operator": cast.acme_root.pk,
            "name": "Core-1",
            "address": "10.9.0.1",
            "secret": "short",
            "kind": "mikrotik",
            "coa_port": 3799,
        },
    )

    assert response.status_code == 200
    assert "at least 12 characters" in response.content.decode()
    assert NasDevice.objects.count() == Nas.objects.count() == 0


def test_operator_admins_add_their_routers_and_managers_may_not(cast: Any) -> None:
    form = {
        "operator": cast.north.pk,
        "name": "North BRAS",
        "address": "10.9.0.9",
        "secret": SECRET,
        "kind": "other",
        "coa_port": 3799,
    }
    refused_page = client_as(cast.carol).get("/radius/nas/")
    refused = client_as(cast.carol).post("/radius/nas/add/", form)
    assert refused_page.status_code == 403
    assert refused.status_code == 403
    assert NasDevice.objects.count() == 0

    added = client_as(cast.bob).post("/radius/nas/add/", form)

    assert added.status_code == 302
    device = NasDevice.objects.get()
    assert (device.operator, device.address) == (cast.north, "10.9.0.9")


def test_nas_api_crud_never_returns_the_secret(cast: Any, api_for: Any) -> None:
    api = api_for(cast.nina)

    created = api.post(
        "/api/v1/nas/",
        {"name": "Core-1", "address": "10.9.0.1", "secret": SECRET, "kind": "cisco"},
        format="json",
    )
    pk = created.json()["id"]
    changed = api.patch(f"/api/v1/nas/{pk}/", {"coa_port": 1700}, format="json")
    listed = api.get("/api/v1/nas/")
    bad = api.patch(f"/api/v1/nas/{pk}/", {"secret": "short"}, format="json")
    deleted = api.delete(f"/api/v1/nas/{pk}/")

    assert created.status_code == 201
    assert created.json()["online"] == 0
    assert created.json()["operator"] == cast.acme_root.pk
    assert changed.json()["coa_port"] == 1700
    for response in (created, changed, listed, bad):
        assert SECRET not in response.content.decode()
    assert "secret" not in created.json()
    assert "secret" not in listed.json()["results"][0]
    assert bad.status_code == 400
    assert "secret" in bad.json()["error"]["fields"]
    assert deleted.status_code == 204
    assert NasDevice.objects.count() == 0


def test_disconnect_log_filters_shows_attempts_and_exports(
    cast: Any, settings: Any, tmp_path: Any
) -> None:
    settings.EXPORT_ROOT = tmp_path
    pending = make_disconnect(cast.acme_root, "LEAKpending1")
    failed = make_disconnect(cast.acme_root, "LEAKfailed01")
    Disconnect.objects.filter(pk=failed.pk).update(
        status=Disconnect.Status.UNRESOLVED, attempts=5, outcome="1 session(s) still open"
    )
    DisconnectAttempt.objects.create(
        disconnect=failed,
        nas_address="10.9.0.1",
        session_id="s-77",
        kind="disconnect",
        result="ack",
        rtt_ms=12,
    )
    make_disconnect(cast.globex_root, "LEAKtheirs01")

    everything = page(cast.nina, "/radius/disconnects/")
    unresolved = page(cast.nina, "/radius/disconnects/", status="unresolved")
    detail = page(cast.nina, f"/radius/disconnects/{failed.pk}/")
    progress = Progress(JobRun.objects.create(kind="export", label="export").pk)
    write_export(
        progress=progress, export="disconnects", filters={"status": "unresolved"}, user=cast.nina
    )
    rows = list(csv.reader(export_path(progress.run_id).open(encoding="utf-8-sig")))

    assert pending.username in everything
    assert failed.username in everything
    assert "LEAKtheirs01" not in everything
    assert pending.username not in unresolved
    assert "s-77" in detail
    assert ">12<" in detail
    assert [(row[0], row[3], row[6], row[7]) for row in rows[1:]] == [
        (str(failed.pk), failed.username, "unresolved", "5")
    ]
    assert client_as(cast.carol).get("/radius/disconnects/").status_code == 403


def test_unresolved_disconnects_show_on_the_dashboard_and_in_the_sidebar(cast: Any) -> None:
    quiet = page(cast.nina, "/")
    item = make_disconnect(cast.acme_root, "LEAKunres001")
    Disconnect.objects.filter(pk=item.pk).update(status=Disconnect.Status.UNRESOLVED)
    make_disconnect(cast.globex_root, "LEAKunres002")
    Disconnect.objects.filter(username="LEAKunres002").update(status="unresolved")

    html = page(cast.nina, "/")
    theirs = page(cast.mallory, "/")

    assert 'data-testid="dashboard-alert"' not in quiet
    assert 'data-testid="nav-badge"' not in quiet
    assert "1 disconnects were not confirmed" in html
    assert 'href="/radius/disconnects/?status=unresolved" data-testid="nav-badge">1<' in html
    assert 'data-testid="nav-badge">1<' in theirs
    assert 'data-testid="nav-badge"' not in page(cast.carol, "/")  # no network permission


def test_the_customer_page_lists_its_disconnect_requests(cast: Any) -> None:
    customer = make_customer(cast.north, "LEAKcustom01")
    make_disconnect(cast.north, "LEAKother001")
    from ispbills.radius import disconnect

    disconnect.request(
        tenant_id=customer.tenant_id,
        operator_id=customer.operator_id,
        customer_id=customer.pk,
        username=customer.username,
        kind="coa",
        reason="package changed",
    )

    html = page(cast.bob, f"/customers/{customer.pk}/")

    tab = html.split('data-testid="customer-disconnects"')[1]
    assert "package changed" in tab
    assert "LEAKother001" not in tab


def test_staff_of_a_subtree_see_a_routers_load_not_who_is_on_it(cast: Any) -> None:
    router = make_nas_device(cast.north, "North-1")
    RadAcct.objects.create(
        session_id="n1",
        unique_id="n1",
        username="someone-else",
        nas_ip_address=router.address,
        start_time=timezone.now(),
    )

    detail = page(cast.bob, f"/radius/nas/{router.pk}/")

    assert 'data-testid="online-count">1<' in detail
    assert "someone-else" not in detail
    assert f"/radius/sessions/?nas={router.pk}" in detail
