"""RADIUS seen through customers: the claimant rule, live sessions, the authentication log,
a customer's sessions, usage and disconnect button (panel and API)."""

import csv
import datetime as dt
import zoneinfo
from typing import Any

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from ispbills.catalog.tests.makers import make_package
from ispbills.core.exports import export_path, write_export
from ispbills.core.jobs import Progress
from ispbills.core.models import AuditEvent, JobRun
from ispbills.core.testing.isolation import client_as
from ispbills.customers import services
from ispbills.customers.models import AccountingSession, AuthAttempt, claimant_id
from ispbills.radius import accounting
from ispbills.radius.models import Disconnect, Presence, RadAcct, RadPostAuth, UsageDaily
from ispbills.radius.tests.makers import make_nas_device

_ids = iter(range(1, 1_000_000))


def start_session(
    username: str, *, nas: str = "10.250.0.1", minutes_ago: int = 10, **fields: Any
) -> RadAcct:
    """An open session as FreeRADIUS's Accounting-Start writes it."""
    number = next(_ids)
    started = timezone.now() - dt.timedelta(minutes=minutes_ago)
    values = {
        "session_id": f"s{number:06d}",
        "unique_id": f"u{number:06d}",
        "username": username,
        "nas_ip_address": nas,
        "start_time": started,
        "update_time": started,
        "framed_ip_address": "100.64.0.2",
        "calling_station_id": "AA:BB:CC:00:00:01",
        "input_octets": 3 * 1024 * 1024,
        "output_octets": 40 * 1024 * 1024,
        **fields,
    }
    return RadAcct.objects.create(**values)


def globex_customer(new_customer: Any, cast: Any, username: str) -> Any:
    """A Globex customer (with a Globex package: Acme's are not Globex's to use)."""
    return new_customer(
        operator=cast.globex_east,
        username=username,
        package=make_package(cast.globex_east, f"Globex {username}"),
    )


def page(user: Any, url: str, **params: Any) -> str:
    response = client_as(user).get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# ---- the claimant rule ---------------------------------------------------------------------


def test_a_shared_username_belongs_to_the_lowest_live_customer_across_isps(
    cast: Any, new_customer: Any
) -> None:
    acme = new_customer(operator=cast.north, username="shared")
    globex = globex_customer(new_customer, cast, "shared")
    start_session("shared")

    assert claimant_id("shared") == acme.pk
    bob_sees = AccountingSession.objects.restrict(cast.bob).values_list("claimant_id", flat=True)
    mallory_sees = AccountingSession.objects.restrict(cast.mallory)
    assert list(bob_sees) == [acme.pk]
    assert list(mallory_sees) == []

    services.delete_customer(actor=None, customer=acme)

    assert claimant_id("shared") == globex.pk
    assert list(AccountingSession.objects.restrict(cast.bob)) == []
    assert list(
        AccountingSession.objects.restrict(cast.mallory).values_list("claimant_id", flat=True)
    ) == [globex.pk]


def test_the_claimant_is_matched_exactly_not_by_case(cast: Any, new_customer: Any) -> None:
    new_customer(operator=cast.north, username="Rahim")
    start_session("rahim")

    assert claimant_id("rahim") is None
    assert list(AccountingSession.objects.restrict(cast.alice)) == []
    # Nobody claims it: only a super admin acting for every ISP sees the row.
    assert AccountingSession.objects.restrict(cast.zed).count() == 1


def test_a_customer_that_does_not_claim_its_username_shows_no_sessions_and_is_never_disconnected(
    cast: Any, new_customer: Any
) -> None:
    first = globex_customer(new_customer, cast, "clash")
    second = new_customer(operator=cast.north, username="clash")
    start_session("clash")

    html = page(cast.bob, f"/customers/{second.pk}/")
    response = client_as(cast.bob).post(f"/customers/{second.pk}/disconnect/")

    assert 'data-testid="not-claimant"' in html
    assert 'data-testid="customer-sessions"' not in html
    assert response.status_code == 302
    assert Disconnect.objects.count() == 0
    assert services.is_online(first) is True
    assert services.is_online(second) is False


# ---- the live sessions page ------------------------------------------------------------------


