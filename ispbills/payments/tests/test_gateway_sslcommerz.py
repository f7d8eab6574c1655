"""SSLCommerz hosted checkout: the real adapter against the fake over HTTP."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from ispbills.core.models import AuditEvent
from ispbills.payments.gateways import services as gateways
from ispbills.payments.gateways.fakes.base import BrowserReturn
from ispbills.payments.models import GatewayExchange, Payment
from ispbills.payments.tests.gateway_kit import gateway_account, serve_fake

pytestmark = pytest.mark.django_db

VALIDATE = r"/validator/api/validationserverAPI\.php"
QUERY = r"/validator/api/merchantTransIDvalidationAPI\.php"


@pytest.fixture
def ssl(cast: Any) -> Any:
    with serve_fake("sslcommerz") as (fake, server):
        account = gateway_account(cast.acme_root, "sslcommerz", server.url)
        yield fake, account


def start(account: Any, customer: Any, amount: str = "800") -> Any:
    started = gateways.start_attempt(
        actor=None, account=account, amount=amount, purpose="advance", customer=customer
    )
    assert started.result is not None, started.attempt.message
    return started.attempt


def test_a_validated_payment_credits_the_customer_once(cast, register, ssl, client):
    fake, account = ssl
    customer = register()
    attempt = start(account, customer)
    assert attempt.state == "pending"
    assert "SESSIONKEY=" + attempt.provider_ref in attempt.data["start"]["redirect_url"]

    back = fake.complete(attempt.provider_ref)
    # The browser's cross-site POST, through the real view (no session cookie, no CSRF token).
    response = client.post("/pay/gw/sslcommerz/return/", back.form)

    assert response.status_code == 302
    assert response["Location"].startswith("/pay/result/")
    attempt.refresh_from_db()
    session = fake.sessions[attempt.provider_ref]
    assert (attempt.state, attempt.provider_txn_id) == ("verified", session["bank_tran_id"])
    payment = Payment.objects.get()
    assert (payment.method, payment.gateway, payment.amount, payment.to_advance) == (
        "online",
        "sslcommerz",
        Decimal("800.00"),
        Decimal("800.00"),
    )
    page = client.get(response["Location"])
    assert 'data-state="verified"' in page.content.decode()


def test_the_ipn_and_the_return_together_credit_once(cast, register, ssl, client):
    fake, account = ssl
    attempt = start(account, register())
    back = fake.complete(attempt.provider_ref)

    ipn = client.post("/pay/gw/sslcommerz/ipn/", fake.ipn(attempt.provider_ref).form)
    again = gateways.handle_callback("sslcommerz", back.as_callback())

    assert (ipn.status_code, ipn.content) == (200, b"OK")
    assert again.result == "already_verified"
    assert Payment.objects.count() == 1
    assert len(fake.calls(VALIDATE)) == 1  # the second callback asked nothing


def test_stored_exchanges_hide_the_store_password(cast, register, ssl):
    fake, account = ssl
    attempt = start(account, register())
    gateways.handle_callback("sslcommerz", fake.complete(attempt.provider_ref).as_callback())

    rows = GatewayExchange.objects.filter(attempt=attempt)
    assert [r.label for r in rows] == ["session", "return callback", "validate"]
    dump = repr([(r.url, r.request_body, r.response_body) for r in rows])
    assert fake.credentials["store_passwd"] not in dump
    assert "store_passwd=%5Bredacted%5D" in dump


def test_a_cancelled_payment_is_checked_with_the_provider_and_fails(cast, register, ssl):
    fake, account = ssl
    attempt = start(account, register())

    outcome = gateways.handle_callback(
        "sslcommerz", fake.complete(attempt.provider_ref, "cancel").as_callback()
    )

    attempt.refresh_from_db()
    assert (outcome.result, attempt.state, attempt.outcome) == ("failed", "failed", "cancelled")
    assert len(fake.calls(QUERY)) == 1
    assert Payment.objects.count() == 0


def test_a_failed_payment_fails(cast, register, ssl):
    fake, account = ssl
    attempt = start(account, register())

    outcome = gateways.handle_callback(
        "sslcommerz", fake.complete(attempt.provider_ref, "failure").as_callback()
    )

    attempt.refresh_from_db()
    assert (outcome.result, attempt.state, attempt.outcome) == ("failed", "failed", "declined")
    assert Payment.objects.count() == 0


def test_a_forged_signature_is_refused_audited_and_asks_nothing(cast, register, ssl):
    fake, account = ssl
    attempt = start(account, register())
    back = fake.complete(attempt.provider_ref)
    forged = BrowserReturn("POST", back.url, {**back.form, "amount": "10.00"})

    outcome = gateways.handle_callback("sslcommerz", forged.as_callback("ipn"))

    attempt.refresh_from_db()
    assert outcome.result == "forged"
    assert attempt.state == "pending"
    assert fake.calls(VALIDATE) == []
    assert fake.calls(QUERY) == []
    assert AuditEvent.objects.filter(verb="gateway.callback_forged").count() == 1
    assert Payment.objects.count() == 0


def test_an_unsigned_success_claim_is_only_a_hint(cast, register, ssl):
    _fake, account = ssl
    attempt = start(account, register())
    claim = BrowserReturn(
        "POST", "/pay/gw/sslcommerz/return/", {"tran_id": attempt.merchant_ref, "status": "VALID"}
    )

    outcome = gateways.handle_callback("sslcommerz", claim.as_callback())

    attempt.refresh_from_db()
    assert (outcome.result, attempt.state) == ("pending", "pending")  # the query: not paid yet
    assert Payment.objects.count() == 0


def test_a_callback_before_payment_then_after_verification(cast, register, ssl):
    fake, account = ssl
    attempt = start(account, register())
    early = BrowserReturn(
        "POST", "/", {"tran_id": attempt.merchant_ref, "status": "VALID", "val_id": "nope"}
    )

    before = gateways.handle_callback("sslcommerz", early.as_callback())
    paid = gateways.handle_callback("sslcommerz", fake.complete(attempt.provider_ref).as_callback())
    after = gateways.handle_callback(
        "sslcommerz", fake.ipn(attempt.provider_ref).as_callback("ipn")
    )

    assert (before.result, paid.result, after.result) == ("pending", "verified", "already_verified")
    assert Payment.objects.count() == 1


def test_a_different_settled_amount_needs_attention(cast, register, ssl):
    fake, account = ssl
    attempt = start(account, register(), "800")
    fake.amount_override = "900.00"

    outcome = gateways.handle_callback(
        "sslcommerz", fake.complete(attempt.provider_ref).as_callback()
    )

    attempt.refresh_from_db()
    assert outcome.result == "attention"
    assert (attempt.outcome, attempt.needs_attention, attempt.confirmed_amount) == (
        "overpaid",
        True,
        Decimal("900.00"),
    )
    assert Payment.objects.count() == 0


def test_a_high_risk_payment_is_held_for_a_person(cast, register, ssl):
    fake, account = ssl
    fake.risk_level = "1"
    attempt = start(account, register())

    outcome = gateways.handle_callback(
        "sslcommerz", fake.complete(attempt.provider_ref).as_callback()
    )

    attempt.refresh_from_db()
    assert (outcome.result, attempt.needs_attention) == ("attention", True)
    assert Payment.objects.count() == 0
    # A person accepts it after checking the payer: credited once.
    gateways.resolve_attempt(actor=cast.alice, attempt=attempt, accept=True, note="called payer")
    attempt.refresh_from_db()
    assert (attempt.state, attempt.needs_attention) == ("verified", False)
    assert Payment.objects.count() == 1


def test_a_validation_timeout_then_reconciliation(cast, register, ssl, settings):
    settings.PAYMENT_GATEWAY_READ_TIMEOUT = 0.5
    fake, account = ssl
    attempt = start(account, register())
    fake.stall(VALIDATE, 1.0)

    outcome = gateways.handle_callback(
        "sslcommerz", fake.complete(attempt.provider_ref).as_callback()
    )

    attempt.refresh_from_db()
    assert (outcome.result, attempt.state) == ("unknown", "unknown")
    assert Payment.objects.count() == 0

    assert gateways.reconcile(now=attempt.created_at + dt.timedelta(minutes=30)) == {"verified": 1}
    assert Payment.objects.count() == 1


def test_a_lost_return_is_settled_by_reconciliation(cast, register, ssl):
    fake, account = ssl
    attempt = start(account, register())
    fake.complete(attempt.provider_ref)  # paid, but neither the browser nor the IPN arrives

    # Too early: left to its callback.
    assert gateways.reconcile(now=attempt.created_at + dt.timedelta(minutes=1)) == {}
    assert gateways.reconcile(now=attempt.created_at + dt.timedelta(minutes=30)) == {"verified": 1}
    assert Payment.objects.count() == 1


def test_an_abandoned_session_expires_after_a_day(cast, register, ssl):
    _fake, account = ssl
    attempt = start(account, register())

    with time_machine.travel(attempt.created_at + dt.timedelta(hours=25), tick=False):
        counts = gateways.reconcile()

    attempt.refresh_from_db()
    assert counts == {"failed": 1}
    assert (attempt.state, attempt.outcome) == ("failed", "expired")


def test_wrong_store_credentials_fail_the_connection_test(cast, ssl):
    fake, account = ssl
    ok, _message = gateways.test_account(actor=cast.alice, account=account)
    assert ok is True

    fake.credentials["store_passwd"] = "changed-at-sslcommerz"
    ok, _message = gateways.test_account(actor=cast.alice, account=account)

    account.refresh_from_db()
    assert ok is False
    assert "INVALID_REQUEST" in account.check_message
