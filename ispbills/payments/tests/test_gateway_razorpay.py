"""Razorpay: orders in paise, Hosted Checkout, signed returns and webhooks, against the fake."""

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ispbills.core.models import AuditEvent
from ispbills.payments.gateways import services as gateways
from ispbills.payments.gateways.base import AttemptInfo, CallbackRequest
from ispbills.payments.gateways.fakes.base import BrowserReturn
from ispbills.payments.models import Payment, PaymentAttempt
from ispbills.payments.tests.gateway_contract import GatewayContract, start
from ispbills.payments.tests.gateway_kit import gateway_account, serve_fake

pytestmark = pytest.mark.django_db

FETCH_ORDER = r"/v1/orders/[^/]+"


def open_checkout(attempt: PaymentAttempt) -> None:
    """The payer's browser posts the Hosted Checkout form the payment page rendered."""
    page = attempt.data["start"]
    response = httpx.post(page["form_action"], data=page["form_fields"])
    assert response.status_code == 200
    assert "Invalid" not in response.text


def webhook(body: bytes, headers: dict[str, str]) -> CallbackRequest:
    return CallbackRequest(
        kind="ipn",
        method="POST",
        query={},
        form={},
        headers={k.lower(): v for k, v in headers.items()},
        body=body,
    )


class TestRazorpayContract(GatewayContract):
    code = "razorpay"
    verify_path = FETCH_ORDER
    # Closing the checkout makes no payment: the order stays open (the payer may try again)
    # until the attempt expires.
    cancel_settles = ("pending", "")
    secret_names = ("key_secret", "webhook_secret")
    bad_credentials = {"key_secret": "not-the-secret"}

    def complete(
        self, fake: Any, attempt: PaymentAttempt, outcome: str = "success", **kwargs: Any
    ) -> BrowserReturn:
        open_checkout(attempt)
        return super().complete(fake, attempt, outcome, **kwargs)

    def early_success(self, fake: Any, attempt: PaymentAttempt) -> CallbackRequest:
        # The money is authorised, not captured: Razorpay's signed webhook says so.
        open_checkout(attempt)
        return webhook(*fake.authorize(attempt.provider_ref))


@pytest.fixture
def razorpay(cast: Any) -> Any:
    with serve_fake("razorpay") as (fake, server):
        account = gateway_account(cast.acme_root, "razorpay", server.url)
        yield fake, account


def test_the_order_is_in_paise_with_our_reference_as_receipt(register, razorpay):
    fake, account = razorpay

    attempt = start(account, register(), "800.50")

    order = fake.orders[attempt.provider_ref]
    assert (order.amount, order.currency, order.receipt) == (80050, "INR", attempt.merchant_ref)
    fields = attempt.data["start"]["form_fields"]
    assert attempt.data["start"]["form_action"].endswith("/v1/checkout/embedded")
    assert (fields["order_id"], fields["amount"], fields["key_id"]) == (
        order.id,
        "80050",
        fake.credentials["key_id"],
    )
    assert "key_secret" not in json.dumps(attempt.data)
    assert fake.credentials["key_secret"] not in json.dumps(attempt.data)


def test_a_return_with_a_forged_signature_is_refused_without_asking_razorpay(register, razorpay):
    fake, account = razorpay
    attempt = start(account, register())
    back = TestRazorpayContract().complete(fake, attempt)
    back.form["razorpay_signature"] = "0" * 64
    asked = len(fake.calls(FETCH_ORDER, "GET"))

    outcome = gateways.handle_callback("razorpay", back.as_callback())

    attempt.refresh_from_db()
    assert outcome.result == "forged"
    assert attempt.state == "pending"
    assert len(fake.calls(FETCH_ORDER, "GET")) == asked
    assert Payment.objects.count() == 0
    assert AuditEvent.objects.filter(verb="gateway.callback_forged").count() == 1


