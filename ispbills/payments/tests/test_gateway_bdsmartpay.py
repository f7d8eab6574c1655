"""BdSmartPay: the encrypted redirect, callback and query_payment, against the fake."""

from typing import Any

import httpx
import pytest

from ispbills.payments.gateways import bdsmartpay
from ispbills.payments.gateways import services as gateways
from ispbills.payments.gateways.base import CallbackRequest
from ispbills.payments.gateways.fakes.base import BrowserReturn
from ispbills.payments.models import Payment, PaymentAttempt
from ispbills.payments.tests.gateway_contract import GatewayContract, start
from ispbills.payments.tests.gateway_kit import gateway_account, serve_fake

pytestmark = pytest.mark.django_db


def open_page(attempt: PaymentAttempt) -> None:
    """The payer's browser follows the encrypted payment link."""
    response = httpx.get(attempt.data["start"]["redirect_url"])
    assert response.status_code == 200
    assert "Invalid" not in response.text


class TestBdsmartpayContract(GatewayContract):
    code = "bdsmartpay"
    verify_path = r"/gateway/query_payment/.*"
    secret_names = ("secret", "callback_secret")

    def complete(
        self, fake: Any, attempt: PaymentAttempt, outcome: str = "success", **kwargs: Any
    ) -> BrowserReturn:
        open_page(attempt)
        return super().complete(fake, attempt, outcome, **kwargs)

    def early_success(self, fake: Any, attempt: PaymentAttempt) -> CallbackRequest:
        open_page(attempt)
        order = fake.orders[attempt.merchant_ref]
        claim = (
            f"{bdsmartpay.MARKER}&merchant_order_id={order.order_id}&transaction_status=Successful"
        )
        blob = bdsmartpay.encrypt(claim, fake.credentials["callback_secret"])
        return BrowserReturn("GET", f"{order.redirect_url}{blob}").as_callback()


@pytest.fixture
def bsp(cast: Any) -> Any:
    with serve_fake("bdsmartpay") as (fake, server):
        account = gateway_account(cast.acme_root, "bdsmartpay", server.url)
        yield fake, account


def test_the_payment_link_carries_the_encrypted_request_and_our_return(register, bsp):
    fake, account = bsp

    attempt = start(account, register(), "800")
    open_page(attempt)

    order = fake.orders[attempt.merchant_ref]
    assert (order.fields["amount"], order.fields["merchant_id"]) == ("800.00", "acmebroadband")
    assert order.redirect_url.endswith(f"/pay/gw/bdsmartpay/return/?ref={attempt.merchant_ref}&")
    assert fake.credentials["secret"] not in attempt.data["start"]["redirect_url"]


def test_a_callback_whose_blob_is_glued_to_our_reference_still_finds_the_attempt(register, bsp):
    fake, account = bsp
    attempt = start(account, register())
    back = TestBdsmartpayContract().complete(fake, attempt)
    glued = BrowserReturn("GET", back.url.replace("&", "", 1))  # a gateway dropping the "&"

    outcome = gateways.handle_callback("bdsmartpay", glued.as_callback())

    assert outcome.result == "verified"
    assert Payment.objects.count() == 1


def test_an_answer_without_the_amount_is_not_counted_as_paid(register, bsp):
    fake, account = bsp
    attempt = start(account, register())
    back = TestBdsmartpayContract().complete(fake, attempt)
    fake.omit_amount = True

    outcome = gateways.handle_callback("bdsmartpay", back.as_callback())

    attempt.refresh_from_db()
    assert (outcome.result, attempt.state) == ("unknown", "unknown")
    assert "without the amount" in attempt.message
    assert Payment.objects.count() == 0


def test_a_callback_naming_no_attempt_is_unmatched(register, bsp):
    _fake, account = bsp
    start(account, register())

    outcome = gateways.handle_callback(
        "bdsmartpay", BrowserReturn("GET", "http://x/?ref=IB261126000000000000").as_callback()
    )

    assert outcome.result == "unmatched"
    assert Payment.objects.count() == 0
