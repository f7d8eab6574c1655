"""Accounting after FreeRADIUS: usage deltas, presence, stale sessions, archiving, FUP."""

import datetime as dt
from typing import Any

import pytest
from django.db import connection

from ispbills.catalog import services as catalog
from ispbills.customers import services
from ispbills.customers.models import Customer
from ispbills.radius import accounting
from ispbills.radius.models import Presence, RadAcct, RadUserGroup, SessionHistory, UsageDaily

pytestmark = pytest.mark.django_db

GB = 2**30
NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def customer(cast: Any) -> Customer:
    package = catalog.save_package(
        actor=None,
        operator=cast.acme_root,
        name="Capped 10",
        download_kbps=10000,
        upload_kbps=2000,
        price="500",
        data_limit_mb=1024,
        fup_download_kbps=1000,
        fup_upload_kbps=512,
    )
    return services.register_customer(
        actor=None,
        operator=cast.north,
        username="acct-rahim",
        name="Rahim",
        mobile="01711999001",
        service_password="pw-123456",
        package=package,
    )


def session(
    username: str, unique: str, *, at: dt.datetime, up: int = 0, down: int = 0, **more: Any
) -> RadAcct:
    """A radacct row as FreeRADIUS leaves it after an update at ``at``."""
    return RadAcct.objects.create(
        session_id=unique,
        unique_id=unique,
        username=username,
        nas_ip_address="10.0.0.1",
        start_time=more.pop("start", at - dt.timedelta(minutes=5)),
        update_time=at,
        input_octets=up,
        output_octets=down,
        **more,
    )


def update(row: RadAcct, *, at: dt.datetime, up: int, down: int, stop: bool = False) -> None:
    RadAcct.objects.filter(pk=row.pk).update(
        update_time=at, input_octets=up, output_octets=down, stop_time=at if stop else None
    )


def usage(customer: Customer) -> dict[dt.date, tuple[int, int]]:
    return {
        row.day: (row.upload, row.download)
        for row in UsageDaily.objects.filter(customer_id=customer.pk)
    }


def test_rollup_counts_deltas_of_cumulative_counters_never_sums(customer):
    row = session(customer.username, "s1", at=NOW, up=100, down=1000)
    accounting.rollup_usage()
    update(row, at=NOW + dt.timedelta(minutes=5), up=150, down=3000)
    accounting.rollup_usage()
    accounting.rollup_usage()  # nothing new: counts nothing twice

    # 150 up and 3000 down in all, not 100 + 150 and 1000 + 3000.
    assert usage(customer) == {dt.date(2026, 11, 26): (150, 3000)}


def test_rollup_handles_gigaword_sized_counters(customer):
    row = session(customer.username, "s1", at=NOW, up=GB * 4 + 7, down=0)
    accounting.rollup_usage()
    update(row, at=NOW + dt.timedelta(minutes=5), up=GB * 5 + 7, down=2 * 2**32 + 1)
    accounting.rollup_usage()

    assert usage(customer) == {dt.date(2026, 11, 26): (GB * 5 + 7, 2 * 2**32 + 1)}


def test_usage_lands_on_the_tenant_calendar_day(customer):
    # 19:30 UTC is 01:30 the next day in Dhaka (UTC+6), the tenant's zone.
    session(customer.username, "s1", at=dt.datetime(2026, 11, 26, 19, 30, tzinfo=dt.UTC), up=5)

    accounting.rollup_usage()

    assert usage(customer) == {dt.date(2026, 11, 27): (5, 0)}


def test_rollup_refreshes_presence_and_ignores_unknown_users(customer):
    session(customer.username, "s1", at=NOW, up=1, framed_ip_address="100.64.0.9")
    session("nobody-we-know", "s2", at=NOW, up=1)

    counted = accounting.rollup_usage()

    assert counted == 2
    presence = Presence.objects.get(customer_id=customer.pk)
    assert presence.last_seen_at == NOW
    assert presence.last_address == "100.64.0.9"
    assert UsageDaily.objects.count() == 1
    assert RadAcct.objects.filter(counted_at__isnull=True).count() == 0


def test_rollup_works_through_batches(customer):
    for number in range(7):
        session(customer.username, f"s{number}", at=NOW, up=10)

    assert accounting.rollup_usage(batch=3) == 7
    assert usage(customer) == {dt.date(2026, 11, 26): (70, 0)}


def test_stale_sessions_are_closed_at_their_last_update(customer):
    quiet = session(customer.username, "quiet", at=NOW - dt.timedelta(minutes=30))
    alive = session(customer.username, "alive", at=NOW - dt.timedelta(minutes=2))

    closed = accounting.close_stale_sessions(now=NOW)

    quiet.refresh_from_db()
    alive.refresh_from_db()
    assert closed == 1
    assert quiet.stop_time == NOW - dt.timedelta(minutes=30)
    assert quiet.terminate_cause == "Stale-Session"
    assert alive.stop_time is None
    assert accounting.close_stale_sessions(now=NOW) == 0  # idempotent


