"""WalletMix: check-server, the payment request and check-payment, against the fake."""

import json
from typing import Any

import pytest

from ispbills.payments.gateways import services as gateways
from ispbills.payments.gateways import walletmix
from ispbills.payments.gateways.base import CallbackRequest
from ispbills.payments.gateways.fakes.base import BrowserReturn
from ispbills.payments.models import Payment, PaymentAttempt
from ispbills.payments.tests.gateway_contract import GatewayContract, start
from ispbills.payments.tests.gateway_kit import gateway_account, serve_fake

pytestmark = pytest.mark.django_db


class TestWalletmixContract(GatewayContract):
    code = "walletmix"
    verify_path = r"/check-payment"
    # WalletMix publishes no failure or cancel code: such attempts stay pending until they
    # expire (to check with the provider's onboarding pack).
    cancel_settles = ("pending", "")
    failure_settles = ("pending", "")
    secret_names = ("access_app_key", "password")
    bad_credentials = {"password": "wrong"}

    def early_success(self, fake: Any, attempt: PaymentAttempt) -> CallbackRequest:
        data = {"token": attempt.provider_ref, "txn_status": "1000"}
        data["merchant_order_id"] = attempt.merchant_ref
        return BrowserReturn(
            "POST", "http://x/", {"merchant_txn_data": json.dumps(data)}
        ).as_callback()


@pytest.fixture
def wmx(cast: Any) -> Any:
    with serve_fake("walletmix") as (fake, server):
        account = gateway_account(cast.acme_root, "walletmix", server.url)
        yield fake, account


def test_the_request_goes_to_the_server_check_server_names_with_basic_credentials(register, wmx):
    fake, account = wmx

    attempt = start(account, register(), "800")

    assert len(fake.calls(r"/check-server", "GET")) == 1
    form = fake.calls(r"/init-payment-process")[0].form()
    assert form["authorization"] == walletmix.authorization(
        fake.credentials["username"], fake.credentials["password"]
    )
    assert (form["merchant_order_id"], form["amount"]) == (attempt.merchant_ref, "800.00")
    assert attempt.data["start"]["redirect_url"].endswith(
        f"/bank-payment-process/{attempt.provider_ref}"
    )


def test_an_answer_for_another_merchant_is_not_trusted(register, wmx):
    fake, account = wmx
    attempt = start(account, register())
    back = fake.complete(attempt.provider_ref)
    fake.answer_wmx_id = "WMXsomeoneelse"

    outcome = gateways.handle_callback("walletmix", back.as_callback())

    attempt.refresh_from_db()
    assert (outcome.result, attempt.state) == ("unknown", "unknown")
    assert "another merchant" in attempt.message
    assert Payment.objects.count() == 0


def test_the_basic_credentials_in_the_form_are_not_stored(register, wmx):
    fake, account = wmx
    attempt = start(account, register())
    gateways.handle_callback("walletmix", fake.complete(attempt.provider_ref).as_callback())

    from ispbills.payments.models import GatewayExchange

    dump = repr([(r.url, r.request_body) for r in GatewayExchange.objects.filter(attempt=attempt)])
    basic = walletmix.authorization(fake.credentials["username"], fake.credentials["password"])
    assert basic.split()[1] not in dump
    assert "authorization=%5Bredacted%5D" in dump or "authorization=[redacted]" in dump