def test_the_sessions_page_lists_open_sessions_of_visible_customers_only(
    cast: Any, new_customer: Any
) -> None:
    mine = new_customer(operator=cast.north, username="rahim", name="Rahim Uddin")
    sibling = new_customer(operator=cast.south, username="karim")
    start_session("rahim", calling_station_id="AA:BB:CC:00:00:07", input_octets=1536)
    start_session("karim")
    start_session("rahim", stop_time=timezone.now(), session_id="closed-one")

    html = page(cast.bob, "/radius/sessions/")

    assert f'href="/customers/{mine.pk}/"' in html
    assert "Rahim Uddin" in html
    assert "AA:BB:CC:00:00:07" in html
    assert "1.5\xa0KB" in html
    assert "00:10:0" in html  # duration since the start, ten minutes ago
    assert "karim" not in html
    assert "closed-one" not in html
    assert f'href="/customers/{sibling.pk}/"' in page(cast.alice, "/radius/sessions/")
    assert "every 30s" in html


def test_the_sessions_page_filters_by_nas_and_username_and_pages_by_key(
    cast: Any, new_customer: Any
) -> None:
    nas = make_nas_device(cast.north, "Core-1")
    for number in range(53):
        new_customer(operator=cast.north, username=f"k{number:02d}")
        start_session(f"k{number:02d}", nas=nas.address if number % 2 else "10.250.0.1")

    first = page(cast.bob, "/radius/sessions/")
    on_nas = page(cast.bob, "/radius/sessions/", nas=nas.pk)
    by_name = page(cast.bob, "/radius/sessions/", username="K1")

    assert first.count("<tr") == 51  # header + 50
    cursor = RadAcct.objects.order_by("-id")[49].pk
    assert f"after={cursor}" in first
    assert page(cast.bob, "/radius/sessions/", after=cursor).count("<tr") == 4
    assert on_nas.count("<tr") == 27  # header + the 26 odd ones
    assert ">Core-1<" in on_nas
    assert by_name.count("<tr") == 11  # k10 … k19


def test_a_manager_sees_only_sessions_of_assigned_customers(cast: Any, new_customer: Any) -> None:
    assigned = new_customer(operator=cast.acme_root, username="assigned", manager=cast.carol)
    new_customer(operator=cast.acme_root, username="other")
    start_session("assigned")
    start_session("other")

    rows = AccountingSession.objects.restrict(cast.carol)

    assert [row.claimant_id for row in rows] == [assigned.pk]


# ---- the authentication log -------------------------------------------------------------------


def log_attempt(username: str, reply: str = "Access-Accept", days_ago: int = 0) -> RadPostAuth:
    row = RadPostAuth.objects.create(
        username=username,
        reply=reply,
        calling_station_id="AA:BB:CC:00:00:09",
        called_station_id="pppoe-main",
    )
    if days_ago:
        RadPostAuth.objects.filter(pk=row.pk).update(
            authdate=timezone.now() - dt.timedelta(days=days_ago)
        )
    return row


def test_the_authentication_log_filters_by_result_username_and_date(
    cast: Any, new_customer: Any
) -> None:
    new_customer(operator=cast.acme_root, username="rahim")
    globex_customer(new_customer, cast, "theirs")
    log_attempt("rahim")
    log_attempt("rahim", "Access-Reject", days_ago=3)
    log_attempt("theirs")
    log_attempt("nobody", "Access-Reject")

    everything = page(cast.nina, "/radius/auth-log/")
    rejected = page(cast.nina, "/radius/auth-log/", result="Access-Reject")
    today = timezone.localdate().isoformat()
    recent = page(cast.nina, "/radius/auth-log/", since=today)

    assert everything.count(">rahim<") == 2
    assert "theirs" not in everything
    assert "nobody" not in everything
    assert rejected.count(">rahim<") == 1
    assert "Access-Accept" not in rejected.split("<tbody")[1]
    assert recent.count(">rahim<") == 1
    # Managers hold no network permission: the log is not theirs.
    assert client_as(cast.carol).get("/radius/auth-log/").status_code == 403


