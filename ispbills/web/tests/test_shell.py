"""The panel shell: sidebar per role, dashboard counts, profile tokens, tenant switcher,
money and time helpers, language, job progress, audit log and its export."""

import datetime as dt
import hashlib
import re
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.template import Context, Template
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from ispbills.core import audit
from ispbills.core.models import AuditEvent, JobRun
from ispbills.core.testing.isolation import client_as
from ispbills.tenancy import services
from ispbills.tenancy.middleware import SELECTED_TENANT_KEY
from ispbills.tenancy.models import ApiToken, LoginAttempt
from ispbills.web.templatetags.ispbills import money


class _NavLinks(HTMLParser):
    """Collects the ``href`` of every ``.nav-link`` anchor (the sidebar entries)."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and "nav-link" in (values.get("class") or "").split():
            self.hrefs.append(values.get("href") or "")


def menu_links(html: str) -> list[str]:
    parser = _NavLinks()
    parser.feed(html)
    return parser.hrefs


def counts(html: str) -> list[int]:
    return [int(value) for value in re.findall(r'data-testid="count">(\d+)<', html)]


def operator_ids_listed(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'href="/operators/(\d+)/"', html)}


# ---- sidebar per role --------------------------------------------------------------------

CUSTOMERS = {"/customers/", "/zones/"}
CATALOG = {"/packages/", "/billing-profiles/", "/vat-profiles/", "/custom-fields/"}
SESSIONS = {"/radius/sessions/"}  # customers.view
NETWORK = SESSIONS | {
    "/ip-pools/",
    "/pppoe-profiles/",
    "/radius/nas/",
    "/radius/auth-log/",
    "/radius/disconnects/",
}
BILLING = {"/bills/", "/billing-runs/", "/reminders/", "/reports/vat/"}  # billing.view
PAYMENTS = {"/payments/", "/payments/online/"}  # payments.view
PAYMENT_SETTINGS = {"/payments/online/attention/", "/payments/gateways/"}  # payments.change
NETWORK_SETTINGS = {"/network/settings/"}  # the whole ISP's: its root operator's staff
BILLING_SETTINGS = {"/billing/settings/"}  # likewise, with billing.change
ACCOUNTING = {
    "/accounts/",
    "/journal/",
    "/transfers/",
    "/reports/",
}  # accounting.view, reports.view
EXPENSES = {"/expenses/", "/expenses/categories/"}  # expenses.view
CARDS = {
    "/cards/dashboard/",
    "/cards/batches/",
    "/cards/",
    "/cards/usage/",
    "/cards/commissions/",
    "/cards/payments/",
    "/cards/redemptions/",
}  # cards.view
EVERYTHING_BUT_ISPS = (
    {
        "/",
        "/operators/",
        "/users/",
        "/jobs/",
        "/audit/",
        "/login-log/",
        "/api/docs/",
        "/customers/deleted/",
    }
    | CUSTOMERS
    | CATALOG
    | NETWORK
    | BILLING
    | PAYMENTS
    | PAYMENT_SETTINGS
    | ACCOUNTING
    | EXPENSES
    | CARDS
)
MENU_OF = {
    "alice": EVERYTHING_BUT_ISPS | NETWORK_SETTINGS | BILLING_SETTINGS,
    "bob": EVERYTHING_BUT_ISPS,
    "carol": {"/", "/jobs/", "/api/docs/"} | CUSTOMERS | CATALOG | SESSIONS | BILLING | PAYMENTS,
    "nina": {"/", "/jobs/", "/api/docs/"} | CUSTOMERS | CATALOG | NETWORK | NETWORK_SETTINGS,
    "dave": {"/", "/jobs/", "/api/docs/"} | CUSTOMERS | SESSIONS | PAYMENTS | CARDS,
    "ann": {"/", "/operators/", "/jobs/", "/audit/", "/login-log/", "/api/docs/"}
    | CUSTOMERS
    | CATALOG
    | SESSIONS
    | BILLING
    | PAYMENTS
    | PAYMENT_SETTINGS
    | ACCOUNTING
    | EXPENSES
    | CARDS,
    "zed": EVERYTHING_BUT_ISPS | NETWORK_SETTINGS | BILLING_SETTINGS | {"/isps/"},
}


@pytest.mark.parametrize("username", MENU_OF)
def test_sidebar_shows_exactly_the_entries_of_the_role(username: str, cast: Any) -> None:
    client = client_as(getattr(cast, username))

    response = client.get("/")

    assert response.status_code == 200
    links = menu_links(response.content.decode())
    assert len(links) == len(set(links))
    assert set(links) == MENU_OF[username]


@pytest.mark.parametrize(
    ("username", "status"),
    [("alice", 200), ("bob", 200), ("ann", 200), ("nina", 403), ("carol", 403), ("dave", 403)],
)
def test_operator_list_opens_only_for_roles_that_view_operators(
    username: str, status: int, cast: Any
) -> None:
    response = client_as(getattr(cast, username)).get("/operators/")

    assert response.status_code == status


def test_operator_list_shows_money_columns_to_who_may_see_money(cast: Any) -> None:
    response = client_as(cast.bob).get("/operators/")

    page = response.content.decode()
    assert "Credit limit" in page
    assert "Balance" in page
    assert "৳ 10,000.00" in page


def test_operator_list_hides_money_columns_when_money_view_is_revoked(cast: Any) -> None:
    services.set_special_permission(
        actor=None, user=cast.bob, permission="money.view", granted=False
    )

    response = client_as(cast.bob).get("/operators/")

    assert response.status_code == 200
    page = response.content.decode()
    assert operator_ids_listed(page) == {cast.north.pk, cast.north_point.pk}
    assert "Credit limit" not in page
    assert "Balance" not in page
    assert "sort=credit_limit" not in page
    assert "sort=balance" not in page
    assert "৳" not in page


def test_operator_detail_hides_money_when_money_view_is_revoked(cast: Any) -> None:
    services.set_special_permission(
        actor=None, user=cast.bob, permission="money.view", granted=False
    )

    response = client_as(cast.bob).get(f"/operators/{cast.north_point.pk}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "North Point" in page
    assert "Credit limit" not in page
    assert "৳" not in page


# ---- special permissions -----------------------------------------------------------------


def test_granting_audit_view_to_noc_shows_the_audit_log(cast: Any) -> None:
    client = client_as(cast.nina)
    assert client.get("/audit/").status_code == 403

    services.set_special_permission(
        actor=None, user=cast.nina, permission="audit.view", granted=True
    )

    assert set(menu_links(client.get("/").content.decode())) == MENU_OF["nina"] | {
        "/audit/",
        "/login-log/",
    }
    assert client.get("/audit/").status_code == 200


def test_revoking_audit_view_from_a_group_admin_closes_the_audit_log(cast: Any) -> None:
    client = client_as(cast.alice)
    assert client.get("/audit/").status_code == 200

    services.set_special_permission(
        actor=None, user=cast.alice, permission="audit.view", granted=False
    )

    assert client.get("/audit/").status_code == 403
    assert client.get("/login-log/").status_code == 403
    links = set(menu_links(client.get("/").content.decode()))
    assert (
        links
        == EVERYTHING_BUT_ISPS - {"/audit/", "/login-log/"} | NETWORK_SETTINGS | BILLING_SETTINGS
    )


# ---- dashboard ---------------------------------------------------------------------------


def _fresh_slate() -> None:
    """Move the cast's own rows to two days ago so "today" holds only what a test adds."""
    two_days_ago = timezone.now() - dt.timedelta(days=2)
    AuditEvent.objects.update(at=two_days_ago)
    LoginAttempt.objects.update(at=two_days_ago)


