"""Disconnect and CoA end to end: a real FreeRADIUS for accounting, fake routers for RFC 5176."""

import datetime as dt
import time
from typing import Any

import pytest
from django.utils import timezone

from ispbills.catalog import services as catalog
from ispbills.core.models import AuditEvent
from ispbills.customers import services
from ispbills.radius import disconnect
from ispbills.radius.models import Disconnect, DisconnectAttempt, Nas, NasDevice, RadAcct
from ispbills.radius.services import delete_nas_device, save_nas_device
from ispbills.radius.tasks import (
    customer_updated_task,
    provision_packages_task,
    status_changed_task,
)
from ispbills.radius.tests.conftest import SECRET

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _quick_routers(settings: Any) -> None:
    settings.RADIUS_DYNAUTH_TIMEOUT = 0.2


@pytest.fixture
def online(cast: Any, freeradius: Any, fake_nas: Any, home: Any) -> Any:
    """``online(mode)``: a customer with a live session on a fake router of that mode."""

    def make(mode: str = "honest", username: str = "dc-rahim") -> tuple[Any, Any]:
        nas = fake_nas(
            mode=mode, nas_ip="127.0.0.1", accounting=("127.0.0.1", freeradius.acct_port)
        )
        save_nas_device(
            actor=None,
            operator=cast.acme_root,
            name=f"router-{mode}",
            address="127.0.0.1",
            secret=SECRET,
            coa_port=nas.port,
        )
        customer = services.register_customer(
            actor=None,
            operator=cast.north,
            username=username,
            name="Rahim",
            mobile="01711999003",
            service_password="pw-123456",
            package=home,
        )
        session = nas.add_session(username, "80f00001", "100.64.0.77", start=True)
        assert RadAcct.objects.filter(username=username, stop_time__isnull=True).exists()
        return customer, nas, session

    return make


def later(seconds: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)


def wait_closed(username: str) -> bool:
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if not RadAcct.objects.filter(username=username, stop_time__isnull=True).exists():
            return True
        time.sleep(0.05)
    return False


def test_suspension_disconnects_and_verifies_through_accounting(online):
    customer, nas, _session = online("honest")
    services.suspend_customer(actor=None, customer=customer, reason="unpaid")
    status_changed_task(
        event="customer.status_changed", customer_id=customer.pk, old="active", new="suspended"
    )
    item = Disconnect.objects.get(customer_id=customer.pk)

    assert disconnect.process(item.pk) == Disconnect.Status.PENDING
    assert wait_closed(customer.username)  # the router's Stop reached FreeRADIUS
    assert disconnect.process(item.pk, now=later(BACKOFF0)) == Disconnect.Status.DONE

    item.refresh_from_db()
    assert item.outcome == "verified: no open session"
    assert item.reason == "status active → suspended"
    attempt = DisconnectAttempt.objects.get(disconnect=item)
    assert (attempt.result, attempt.session_id, attempt.nas_address) == (
        "ack",
        "80f00001",
        "127.0.0.1",
    )
    assert nas.received[0].attributes["User-Name"] == [customer.username]
    assert RadAcct.objects.get(username=customer.username).terminate_cause == "Admin-Reset"


BACKOFF0 = disconnect.BACKOFF[0]


def test_a_router_that_acks_but_keeps_the_session_ends_unresolved(online):
    customer, _nas, _session = online("liar")
    item = disconnect.request_for_customers([customer.pk], kind="disconnect", reason="test")
    pk = Disconnect.objects.get(customer_id=customer.pk).pk
    assert item == 1

    moment = timezone.now()
    for wait in (0, *disconnect.BACKOFF):
        moment += dt.timedelta(seconds=wait)
        disconnect.process(pk, now=moment)

    item = Disconnect.objects.get(pk=pk)
    assert item.status == Disconnect.Status.UNRESOLVED
    assert item.outcome == f"1 session(s) still open after {len(disconnect.BACKOFF)} attempts"
    results = list(
        DisconnectAttempt.objects.filter(disconnect=item).values_list("result", flat=True)
    )
    assert results == ["ack"] * len(disconnect.BACKOFF)
    assert AuditEvent.objects.filter(verb="radius.disconnect_unresolved").count() == 1
    assert RadAcct.objects.filter(username=customer.username, stop_time__isnull=True).exists()


def test_a_silent_router_is_retried_with_backoff_then_unresolved(online):
    customer, nas, _session = online("silent")
    disconnect.request_for_customers([customer.pk], kind="disconnect", reason="test")
    item = Disconnect.objects.get(customer_id=customer.pk)

    first = timezone.now()
    disconnect.process(item.pk, now=first)
    item.refresh_from_db()
    early = disconnect.process(item.pk, now=first + dt.timedelta(seconds=1))  # not due yet

    assert early is None
    assert item.attempts == 1
    assert item.next_try_at == first + dt.timedelta(seconds=BACKOFF0)
    assert item.outcome == "timeout"
    assert len(nas.received) == 3  # the packet and its two retransmissions
    moment = first
    for wait in disconnect.BACKOFF:
        moment += dt.timedelta(seconds=wait)
        disconnect.process(item.pk, now=moment)
    item.refresh_from_db()
    assert item.status == Disconnect.Status.UNRESOLVED