def test_the_authentication_log_exports_only_claimed_rows_as_csv(
    cast: Any, new_customer: Any, settings: Any, tmp_path: Any
) -> None:
    settings.EXPORT_ROOT = tmp_path
    customer = new_customer(operator=cast.acme_root, username="rahim")
    globex_customer(new_customer, cast, "theirs")
    log_attempt("rahim", "Access-Reject")
    log_attempt("theirs")
    progress = Progress(JobRun.objects.create(kind="export", label="export").pk)

    write_export(progress=progress, export="auth_log", filters={}, user=cast.nina)

    rows = list(csv.reader(export_path(progress.run_id).open(encoding="utf-8-sig")))
    assert rows[0] == ["when", "username", "customer_id", "reply", "mac", "nas"]
    assert [row[1:] for row in rows[1:]] == [
        ["rahim", str(customer.pk), "Access-Reject", "AA:BB:CC:00:00:09", "pppoe-main"]
    ]


def test_the_export_button_queues_the_auth_log_export_for_allowed_users(cast: Any) -> None:
    refused = client_as(cast.bob).post("/exports/auth_log/")  # operator admin: view only
    allowed = client_as(cast.nina).post("/exports/auth_log/", {"result": "Access-Reject"})

    assert refused.status_code == 403
    run = JobRun.objects.get()
    assert allowed.status_code == 302
    assert run.kind == "export"


# ---- the customer page: sessions, usage, disconnect -------------------------------------------


def archive(*rows: RadAcct) -> None:
    """Close and archive sessions as the accounting jobs do."""
    RadAcct.objects.filter(pk__in=[row.pk for row in rows]).update(
        counted_at=F("update_time"),
        counted_input=Coalesce("input_octets", 0),
        counted_output=Coalesce("output_octets", 0),
    )
    accounting.archive_sessions(older_than=dt.timedelta(0))


def test_the_sessions_tab_merges_live_and_archived_sessions_newest_first_by_page(
    cast: Any, new_customer: Any
) -> None:
    customer = new_customer(operator=cast.north, username="rahim")
    now = timezone.now()
    old = [
        start_session(
            "rahim",
            start_time=now - dt.timedelta(days=40 - day),
            update_time=now - dt.timedelta(days=40 - day),
            stop_time=now - dt.timedelta(days=40 - day, hours=-1),
            session_id=f"old{day:02d}",
        )
        for day in range(30)
    ]
    archive(*old)
    start_session("rahim", session_id="live-one")
    assert RadAcct.objects.count() == 1

    first = page(cast.bob, f"/customers/{customer.pk}/sessions/")
    second = page(cast.bob, f"/customers/{customer.pk}/sessions/", page=2)

    assert first.count("<tr>") == 26  # header + 25
    assert first.index("Online") < first.index(":00</td>")
    assert 'data-testid="older-sessions"' in first
    assert second.count("<tr>") == 7  # header + the 6 oldest of 31
    assert 'data-testid="older-sessions"' not in second


def test_the_usage_tab_charts_30_days_and_the_cycle_against_the_limit(
    cast: Any, new_customer: Any, shop: Any
) -> None:
    from ispbills.catalog import services as catalog

    capped = catalog.save_package(
        actor=None,
        operator=cast.acme_root,
        name="Capped",
        download_kbps=10000,
        upload_kbps=10000,
        price="500",
        data_limit_mb=1000,
    )
    customer = new_customer(
        operator=cast.north, username="rahim", package=capped, billing_profile=shop.monthly
    )
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(cast.acme.timezone))  # the ISP's day
    for back, (up, down) in enumerate([(100, 400), (50, 50), (0, 0), (10, 20)]):
        UsageDaily.objects.create(
            tenant_id=customer.tenant_id,
            customer_id=customer.pk,
            day=today - dt.timedelta(days=back),
            upload=up * accounting.MB,
            download=down * accounting.MB,
        )
    Presence.objects.create(
        customer_id=customer.pk, tenant_id=customer.tenant_id, last_seen_at=timezone.now()
    )

    from ispbills.customers.sessions import usage_of

    usage = usage_of(customer)
    chart = usage.chart()
    html = page(cast.bob, f"/customers/{customer.pk}/")

    start, after = accounting.cycle_bounds(today, 10)
    in_cycle = [
        (up, down)
        for back, (up, down) in enumerate([(100, 400), (50, 50), (0, 0), (10, 20)])
        if start <= today - dt.timedelta(days=back) < after
    ]
    assert (usage.cycle_start, usage.cycle_end) == (start, after - dt.timedelta(days=1))
    assert usage.cycle_total == sum(up + down for up, down in in_cycle) * accounting.MB
    assert len(chart["labels"]) == 30
    assert chart["labels"][-1] == today.isoformat()
    assert chart["upload"][-1] == 100.0
    assert chart["download"][-4:] == [20.0, 0.0, 50.0, 400.0]
    assert usage.limit_bytes == 1000 * accounting.MB
    assert 'id="usage-data"' in html
    assert "vendor/chartjs/chart.umd.min.js" in html
    assert 'data-testid="presence">Offline' in html