def test_a_captured_webhook_pays_without_the_browser_and_the_late_return_adds_nothing(
    register, razorpay
):
    fake, account = razorpay
    attempt = start(account, register())
    back = TestRazorpayContract().complete(fake, attempt)
    body, headers = fake.webhooks[-1]
    assert json.loads(body)["event"] == "payment.captured"

    first = gateways.handle_callback("razorpay", webhook(body, headers))
    again = gateways.handle_callback("razorpay", webhook(body, headers))  # Razorpay retries
    late = gateways.handle_callback("razorpay", back.as_callback())

    assert (first.result, again.result, late.result) == (
        "verified",
        "already_verified",
        "already_verified",
    )
    assert Payment.objects.get().reference == json.loads(body)["payload"]["payment"]["entity"]["id"]


def test_a_webhook_signed_with_the_key_secret_is_forged(register, razorpay):
    fake, account = razorpay
    attempt = start(account, register())
    TestRazorpayContract().complete(fake, attempt)
    body, headers = fake.webhooks[-1]
    from ispbills.payments.gateways import razorpay as protocol

    # The two secrets are easily confused: a webhook is signed with the webhook secret only.
    headers = {
        **headers,
        "X-Razorpay-Signature": protocol.webhook_signature(body, fake.credentials["key_secret"]),
    }

    outcome = gateways.handle_callback("razorpay", webhook(body, headers))

    assert outcome.result == "forged"
    assert Payment.objects.count() == 0


def test_a_re_serialised_webhook_body_fails_the_signature(register, razorpay):
    fake, account = razorpay
    attempt = start(account, register())
    TestRazorpayContract().complete(fake, attempt)
    body, headers = fake.webhooks[-1]
    reserialised = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert reserialised != body

    outcome = gateways.handle_callback("razorpay", webhook(reserialised, headers))

    assert outcome.result == "forged"
    assert Payment.objects.count() == 0


def test_a_refund_event_names_no_payment(register, razorpay):
    fake, account = razorpay
    attempt = start(account, register())
    TestRazorpayContract().complete(fake, attempt)
    body, headers = fake.webhooks[-1]
    event = json.loads(body)
    event["event"] = "refund.processed"
    body = json.dumps(event).encode()
    headers = {**headers, "X-Razorpay-Signature": _sign(body, fake)}

    outcome = gateways.handle_callback("razorpay", webhook(body, headers))

    assert outcome.result == "housekeeping"


def test_a_refund_goes_back_in_paise(register, razorpay):
    fake, account = razorpay
    attempt = start(account, register())
    gateways.handle_callback(
        "razorpay", TestRazorpayContract().complete(fake, attempt).as_callback()
    )
    attempt.refresh_from_db()

    result = gateways.adapter_for(account).refund(
        AttemptInfo(
            merchant_ref=attempt.merchant_ref,
            amount=attempt.amount,
            currency=attempt.currency,
            provider_ref=attempt.provider_ref,
            provider_txn_id=attempt.provider_txn_id or "",
        ),
        Decimal("150.25"),
        "moved house",
    )

    assert (result.completed, result.amount) == (True, Decimal("150.25"))
    assert fake.payments[attempt.provider_txn_id]["amount_refunded"] == 15025


def test_a_wrong_key_secret_is_refused_and_no_order_is_made(cast, register):
    with serve_fake("razorpay") as (fake, server):
        credentials = {**fake.credentials, "key_secret": "not-the-secret"}
        account = gateway_account(cast.acme_root, "razorpay", server.url, credentials)
        started = gateways.start_attempt(
            actor=None, account=account, amount="800", purpose="advance", customer=register()
        )

    assert started.result is None
    assert (started.attempt.state, started.attempt.outcome) == ("failed", "provider_error")
    assert "Authentication failed" in started.attempt.message
    assert fake.orders == {}


def _sign(body: bytes, fake: Any) -> str:
    from ispbills.payments.gateways import razorpay as protocol

    return protocol.webhook_signature(body, fake.credentials["webhook_secret"])


def test_a_webhook_through_our_ipn_address_is_answered_and_verified(register, razorpay, client):
    fake, account = razorpay
    attempt = start(account, register())
    TestRazorpayContract().complete(fake, attempt)
    body, headers = fake.webhooks[-1]

    response = client.post(
        "/pay/gw/razorpay/ipn/",
        data=body,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
    )

    attempt.refresh_from_db()
    assert (response.status_code, response.content) == (200, b"OK")
    assert attempt.state == "verified"
    assert Payment.objects.count() == 1
