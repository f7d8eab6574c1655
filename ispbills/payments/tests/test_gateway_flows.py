"""Where gateways are used: payment links and the public page, operator top-ups, the panel's
settings and queue, the API; and the framework's own rules (redaction, settings, scoping)."""

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import signing

from ispbills.billing import automation
from ispbills.billing import services as billing
from ispbills.core import clock
from ispbills.core.errors import DomainError, NotAllowedError
from ispbills.core.models import AuditEvent
from ispbills.customers.models import Customer
from ispbills.payments.gateways import links
from ispbills.payments.gateways import services as gateways
from ispbills.payments.gateways.http import GatewayHttp, Redactor
from ispbills.payments.models import GatewayAccount, Payment, PaymentAttempt
from ispbills.payments.tests.gateway_kit import gateway_account, serve_fake
from ispbills.tenancy.models import Operator

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle() -> Any:
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def bkash(cast: Any) -> Any:
    with serve_fake("bkash") as (fake, server):
        account = gateway_account(cast.acme_root, "bkash", server.url, for_operators=True)
        yield fake, account


def suspended_with_a_bill(register: Any) -> tuple[Customer, Any]:
    """A prepaid customer whose validity ended (billing suspended it) with this month's bill."""
    customer = register()
    now = clock.now()
    Customer.objects.filter(pk=customer.pk).update(expires_at=now - dt.timedelta(days=2))
    customer.refresh_from_db()
    bill = billing.generate_bill(actor=None, customer=customer)
    automation.suspend_overdue(now=now)
    customer.refresh_from_db()
    assert customer.status == "suspended"
    return customer, bill


def link_for(customer: Customer, bill: Any = None, days: int = 7) -> str:
    return (
        "/pay/"
        + links.make_link_token(customer.pk, getattr(bill, "pk", None), dt.timedelta(days=days))
        + "/"
    )


# -- payment links and the public page --------------------------------------------------------


def test_a_payment_link_shows_the_amount_and_the_gateways_then_pays_and_reactivates(
    cast, register, bkash, client
):
    fake, account = bkash
    customer, bill = suspended_with_a_bill(register)
    url = link_for(customer, bill)

    page = client.get(url)
    text = page.content.decode()
    assert page.status_code == 200
    assert bill.display_number in text
    assert f'value="{account.pk}"' in text  # the bKash button

    started = client.post(url, {"gateway": account.pk})
    assert started.status_code == 302
    attempt = PaymentAttempt.objects.get()
    assert started["Location"] == attempt.data["start"]["redirect_url"]
    assert (attempt.amount, attempt.bill_id, attempt.purpose) == (bill.total, bill.pk, "bill")

    back = urlsplit(fake.complete(attempt.provider_ref).url)  # the browser returns to us
    landing = client.get(f"{back.path}?{back.query}")
    result = client.get(landing["Location"])

    assert 'data-state="verified"' in result.content.decode()
    customer.refresh_from_db()
    bill.refresh_from_db()
    assert (customer.status, bill.status) == ("active", "paid")
    assert Payment.objects.get().reactivated is True


def test_a_bill_link_pays_that_bill_whatever_amount_is_posted(cast, register, bkash, client):
    _fake, account = bkash
    customer, bill = suspended_with_a_bill(register)

    client.post(link_for(customer, bill), {"gateway": account.pk, "amount": "1.00"})

    assert PaymentAttempt.objects.get().amount == bill.total


def test_a_customer_link_with_nothing_due_takes_an_advance(cast, register, bkash, client):
    _fake, account = bkash
    customer = register()

    client.post(link_for(customer), {"gateway": account.pk, "amount": "250"})

    attempt = PaymentAttempt.objects.get()
    assert (attempt.purpose, attempt.amount) == ("advance", Decimal("250.00"))


def test_forged_altered_and_expired_links_open_nothing(cast, register, bkash, client):
    customer = register()
    good = link_for(customer)
    token = good.split("/")[2]
    altered = signing.dumps({"c": customer.pk + 1, "b": None, "e": 9999999999}, salt="other")

    assert client.get(f"/pay/{token[:-2]}xx/").status_code == 404
    assert client.get(f"/pay/{altered}/").status_code == 404
    with time_machine.travel(clock.now() + dt.timedelta(days=8)):
        assert client.get(good).status_code == 404
        assert client.post(good, {"gateway": bkash[1].pk}).status_code == 404
    assert PaymentAttempt.objects.count() == 0