def test_dashboard_counts_only_what_a_reseller_reaches(cast: Any) -> None:
    _fresh_slate()
    for operator in (cast.north, cast.north_point, cast.south, cast.globex_east):
        audit.record(None, "test.event", operator, tenant=operator.tenant, operator=operator)
    old = audit.record(None, "test.event", cast.north, tenant=cast.acme, operator=cast.north)
    AuditEvent.objects.filter(pk=old.pk).update(at=timezone.now() - dt.timedelta(days=3))
    services.record_login_attempt(username="sam", user=cast.sam, success=False, reason="x")
    services.record_login_attempt(username="sam", user=cast.sam, success=True)
    services.record_login_attempt(username="sue", user=cast.sue, success=False, reason="x")
    for operator, status in (
        (cast.north, JobRun.Status.QUEUED),
        (cast.north_point, JobRun.Status.RUNNING),
        (cast.north, JobRun.Status.SUCCEEDED),
        (cast.south, JobRun.Status.RUNNING),
        (cast.globex_east, JobRun.Status.RUNNING),
    ):
        JobRun.objects.create(
            tenant=operator.tenant, operator=operator, kind="test", label="t", status=status
        )

    response = client_as(cast.bob).get("/")

    # Operators (North, North Point), staff (bob, sam), audit today (North, North Point,
    # sam's successful login), failed logins today (sam), jobs queued or running.
    assert counts(response.content.decode()) == [2, 2, 3, 1, 2]