def test_a_package_change_re_rates_the_session_by_coa(online, cast):
    customer, _nas, session = online("honest")
    faster = catalog.save_package(
        actor=None,
        operator=cast.acme_root,
        name="Home 40",
        download_kbps=40000,
        upload_kbps=10000,
        price="1200",
    )
    services.update_customer(actor=None, customer=customer, package=faster)
    customer_updated_task(event="customer.updated", customer_id=customer.pk, fields=["package"])
    item = Disconnect.objects.get(customer_id=customer.pk)

    assert item.kind == Disconnect.Kind.COA
    assert disconnect.process(item.pk) == Disconnect.Status.DONE
    assert session.rate_limit == "10000k/40000k"
    assert RadAcct.objects.filter(username=customer.username, stop_time__isnull=True).exists()


def test_a_refused_coa_falls_back_to_a_disconnect(online):
    customer, _nas, _session = online("coa_unsupported")
    disconnect.request_for_customers([customer.pk], kind="coa", reason="package changed")
    coa = Disconnect.objects.get(customer_id=customer.pk, kind="coa")

    disconnect.process(coa.pk)

    coa.refresh_from_db()
    assert coa.outcome == "CoA refused: falling back to disconnect"
    fallback = Disconnect.objects.get(customer_id=customer.pk, kind="disconnect")
    assert fallback.reason == "package changed (CoA nak)"
    assert DisconnectAttempt.objects.get(disconnect=coa).error_cause == "Unsupported-Extension"
    disconnect.process(fallback.pk)
    assert wait_closed(customer.username)


def test_a_customer_not_online_gets_no_request_and_a_direct_one_is_done_at_once(
    cast, home, freeradius
):
    customer = services.register_customer(
        actor=None,
        operator=cast.north,
        username="dc-offline",
        name="Offline",
        mobile="01711999004",
        service_password="pw-123456",
        package=home,
    )

    assert disconnect.request_for_customers([customer.pk], kind="disconnect", reason="x") == 0
    item = disconnect.request(
        tenant_id=customer.tenant_id,
        operator_id=customer.operator_id,
        customer_id=customer.pk,
        username=customer.username,
        kind="disconnect",
        reason="staff",
    )
    assert item is not None
    assert disconnect.process(item.pk) == Disconnect.Status.DONE
    item.refresh_from_db()
    assert item.outcome == "not online"
    assert not DisconnectAttempt.objects.exists()


def test_a_session_on_an_unknown_router_is_logged_as_such(online):
    customer, nas, _session = online("honest")
    delete_nas_device(actor=None, device=NasDevice.objects.get())
    disconnect.request_for_customers([customer.pk], kind="disconnect", reason="x")
    item = Disconnect.objects.get(customer_id=customer.pk)

    disconnect.process(item.pk)

    assert DisconnectAttempt.objects.get(disconnect=item).result == "no-nas"
    assert nas.received == []
    assert not Nas.objects.exists()


def test_a_second_request_while_one_is_pending_reuses_it(online):
    customer, _nas, _session = online("liar")
    disconnect.request_for_customers([customer.pk], kind="disconnect", reason="first")
    disconnect.request_for_customers([customer.pk], kind="disconnect", reason="second")

    item = Disconnect.objects.get(customer_id=customer.pk)
    assert item.reason == "second"


def test_a_new_package_speed_re_rates_its_live_sessions_and_a_new_price_does_not(
    online, cast, home
):
    customer, _nas, session = online("honest")

    catalog.save_package(actor=None, operator=cast.acme_root, package=home, price="900")
    provision_packages_task(event="package.saved", package_ids=[home.pk])
    assert not Disconnect.objects.exists()

    catalog.save_package(actor=None, operator=cast.acme_root, package=home, download_kbps=30000)
    provision_packages_task(event="package.saved", package_ids=[home.pk])
    item = Disconnect.objects.get(customer_id=customer.pk)

    assert (item.kind, item.reason) == ("coa", "package speed changed")
    assert disconnect.process(item.pk) == Disconnect.Status.DONE
    assert session.rate_limit == "5000k/30000k"


def test_a_namesake_in_another_isp_never_disconnects_the_claimants_session(cast, home):
    from ispbills.catalog.tests.makers import make_package

    acme = services.register_customer(
        actor=None,
        operator=cast.north,
        username="same-name",
        name="Acme's",
        mobile="01711999011",
        service_password="pw-123456",
        package=home,
    )
    globex = services.register_customer(
        actor=None,
        operator=cast.globex_east,
        username="same-name",
        name="Globex's",
        mobile="01711999012",
        service_password="pw-123456",
        package=make_package(cast.globex_east, "Globex Home"),
    )
    RadAcct.objects.create(
        session_id="n1", unique_id="n1", username="same-name", nas_ip_address="10.0.0.1"
    )

    # The session is Acme's customer's (the claimant): Globex's suspension leaves it alone.
    assert disconnect.request_for_customers([globex.pk], kind="disconnect", reason="x") == 0
    assert not Disconnect.objects.exists()
    assert disconnect.request_for_customers([acme.pk], kind="disconnect", reason="x") == 1
    assert Disconnect.objects.get().customer_id == acme.pk