def test_a_link_offers_only_the_gateways_of_the_customers_operator_tree(
    cast, register, bkash, client
):
    globex = GatewayAccount(
        tenant=cast.globex, operator=cast.globex_root, provider="sslcommerz", label="GLOBEXGW"
    )
    globex.set_credentials({"store_id": "g", "store_passwd": "gpass"})
    globex.save()
    customer = register()

    page = client.get(link_for(customer)).content.decode()
    refused = client.post(link_for(customer), {"gateway": globex.pk, "amount": "100"})

    assert "GLOBEXGW" not in page
    assert "Choose how to pay" in refused.content.decode()
    assert PaymentAttempt.objects.count() == 0


def test_the_payment_page_speaks_bangla(cast, register, bkash, client):
    customer = register()
    client.cookies["django_language"] = "bn"

    page = client.get(link_for(customer), HTTP_ACCEPT_LANGUAGE="bn")

    assert page.status_code == 200
    assert 'lang="bn"' in page.content.decode()


def test_starting_payments_from_one_address_is_rate_limited(cast, register, bkash, client):
    _fake, account = bkash
    customer = register()
    url = link_for(customer)
    codes = [
        client.post(url, {"gateway": account.pk, "amount": "100"}).status_code for _ in range(21)
    ]

    assert codes[:20] == [302] * 20
    assert codes[20] == 429
    assert PaymentAttempt.objects.count() == 20


# -- operator top-ups ---------------------------------------------------------------------------


def test_an_operator_top_up_credits_its_balance_once_through_the_ledger(cast, bkash):
    fake, account = bkash
    before = Operator.objects.get(pk=cast.north.pk).balance

    started = gateways.start_attempt(
        actor=cast.bob,
        account=account,
        amount="5000",
        purpose="operator_funds",
        payer_operator=cast.north,
    )
    callback = fake.complete(started.attempt.provider_ref).as_callback()
    first = gateways.handle_callback("bkash", callback)
    again = gateways.handle_callback("bkash", callback)

    assert (first.result, again.result) == ("verified", "already_verified")
    assert Operator.objects.get(pk=cast.north.pk).balance == before + Decimal("5000.00")
    assert Payment.objects.count() == 0


def test_an_operator_cannot_top_up_through_a_gateway_not_open_to_top_ups(cast, bkash):
    _fake, account = bkash
    GatewayAccount.objects.filter(pk=account.pk).update(for_operators=False)
    account.refresh_from_db()

    with pytest.raises(NotAllowedError):
        gateways.start_attempt(
            actor=cast.bob,
            account=account,
            amount="500",
            purpose="operator_funds",
            payer_operator=cast.north,
        )
    assert PaymentAttempt.objects.count() == 0


# -- settings, the queue, manual verification ----------------------------------------------------


def test_saved_secrets_are_encrypted_masked_and_kept_when_left_empty(cast, client):
    account = gateways.save_account(
        actor=cast.alice,
        operator=cast.acme_root,
        provider="sslcommerz",
        values={"store_id": "acme01", "store_passwd": "SECRET-PASS-1"},
    )
    gateways.save_account(
        actor=cast.alice,
        operator=cast.acme_root,
        provider="sslcommerz",
        values={"store_id": "acme02", "store_passwd": ""},
        account=account,
    )

    account.refresh_from_db()
    assert account.get_credentials() == {
        "store_id": "acme02",
        "store_passwd": "SECRET-PASS-1",
        "product_profile": "non-physical-goods",
    }
    raw = GatewayAccount.objects.filter(pk=account.pk).values_list("credentials", flat=True)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM payments_gatewayaccount WHERE id=%s", [account.pk])
        stored = cursor.fetchone()[0]
    assert stored.startswith("fernet:")
    assert "SECRET-PASS-1" not in stored
    assert list(raw)
    client.force_login(cast.alice)
    for url in (f"/payments/gateways/{account.pk}/", f"/payments/gateways/{account.pk}/edit/"):
        page = client.get(url).content.decode()
        assert "SECRET-PASS-1" not in page
    assert "acme02" in client.get(f"/payments/gateways/{account.pk}/").content.decode()
    changes = AuditEvent.objects.filter(verb="gateway.account_changed").get().changes
    assert "SECRET-PASS-1" not in repr(changes)


def test_a_missing_credential_is_refused_with_nothing_saved(cast):
    with pytest.raises(DomainError) as refused:
        gateways.save_account(
            actor=cast.alice, operator=cast.acme_root, provider="bkash", values={"username": "u"}
        )
    assert set(refused.value.fields) >= {"password", "app_key", "app_secret"}
    assert GatewayAccount.objects.count() == 0