def test_dashboard_counts_for_a_group_admin_cover_the_whole_isp(cast: Any) -> None:
    _fresh_slate()

    response = client_as(cast.alice).get("/")

    # Operators below the root (North, North Point, South) and all eight Acme staff users.
    assert counts(response.content.decode()) == [3, 8, 0, 0, 0]


def test_dashboard_shows_no_cards_a_role_may_not_see(cast: Any) -> None:
    response = client_as(cast.dave).get("/")

    page = response.content.decode()
    assert counts(page) == [0]  # jobs running only: its voucher sheets are printed by jobs
    assert "Jobs running" in page
    assert "Staff users" not in page
    assert "Audit events today" not in page


# ---- profile and API tokens --------------------------------------------------------------


def test_creating_a_token_shows_it_once_and_stores_only_its_hash(cast: Any) -> None:
    client = client_as(cast.alice)

    response = client.post("/profile/", {"name": "billing sync"})

    assert response.status_code == 200
    page = response.content.decode()
    match = re.search(
        r'data-testid="new-token">.*?<code[^>]*>(isp_[A-Za-z0-9_\-]+)</code>', page, re.S
    )
    assert match is not None
    plain = match.group(1)
    token = ApiToken.objects.get(user=cast.alice)
    assert token.name == "billing sync"
    assert token.key_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert token.prefix == plain[:10]
    assert plain not in {token.key_hash, token.prefix, token.name}
    again = client.get("/profile/").content.decode()
    assert 'data-testid="new-token"' not in again
    assert plain not in again
    assert "billing sync" in again


def test_refuses_a_token_without_a_name(cast: Any) -> None:
    response = client_as(cast.alice).post("/profile/", {"name": ""})

    assert response.status_code == 400
    assert 'data-testid="new-token"' not in response.content.decode()
    assert ApiToken.objects.count() == 0


def test_revoking_ones_own_token_marks_it_revoked(cast: Any) -> None:
    token, _plain = services.create_api_token(actor=None, user=cast.alice, name="old script")
    client = client_as(cast.alice)

    response = client.post(f"/profile/tokens/{token.pk}/revoke/")

    assert response.status_code == 302
    assert response["Location"] == "/profile/"
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(verb="api_token.revoked", object_id=str(token.pk)).count() == 1
    assert "Revoked" in client.get("/profile/").content.decode()


def test_revoking_another_users_token_is_not_found_and_changes_nothing(cast: Any) -> None:
    token, _plain = services.create_api_token(actor=None, user=cast.bob, name="bob script")

    response = client_as(cast.alice).post(f"/profile/tokens/{token.pk}/revoke/")

    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert not AuditEvent.objects.filter(verb="api_token.revoked").exists()


def test_revoking_refuses_get(cast: Any) -> None:
    token, _plain = services.create_api_token(actor=None, user=cast.alice, name="script")

    response = client_as(cast.alice).get(f"/profile/tokens/{token.pk}/revoke/")

    assert response.status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None


# ---- super admin tenant switcher ---------------------------------------------------------


def test_super_admin_narrows_the_panel_to_the_isp_picked(cast: Any) -> None:
    client = client_as(cast.zed)
    everything = operator_ids_listed(client.get("/operators/").content.decode())
    assert {cast.north.pk, cast.globex_east.pk} <= everything

    response = client.post("/switch-tenant/", {"tenant": cast.globex.pk})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[SELECTED_TENANT_KEY] == cast.globex.pk
    assert operator_ids_listed(client.get("/operators/").content.decode()) == {
        cast.globex_root.pk,
        cast.globex_east.pk,
    }


def test_super_admin_goes_back_to_all_isps(cast: Any) -> None:
    client = client_as(cast.zed)
    client.post("/switch-tenant/", {"tenant": cast.globex.pk})

    client.post("/switch-tenant/", {"tenant": ""})

    assert SELECTED_TENANT_KEY not in client.session
    listed = operator_ids_listed(client.get("/operators/").content.decode())
    assert {cast.acme_root.pk, cast.north.pk, cast.globex_root.pk, cast.globex_east.pk} <= listed


