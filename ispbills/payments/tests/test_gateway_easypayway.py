"""EasyPayWay: aamarPay's form API on EasyPayWay's hosts, against the fake."""

from typing import Any

import pytest

from ispbills.payments.gateways.base import CallbackRequest
from ispbills.payments.gateways.fakes.base import BrowserReturn
from ispbills.payments.models import PaymentAttempt
from ispbills.payments.tests.gateway_contract import GatewayContract, start
from ispbills.payments.tests.gateway_kit import gateway_account, serve_fake

pytestmark = pytest.mark.django_db


class TestEasypaywayContract(GatewayContract):
    code = "easypayway"
    verify_path = r"/api/v1/trxcheck/request\.php"
    secret_names = ("signature_key",)
    bad_credentials = {"signature_key": "wrong-key"}

    def early_success(self, fake: Any, attempt: PaymentAttempt) -> CallbackRequest:
        transaction = fake.transactions[attempt.merchant_ref]
        form = {"pay_status": "Successful", "mer_txnid": attempt.merchant_ref, "amount": "800.00"}
        return BrowserReturn("POST", transaction.fields["success_url"], form).as_callback()


def test_the_form_api_answers_a_path_on_the_host(cast, register):
    with serve_fake("easypayway") as (fake, server):
        account = gateway_account(cast.acme_root, "easypayway", server.url)
        attempt = start(account, register())

    call = fake.calls(r"/payment/request\.php")[0]
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.form()["tran_id"] == attempt.merchant_ref
    track = fake.transactions[attempt.merchant_ref].track
    assert track.startswith("EPW")
    assert attempt.data["start"]["redirect_url"] == f"{server.url}/paynow.php?track={track}"