def test_archive_moves_counted_closed_sessions_into_month_partitions(customer):
    october = dt.datetime(2026, 10, 30, 8, 0, tzinfo=dt.UTC)
    old = session(customer.username, "old", at=october, up=9)
    update(old, at=october, up=9, down=0, stop=True)
    recent = session(customer.username, "recent", at=NOW - dt.timedelta(minutes=10), up=1)
    update(recent, at=NOW - dt.timedelta(minutes=10), up=1, down=0, stop=True)
    uncounted = session(customer.username, "uncounted", at=october)
    update(uncounted, at=october, up=0, down=0, stop=True)
    accounting.rollup_usage()
    RadAcct.objects.filter(pk=uncounted.pk).update(input_octets=4)  # a late Stop, not counted
    RadAcct.objects.filter(pk=uncounted.pk).update(update_time=october + dt.timedelta(seconds=1))

    moved = accounting.archive_sessions(now=NOW)

    assert moved == 1
    assert set(RadAcct.objects.values_list("unique_id", flat=True)) == {"recent", "uncounted"}
    archived = SessionHistory.objects.get()
    assert (archived.unique_id, archived.input_octets) == ("old", 9)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM radacct_history WHERE acctuniqueid = 'old'"
        )
        assert cursor.fetchone()[0] == "radacct_history_2026_10"
    assert accounting.archive_sessions(now=NOW) == 0


def test_cycle_bounds_follow_the_due_day_and_short_months():
    assert accounting.cycle_bounds(dt.date(2026, 11, 26), None) == (
        dt.date(2026, 11, 1),
        dt.date(2026, 12, 1),
    )
    assert accounting.cycle_bounds(dt.date(2026, 11, 3), 10) == (
        dt.date(2026, 10, 10),
        dt.date(2026, 11, 10),
    )
    assert accounting.cycle_bounds(dt.date(2027, 2, 28), 31) == (
        dt.date(2027, 2, 28),
        dt.date(2027, 3, 31),
    )
    assert accounting.cycle_bounds(dt.date(2027, 1, 5), 15) == (
        dt.date(2026, 12, 15),
        dt.date(2027, 1, 15),
    )


def test_cycle_start_sql_agrees_with_cycle_bounds():
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(0, 400, 7)]
    with connection.cursor() as cursor:
        for due_day in (None, 1, 10, 29, 31):
            cursor.execute(
                f"SELECT {accounting.cycle_start_sql('d', 'due')} "
                "FROM unnest(%s::date[]) AS d, coalesce(%s::int, 1) AS due",
                [days, due_day],
            )
            got = [row[0] for row in cursor.fetchall()]
            assert got == [accounting.cycle_bounds(day, due_day)[0] for day in days], due_day
            cursor.execute(
                f"SELECT {accounting.next_cycle_start_sql('s', 'due')} "
                "FROM unnest(%s::date[]) AS s, coalesce(%s::int, 1) AS due",
                [got, due_day],
            )
            following = [row[0] for row in cursor.fetchall()]
            assert following == [accounting.cycle_bounds(day, due_day)[1] for day in days]


def test_fair_usage_moves_a_customer_over_the_limit_to_fup_and_back(customer):
    today = dt.datetime.now(dt.UTC)
    session(customer.username, "big", at=today, down=1024 * accounting.MB + 1)
    accounting.rollup_usage()

    result = services.apply_fair_usage()

    customer.refresh_from_db()
    assert result == {"fup": 1, "restored": 0}
    assert customer.status == Customer.Status.FUP
    group = RadUserGroup.objects.get(username=customer.username)
    assert group.groupname.startswith("fup-")
    assert services.apply_fair_usage() == {"fup": 0, "restored": 0}

    # A new cycle: the usage is in the previous one.
    UsageDaily.objects.filter(customer_id=customer.pk).update(
        day=dt.datetime.now(dt.UTC).date() - dt.timedelta(days=40)
    )
    result = services.apply_fair_usage()

    customer.refresh_from_db()
    assert result == {"fup": 0, "restored": 1}
    assert customer.status == Customer.Status.ACTIVE
    assert RadUserGroup.objects.get(username=customer.username).groupname.startswith("pkg-")


def test_fair_usage_leaves_customers_under_the_limit_and_suspended_ones(customer, cast):
    session(customer.username, "small", at=dt.datetime.now(dt.UTC), down=1000)
    accounting.rollup_usage()

    assert services.apply_fair_usage() == {"fup": 0, "restored": 0}
    customer.refresh_from_db()
    assert customer.status == Customer.Status.ACTIVE


def test_the_settle_command_runs_the_accounting_job(customer):
    from io import StringIO

    from django.core.management import call_command

    session(customer.username, "s1", at=dt.datetime.now(dt.UTC), up=10)
    out = StringIO()

    call_command("radius", "settle", stdout=out)

    assert out.getvalue().strip() == "0 stale sessions closed, 1 sessions counted, 0 archived."
    assert usage(customer)


def test_the_disconnect_command_refuses_an_unknown_username(customer):
    from django.core.management import CommandError, call_command

    from ispbills.radius.models import Disconnect

    with pytest.raises(CommandError, match="No customer has the username 'ghost'"):
        call_command("radius", "disconnect", "ghost")
    call_command("radius", "disconnect", customer.username)  # not online: nothing to do
    assert not Disconnect.objects.exists()