def test_refuses_the_tenant_switch_to_anyone_but_a_super_admin(cast: Any) -> None:
    client = client_as(cast.alice)

    response = client.post("/switch-tenant/", {"tenant": cast.globex.pk})

    assert response.status_code == 403
    assert SELECTED_TENANT_KEY not in client.session
    assert operator_ids_listed(client.get("/operators/").content.decode()) == {
        cast.acme_root.pk,
        cast.north.pk,
        cast.north_point.pk,
        cast.south.pk,
    }


def test_tenant_switcher_is_shown_only_to_super_admins(cast: Any) -> None:
    assert 'data-testid="tenant-switcher"' in client_as(cast.zed).get("/").content.decode()
    assert 'data-testid="tenant-switcher"' not in client_as(cast.alice).get("/").content.decode()


# ---- money and time helpers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1234.5"), "৳ 1,234.50"),
        (Decimal("-10"), "-৳ 10.00"),
        (Decimal("0"), "৳ 0.00"),
        (Decimal("1234567.891"), "৳ 1,234,567.89"),
        (None, ""),
    ],
)
def test_money_filter_formats_taka(value: Decimal | None, shown: str) -> None:
    assert money(value) == shown


def test_money_filter_uses_the_currency_given() -> None:
    rendered = Template("{% load ispbills %}{{ amount|money:'USD' }}").render(
        Context({"amount": Decimal("99.5")})
    )

    assert rendered == "$ 99.50"


def test_tenant_time_shows_utc_times_in_the_tenant_zone() -> None:
    template = Template("{% load ispbills %}{{ at|tenant_time }}|{{ at|tenant_time:'H:i:s' }}")
    context = Context({"at": dt.datetime(2026, 11, 26, 12, 10, 5, tzinfo=dt.UTC)})

    with timezone.override("Asia/Dhaka"):
        in_dhaka = template.render(context)
    with timezone.override("UTC"):
        in_utc = template.render(context)

    assert in_dhaka == "2026-11-26 18:10|18:10:05"
    assert in_utc == "2026-11-26 12:10|12:10:05"


def test_tenant_time_crosses_midnight_into_the_next_day() -> None:
    template = Template("{% load ispbills %}{{ at|tenant_time }}")

    with timezone.override("Asia/Dhaka"):
        rendered = template.render(
            Context({"at": dt.datetime(2026, 12, 31, 19, 30, tzinfo=dt.UTC)})
        )

    assert rendered == "2027-01-01 01:30"


def test_tenant_time_leaves_missing_values_empty() -> None:
    rendered = Template("{% load ispbills %}[{{ at|tenant_time }}]").render(Context({"at": None}))

    assert rendered == "[]"


