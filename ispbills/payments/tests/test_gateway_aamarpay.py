"""aamarPay: the JSON payment API, form callbacks and trxcheck, against the fake."""

from typing import Any

import pytest

from ispbills.payments.gateways import services as gateways
from ispbills.payments.gateways.base import CallbackRequest
from ispbills.payments.gateways.fakes.base import BrowserReturn
from ispbills.payments.models import GatewayExchange, Payment, PaymentAttempt
from ispbills.payments.tests.gateway_contract import GatewayContract, start
from ispbills.payments.tests.gateway_kit import gateway_account, serve_fake

pytestmark = pytest.mark.django_db

TRXCHECK = r"/api/v1/trxcheck/request\.php"


class TestAamarpayContract(GatewayContract):
    code = "aamarpay"
    verify_path = TRXCHECK
    secret_names = ("signature_key",)
    bad_credentials = {"signature_key": "wrong-key"}

    def early_success(self, fake: Any, attempt: PaymentAttempt) -> CallbackRequest:
        # Anyone can POST aamarPay's fields to our return URL: it is not signed.
        transaction = fake.transactions[attempt.merchant_ref]
        form = {"pay_status": "Successful", "mer_txnid": attempt.merchant_ref, "amount": "800.00"}
        return BrowserReturn("POST", transaction.fields["success_url"], form).as_callback()


@pytest.fixture
def aamarpay(cast: Any) -> Any:
    with serve_fake("aamarpay") as (fake, server):
        account = gateway_account(cast.acme_root, "aamarpay", server.url)
        yield fake, account


def test_the_json_request_carries_our_reference_and_the_payer_goes_to_the_payment_url(
    register, aamarpay
):
    fake, account = aamarpay

    attempt = start(account, register(), "800")

    transaction = fake.transactions[attempt.merchant_ref]
    assert transaction.fields["amount"] == "800.00"
    assert attempt.data["start"]["redirect_url"].endswith(f"/paynow.php?track={transaction.track}")
    assert attempt.provider_ref == transaction.track
    assert "cancel" in transaction.fields["cancel_url"]


def test_the_signature_key_in_trxchecks_query_string_is_not_stored(register, aamarpay):
    fake, account = aamarpay
    attempt = start(account, register())
    gateways.handle_callback("aamarpay", fake.complete(attempt.merchant_ref).as_callback())

    check = GatewayExchange.objects.get(attempt=attempt, label="trxcheck")
    assert "signature_key=%5Bredacted%5D" in check.url or "signature_key=[redacted]" in check.url
    assert fake.credentials["signature_key"] not in check.url


def test_an_id_trxcheck_does_not_know_is_unknown_and_credits_nothing(register, aamarpay):
    fake, account = aamarpay
    attempt = start(account, register())
    fake.transactions.clear()  # aamarPay lost it (or it never reached aamarPay)

    outcome = gateways.handle_callback(
        "aamarpay",
        BrowserReturn(
            "POST", "http://x/", {"pay_status": "Successful", "mer_txnid": attempt.merchant_ref}
        ).as_callback(),
    )

    attempt.refresh_from_db()
    assert (outcome.result, attempt.state, attempt.outcome) == (
        "unknown",
        "unknown",
        "provider_error",
    )
    assert "Invalid Request ID" in attempt.message
    assert Payment.objects.count() == 0


def test_a_refused_store_fails_the_attempt(cast, register):
    with serve_fake("aamarpay") as (fake, server):
        credentials = {**fake.credentials, "signature_key": "wrong-key"}
        account = gateway_account(cast.acme_root, "aamarpay", server.url, credentials)
        started = gateways.start_attempt(
            actor=None, account=account, amount="800", purpose="advance", customer=register()
        )

    assert started.result is None
    assert (started.attempt.state, started.attempt.outcome) == ("failed", "provider_error")
    assert "Invalid Store ID" in started.attempt.message
    assert fake.transactions == {}


def test_a_payment_confirmed_in_another_currency_needs_attention(register, aamarpay):
    fake, account = aamarpay
    attempt = start(account, register())
    fake.transactions[attempt.merchant_ref].fields["currency"] = "USD"  # the store's answer

    outcome = gateways.handle_callback(
        "aamarpay", fake.complete(attempt.merchant_ref).as_callback()
    )

    attempt.refresh_from_db()
    assert outcome.result == "attention"
    assert (attempt.outcome, attempt.needs_attention) == ("currency_mismatch", True)
    assert Payment.objects.count() == 0