def test_a_manager_may_not_configure_gateways(cast):
    with pytest.raises(NotAllowedError):
        gateways.save_account(
            actor=cast.carol,
            operator=cast.acme_root,
            provider="sslcommerz",
            values={"store_id": "x", "store_passwd": "y"},
        )
    assert GatewayAccount.objects.count() == 0


def test_the_panel_adds_a_gateway_and_tests_its_connection(cast, client):
    with serve_fake("sslcommerz") as (fake, server):
        client.force_login(cast.alice)
        chooser = client.get("/payments/gateways/add/")
        assert "?provider=sslcommerz" in chooser.content.decode()
        saved = client.post(
            "/payments/gateways/add/?provider=sslcommerz",
            {
                "operator": cast.acme_root.pk,
                "provider": "sslcommerz",
                "label": "Cards",
                "enabled": "on",
                "sandbox": "on",
                "base_url": server.url,
                "for_customers": "on",
                "cred_store_id": fake.credentials["store_id"],
                "cred_store_passwd": fake.credentials["store_passwd"],
                "cred_product_profile": "non-physical-goods",
            },
        )
        account = GatewayAccount.objects.get()
        assert saved["Location"] == f"/payments/gateways/{account.pk}/"

        client.post(f"/payments/gateways/{account.pk}/test/")

    account.refresh_from_db()
    assert account.check_message == "SSLCommerz accepted the store credentials."
    assert account.checked_at is not None


def test_unknown_attempts_reach_the_queue_and_a_person_closes_them(cast, register, bkash, client):
    fake, account = bkash
    started = gateways.start_attempt(
        actor=None, account=account, amount="800", purpose="advance", customer=register()
    )
    attempt = started.attempt
    fake.payments.clear()  # bKash has lost it: the query answers "Invalid Payment ID"

    later = attempt.created_at + gateways.UNKNOWN_LIMIT + dt.timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        assert gateways.reconcile() == {"attention": 1}

    attempt.refresh_from_db()
    assert (attempt.state, attempt.needs_attention) == ("unknown", True)
    client.force_login(cast.alice)
    queue = client.get("/payments/online/attention/").content.decode()
    assert attempt.merchant_ref in queue
    detail = client.get(f"/payments/online/{attempt.pk}/").content.decode()
    assert "Invalid Payment ID" in detail  # the provider's raw answer

    client.post(
        f"/payments/online/{attempt.pk}/resolve/", {"decision": "close", "note": "never paid"}
    )

    attempt.refresh_from_db()
    assert (attempt.state, attempt.needs_attention) == ("failed", False)
    assert AuditEvent.objects.filter(verb="gateway.attempt_closed").count() == 1
    assert Payment.objects.count() == 0


def test_accepting_an_attempt_the_provider_does_not_confirm_is_refused(cast, register, bkash):
    _fake, account = bkash
    attempt = gateways.start_attempt(
        actor=None, account=account, amount="800", purpose="advance", customer=register()
    ).attempt
    gateways.flag_for_attention(attempt, "test")

    with pytest.raises(DomainError):
        gateways.resolve_attempt(actor=cast.alice, attempt=attempt, accept=True, note="sure?")

    attempt.refresh_from_db()
    assert (attempt.state, attempt.needs_attention) == ("pending", True)
    assert Payment.objects.count() == 0


def test_staff_verify_with_the_provider_from_the_panel(cast, register, bkash, client):
    fake, account = bkash
    attempt = gateways.start_attempt(
        actor=None, account=account, amount="800", purpose="advance", customer=register()
    ).attempt
    callback = fake.complete(attempt.provider_ref).as_callback()
    gateways.handle_callback("bkash", callback)  # verified
    client.force_login(cast.alice)

    response = client.post(f"/payments/online/{attempt.pk}/check/")

    assert response.status_code == 302
    assert AuditEvent.objects.filter(verb="gateway.attempt_checked").count() == 0  # verified
    assert Payment.objects.count() == 1


# -- API ----------------------------------------------------------------------------------------