def test_operator_detail_shows_the_credit_limit_in_taka(cast: Any) -> None:
    response = client_as(cast.alice).get(f"/operators/{cast.north.pk}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "৳ 10,000.00" in page
    assert "৳ 0.00" in page


def test_pages_show_times_in_the_tenant_zone(cast: Any) -> None:
    event = audit.record(None, "test.clock", cast.north, tenant=cast.acme, operator=cast.north)
    AuditEvent.objects.filter(pk=event.pk).update(
        at=dt.datetime(2026, 3, 1, 20, 15, 30, tzinfo=dt.UTC)
    )

    page = client_as(cast.alice).get("/audit/?verb=test.clock").content.decode()

    assert "2026-03-02 02:15:30" in page
    assert "2026-03-01 20:15:30" not in page


# ---- language ----------------------------------------------------------------------------


def test_switching_to_bangla_sets_the_cookie_and_the_page_language(cast: Any) -> None:
    client = client_as(cast.alice)
    assert '<html lang="en">' in client.get("/").content.decode()

    response = client.post("/i18n/setlang/", {"language": "bn", "next": "/profile/"})

    assert response.status_code == 302
    assert response["Location"] == "/profile/"
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "bn"
    assert '<html lang="bn">' in client.get("/").content.decode()


def test_switching_language_works_before_login(cast: Any) -> None:
    client = client_as(cast.alice)
    client.post("/logout/")

    client.post("/i18n/setlang/", {"language": "bn", "next": "/login/"})

    assert '<html lang="bn">' in client.get("/login/").content.decode()


# ---- job progress ------------------------------------------------------------------------


def _job_at_40_percent(cast: Any) -> JobRun:
    return JobRun.objects.create(
        tenant=cast.acme,
        operator=cast.acme_root,
        kind="export",
        label="Export of customers",
        status=JobRun.Status.RUNNING,
        percent=40,
        message="800 of 2000 rows",
    )


def test_job_page_shows_the_progress(cast: Any) -> None:
    run = _job_at_40_percent(cast)

    response = client_as(cast.alice).get(f"/jobs/{run.pk}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" in page
    assert 'aria-valuenow="40"' in page
    assert ">40%<" in page
    assert "800 of 2000 rows" in page
    assert 'hx-trigger="every 1s"' in page


def test_job_page_answers_htmx_polls_with_the_partial_only(cast: Any) -> None:
    run = _job_at_40_percent(cast)

    response = client_as(cast.alice).get(f"/jobs/{run.pk}/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page
    assert 'id="job-progress"' in page
    assert ">40%<" in page
    assert 'hx-trigger="every 1s"' in page


def test_job_page_stops_polling_once_the_job_succeeded(cast: Any) -> None:
    run = _job_at_40_percent(cast)
    client = client_as(cast.alice)
    JobRun.objects.filter(pk=run.pk).update(
        status=JobRun.Status.SUCCEEDED, percent=100, finished_at=timezone.now()
    )

    response = client.get(f"/jobs/{run.pk}/", HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert "<html" not in page
    assert 'data-status="succeeded"' in page
    assert ">100%<" in page
    assert "hx-trigger" not in page
    assert "hx-get" not in page


def test_job_page_of_another_isp_is_not_found(cast: Any) -> None:
    run = _job_at_40_percent(cast)

    response = client_as(cast.mallory).get(f"/jobs/{run.pk}/", HTTP_HX_REQUEST="true")

    assert response.status_code == 404


# ---- audit log and export ----------------------------------------------------------------


def test_audit_list_filters_by_verb(cast: Any) -> None:
    client = client_as(cast.alice)

    everything = client.get("/audit/").content.decode()
    filtered = client.get("/audit/?verb=operator.created").content.decode()

    assert everything.count(">user.created</a>") == 8
    assert everything.count(">operator.created</a>") == 3
    assert filtered.count(">operator.created</a>") == 3
    assert filtered.count(">user.created</a>") == 0
    assert filtered.count(">tenant.created</a>") == 0


def test_audit_list_offers_export_only_with_audit_export(cast: Any) -> None:
    services.set_special_permission(
        actor=None, user=cast.bob, permission="audit.export", granted=False
    )

    with_export = client_as(cast.alice).get("/audit/").content.decode()
    without_export = client_as(cast.bob).get("/audit/").content.decode()

    assert 'action="/exports/audit_events/"' in with_export
    assert 'action="/exports/audit_events/"' not in without_export


def test_export_queues_a_job_and_shows_its_page(cast: Any) -> None:
    client = client_as(cast.alice)

    response = client.post("/exports/audit_events/", {"verb": "user.created"})

    run = JobRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{run.pk}/"
    assert (run.kind, run.status, run.created_by, run.tenant_id, run.operator_id) == (
        "export",
        JobRun.Status.QUEUED,
        cast.alice,
        cast.acme.pk,
        cast.acme_root.pk,
    )
    assert run.result_permission == "audit.export"
    job = ProcrastinateJob.objects.get(args__run_id=run.pk)
    assert job.task_name.endswith("export_task")
    assert job.args["export"] == "audit_events"
    assert job.args["filters"] == {"verb": "user.created"}
    assert job.args["user_id"] == cast.alice.pk
    assert client.get(response["Location"]).status_code == 200


def test_refuses_the_export_without_audit_export_and_queues_nothing(cast: Any) -> None:
    jobs_before = ProcrastinateJob.objects.count()

    response = client_as(cast.carol).post("/exports/audit_events/", {"verb": "user.created"})

    assert response.status_code == 403
    assert JobRun.objects.count() == 0
    assert ProcrastinateJob.objects.count() == jobs_before


def test_export_of_an_unknown_list_is_not_found(cast: Any) -> None:
    response = client_as(cast.alice).post("/exports/no_such_list/")

    assert response.status_code == 404
    assert JobRun.objects.count() == 0
