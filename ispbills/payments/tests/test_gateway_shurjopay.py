"""shurjoPay v2: the shared token, secret-pay and verification, against the fake."""

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection

from ispbills.payments.gateways import services as gateways
from ispbills.payments.gateways.base import CallbackRequest
from ispbills.payments.gateways.fakes.base import BrowserReturn
from ispbills.payments.models import Payment, PaymentAttempt
from ispbills.payments.tests.gateway_contract import GatewayContract, start
from ispbills.payments.tests.gateway_kit import gateway_account, serve_fake

pytestmark = pytest.mark.django_db

LOGIN = r"/api/get_token"
SECRET_PAY = r"/api/secret-pay"


class TestShurjopayContract(GatewayContract):
    code = "shurjopay"
    verify_path = r"/api/verification"
    secret_names = ("password",)
    bad_credentials = {"password": "wrong"}

    def early_success(self, fake: Any, attempt: PaymentAttempt) -> CallbackRequest:
        # The return names shurjoPay's order and nothing else: verification decides.
        order = fake.orders[attempt.provider_ref]
        return BrowserReturn(
            "GET", f"{order.return_url}?order_id={order.sp_order_id}"
        ).as_callback()


@pytest.fixture
def shurjopay(cast: Any) -> Any:
    with serve_fake("shurjopay") as (fake, server):
        account = gateway_account(cast.acme_root, "shurjopay", server.url)
        yield fake, account


def test_secret_pay_carries_our_reference_and_the_bearer_token(register, shurjopay):
    fake, account = shurjopay

    attempt = start(account, register(), "800")

    order = fake.orders[attempt.provider_ref]
    assert attempt.provider_ref.startswith(fake.credentials["prefix"])
    assert (order.customer_order_id, str(order.amount), order.currency) == (
        attempt.merchant_ref,
        "800.00",
        "BDT",
    )
    call = fake.calls(SECRET_PAY)[0]
    token = next(iter(fake.tokens))
    assert call.headers["authorization"] == f"Bearer {token}"


def test_one_login_serves_every_payment_and_the_token_is_stored_encrypted(register, shurjopay):
    fake, account = shurjopay

    for _ in range(3):
        start(account, register())

    assert len(fake.calls(LOGIN)) == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT state FROM payments_gatewayaccount WHERE id = %s", [account.pk])
        raw = cursor.fetchone()[0]
    assert raw.startswith("fernet:")
    assert next(iter(fake.tokens)) not in raw


def test_the_token_lifetime_is_seconds_and_it_is_renewed_before_it_ends(register, shurjopay):
    fake, account = shurjopay
    t0 = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)
    with time_machine.travel(t0, tick=False):
        start(account, register())
    with time_machine.travel(t0 + dt.timedelta(minutes=58), tick=False):
        start(account, register())  # still good: not milliseconds
    assert len(fake.calls(LOGIN)) == 1
    with time_machine.travel(t0 + dt.timedelta(minutes=59, seconds=30), tick=False):
        start(account, register())  # within a minute of its end: renewed first
    assert len(fake.calls(LOGIN)) == 2


def test_a_token_shurjopay_no_longer_accepts_is_renewed_once_and_the_call_goes_on(
    register, shurjopay
):
    fake, account = shurjopay
    start(account, register())
    fake.expire_tokens()

    attempt = start(account, register())

    assert attempt.state == "pending"
    assert len(fake.calls(LOGIN)) == 2
    assert [r.headers.get("authorization", "")[:6] for r in fake.calls(SECRET_PAY)] == [
        "Bearer"
    ] * 3  # the refused one and its retry


def test_a_wrong_password_fails_the_attempt_with_nothing_placed(cast, register):
    with serve_fake("shurjopay") as (fake, server):
        credentials = {**fake.credentials, "password": "wrong"}
        account = gateway_account(cast.acme_root, "shurjopay", server.url, credentials)
        started = gateways.start_attempt(
            actor=None, account=account, amount="800", purpose="advance", customer=register()
        )

    assert started.result is None
    assert (started.attempt.state, started.attempt.outcome) == ("failed", "provider_error")
    assert "Unauthorized" in started.attempt.message
    assert fake.orders == {}
    assert Payment.objects.count() == 0