def test_api_creates_payment_links_and_lists_attempts_in_reach(cast, register, bkash, api_for):
    _fake, account = bkash
    customer = register()
    api = api_for(cast.alice)

    made = api.post(f"/api/v1/customers/{customer.pk}/payment-links/", {"days": 3}, format="json")

    assert made.status_code == 201
    token = made.json()["url"].rstrip("/").rsplit("/", 1)[-1]
    assert links.read_link_token(token).customer_id == customer.pk
    gateways.start_attempt(
        actor=None, account=account, amount="300", purpose="advance", customer=customer
    )
    listed = api.get("/api/v1/payment-attempts/").json()
    assert [row["merchant_ref"] for row in listed["results"]] == [
        PaymentAttempt.objects.get().merchant_ref
    ]
    assert api_for(cast.mallory).get("/api/v1/payment-attempts/").json()["results"] == []
    other = api_for(cast.mallory).post(
        f"/api/v1/customers/{customer.pk}/payment-links/", {}, format="json"
    )
    assert other.status_code == 404


def test_api_gateways_never_return_secrets(cast, api_for):
    api = api_for(cast.alice)
    made = api.post(
        "/api/v1/payment-gateways/",
        {
            "provider": "sslcommerz",
            "label": "Cards",
            "credentials": {"store_id": "acme01", "store_passwd": "TOPSECRET99"},
        },
        format="json",
    )

    assert made.status_code == 201, made.content
    body = made.json()
    assert "TOPSECRET99" not in made.content.decode()
    assert body["settings"]["store_id"] == "acme01"
    assert "store_passwd" in body["credentials_set"]
    listed = api.get("/api/v1/payment-gateways/")
    assert "TOPSECRET99" not in listed.content.decode()
    assert (
        api_for(cast.carol)
        .post("/api/v1/payment-gateways/", {"provider": "bkash"}, format="json")
        .status_code
        == 403
    )


# -- the HTTP helper ----------------------------------------------------------------------------


def test_redaction_by_name_and_by_value():
    redactor = Redactor({"sensitiveData"})
    redactor.add(["hunter2-secret"])

    assert redactor.url("https://x/api?store_id=a&store_passwd=p4ss&v=1") == (
        "https://x/api?store_id=a&store_passwd=%5Bredacted%5D&v=1"
    )
    assert redactor.body(
        '{"app_secret": "zz", "n": {"sensitiveData": "enc"}, "m": "x hunter2-secret"}'
    ) == ('{"app_secret": "[redacted]", "n": {"sensitiveData": "[redacted]"}, "m": "x [redacted]"}')
    assert redactor.headers({"Authorization": "tok", "X-Other": "hunter2-secret"}) == {
        "authorization": "[redacted]",
        "x-other": "[redacted]",
    }


def test_an_unreachable_provider_is_not_delivered_and_a_slow_one_times_out():
    from ispbills.payments.gateways.base import GatewayTimeout, GatewayUnavailable
    from ispbills.payments.gateways.fakes.base import FakeProvider, FakeResponse, route
    from ispbills.payments.gateways.fakes.server import FakeServer

    class Slow(FakeProvider):
        code = "slow"

        @route("GET", r"/slow")
        def slow(self, request: Any, match: Any) -> FakeResponse:
            return FakeResponse.json({"ok": True})

    fake = Slow()
    fake.stall(r"/slow", 1.0)
    http = GatewayHttp(read_timeout=0.3)
    with FakeServer(fake) as server:
        with pytest.raises(GatewayTimeout):
            http.request("slow", "GET", f"{server.url}/slow")
        port = server.url.rsplit(":", 1)[1]
    with pytest.raises(GatewayUnavailable):
        http.request("gone", "GET", f"http://127.0.0.1:{port}/slow")
    assert [e.error.split(":")[0] for e in http.exchanges] == ["no answer in time", "not delivered"]


def test_the_demo_hub_serves_each_fake_under_its_code(cast, register):
    from ispbills.payments.gateways.fakes import fake_class
    from ispbills.payments.gateways.fakes.server import FakeServer

    fakes = {code: fake_class(code)() for code in ("bkash", "sslcommerz")}
    with FakeServer(fakes=fakes) as hub:
        for code in fakes:
            gateway_account(cast.acme_root, code, f"{hub.url}/{code}")
        customer = register()
        for account in GatewayAccount.objects.order_by("provider"):
            started = gateways.start_attempt(
                actor=None, account=account, amount="500", purpose="advance", customer=customer
            )
            assert started.result is not None, started.attempt.message
            assert started.result.redirect_url.startswith(f"{hub.url}/{account.provider}/")
        back = fakes["bkash"].complete(PaymentAttempt.objects.get(provider="bkash").provider_ref)
        assert gateways.handle_callback("bkash", back.as_callback()).result == "verified"