def test_the_disconnect_button_creates_a_pending_request(cast: Any, new_customer: Any) -> None:
    customer = new_customer(operator=cast.north, username="rahim")
    start_session("rahim")

    detail = page(cast.bob, f"/customers/{customer.pk}/")
    confirm = page(cast.bob, f"/customers/{customer.pk}/disconnect/")
    response = client_as(cast.bob).post(f"/customers/{customer.pk}/disconnect/")
    again = client_as(cast.bob).post(f"/customers/{customer.pk}/disconnect/")

    assert 'data-testid="disconnect"' in detail
    assert "csrfmiddlewaretoken" in confirm
    assert response.status_code == again.status_code == 302
    item = Disconnect.objects.get()  # the second press reuses the pending request
    assert (item.customer_id, item.username, item.kind, item.status) == (
        customer.pk,
        "rahim",
        "disconnect",
        "pending",
    )
    assert (item.requested_by, item.operator_id) == (cast.bob, customer.operator_id)
    assert AuditEvent.objects.filter(verb="customer.disconnected").count() == 2
    after = page(cast.bob, f"/customers/{customer.pk}/")
    assert "disconnected by staff" in after


def test_the_disconnect_button_writes_nothing_when_not_allowed_or_not_online(
    cast: Any, new_customer: Any
) -> None:
    customer = new_customer(operator=cast.acme_root, username="rahim")
    offline = new_customer(operator=cast.acme_root, username="karim")
    start_session("rahim")
    audit_before = AuditEvent.objects.count()

    noc = client_as(cast.nina).post(f"/customers/{customer.pk}/disconnect/")
    sibling = client_as(cast.sue).post(f"/customers/{customer.pk}/disconnect/")
    nobody_online = client_as(cast.alice).post(f"/customers/{offline.pk}/disconnect/")

    assert noc.status_code == 403  # NOC: customers.view only
    assert sibling.status_code == 404
    assert nobody_online.status_code == 302
    assert Disconnect.objects.count() == 0
    assert AuditEvent.objects.count() == audit_before
    assert 'data-testid="disconnect"' not in page(cast.nina, f"/customers/{customer.pk}/")


# ---- API ------------------------------------------------------------------------------------


def test_api_lists_open_sessions_scoped_and_filtered(
    cast: Any, new_customer: Any, api_for: Any
) -> None:
    mine = new_customer(operator=cast.north, username="rahim")
    new_customer(operator=cast.south, username="karim")
    nas = make_nas_device(cast.north, "Core-1")
    session = start_session("rahim", nas=nas.address)
    start_session("karim")
    start_session("rahim", stop_time=timezone.now())

    body = api_for(cast.bob).get("/api/v1/sessions/").json()
    on_nas = api_for(cast.alice).get("/api/v1/sessions/", {"nas": nas.pk}).json()
    by_name = api_for(cast.alice).get("/api/v1/sessions/", {"username": "kar"}).json()

    assert [(row["id"], row["customer"]) for row in body["results"]] == [(session.pk, mine.pk)]
    assert body["results"][0]["input_octets"] == 3 * 1024 * 1024
    assert [row["username"] for row in on_nas["results"]] == ["rahim"]
    assert [row["username"] for row in by_name["results"]] == ["karim"]


def test_api_customer_sessions_usage_and_disconnect(
    cast: Any, new_customer: Any, api_for: Any
) -> None:
    customer = new_customer(operator=cast.north, username="rahim")
    offline = new_customer(operator=cast.north, username="karim")
    live = start_session("rahim")
    today = timezone.localdate()
    UsageDaily.objects.create(
        tenant_id=customer.tenant_id, customer_id=customer.pk, day=today, upload=5, download=7
    )
    api = api_for(cast.bob)
    base = f"/api/v1/customers/{customer.pk}/"

    sessions = api.get(base + "sessions/").json()
    usage = api.get(base + "usage/", {"since": today.isoformat(), "until": today.isoformat()})
    bad = api.get(base + "usage/", {"since": "2026-02-01", "until": "2026-01-01"})
    not_online = api.post(f"/api/v1/customers/{offline.pk}/disconnect/")
    assert Disconnect.objects.count() == 0
    requested = api.post(base + "disconnect/")

    assert [row["id"] for row in sessions["results"]] == [live.pk]
    assert (sessions["page"], sessions["has_next"], sessions["claimed"]) == (1, False, True)
    assert usage.json()["days"] == [{"day": today.isoformat(), "upload": 5, "download": 7}]
    assert usage.json()["cycle"]["total"] == 12
    assert usage.json()["cycle"]["limit_bytes"] is None
    assert bad.status_code == 400
    assert (not_online.status_code, not_online.json()) == (
        200,
        {"status": "not online", "disconnect": None},
    )
    item = Disconnect.objects.get()
    assert (requested.status_code, requested.json()) == (
        202,
        {"status": "pending", "disconnect": item.pk},
    )


def test_api_disconnect_is_refused_without_change_permission(
    cast: Any, new_customer: Any, api_for: Any
) -> None:
    customer = new_customer(operator=cast.acme_root, username="rahim")
    start_session("rahim")

    response = api_for(cast.nina).post(f"/api/v1/customers/{customer.pk}/disconnect/")

    assert response.status_code == 403
    assert Disconnect.objects.count() == 0


def test_api_auth_log_is_scoped_by_claimant(cast: Any, new_customer: Any, api_for: Any) -> None:
    customer = new_customer(operator=cast.acme_root, username="rahim")
    globex_customer(new_customer, cast, "theirs")
    log_attempt("rahim", "Access-Reject")
    log_attempt("theirs")

    body = api_for(cast.nina).get("/api/v1/auth-log/", {"result": "Access-Reject"}).json()

    assert [(row["username"], row["customer"], row["reply"]) for row in body["results"]] == [
        ("rahim", customer.pk, "Access-Reject")
    ]
    assert AuthAttempt.objects.restrict(cast.mallory).filter(username="rahim").count() == 0


def test_the_customer_list_marks_and_filters_online_customers(
    cast: Any, new_customer: Any, api_for: Any
) -> None:
    online = new_customer(operator=cast.north, username="on-line")
    offline = new_customer(operator=cast.north, username="off-line")
    start_session("on-line")
    closed = start_session("off-line")
    RadAcct.objects.filter(pk=closed.pk).update(stop_time=timezone.now())

    everyone = page(cast.bob, "/customers/")
    only_online = page(cast.bob, "/customers/", online="true")
    only_offline = page(cast.bob, "/customers/", online="false")
    api = api_for(cast.bob).get("/api/v1/customers/", {"online": "true"}).json()

    assert everyone.count("bi-circle-fill text-success") == 1
    assert f"/customers/{online.pk}/" in only_online
    assert f"/customers/{offline.pk}/" not in only_online
    assert f"/customers/{offline.pk}/" in only_offline
    assert f"/customers/{online.pk}/" not in only_offline
    assert [row["username"] for row in api["results"]] == ["on-line"]


def test_out_of_range_pages_and_usage_dates_get_answers_not_errors(
    cast: Any, new_customer: Any, api_for: Any
) -> None:
    customer = new_customer(operator=cast.north, username="pager")
    api = api_for(cast.bob)

    deep = api.get(f"/api/v1/customers/{customer.pk}/sessions/", {"page": "1" + "0" * 20})
    tab = client_as(cast.bob).get(f"/customers/{customer.pk}/sessions/", {"page": "²"})
    ancient = api.get(f"/api/v1/customers/{customer.pk}/usage/", {"until": "0001-01-05"})
    open_ended = api.get(f"/api/v1/customers/{customer.pk}/usage/", {"since": "2001-01-01"})

    assert (deep.status_code, tab.status_code) == (200, 200)
    assert (ancient.status_code, open_ended.status_code) == (400, 400)
