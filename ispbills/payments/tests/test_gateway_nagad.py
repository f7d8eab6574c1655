"""Nagad: the real adapter against the fake over HTTP (RSA-sealed bodies, Dhaka time)."""

import datetime as dt
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ispbills.payments.gateways import nagad
from ispbills.payments.gateways import services as gateways
from ispbills.payments.gateways.base import CallbackRequest
from ispbills.payments.gateways.fakes.base import BrowserReturn
from ispbills.payments.models import Payment, PaymentAttempt
from ispbills.payments.tests.gateway_contract import GatewayContract, start
from ispbills.payments.tests.gateway_kit import gateway_account, serve_fake

pytestmark = pytest.mark.django_db

INITIALIZE = r".*/check-out/initialize/.*"


class TestNagadContract(GatewayContract):
    code = "nagad"
    verify_path = r"/api/dfs/verify/payment/.*"
    secret_names = ("merchant_private_key",)
    bad_credentials = {"nagad_public_key": "MIIBIjANBgkq"}

    def early_success(self, fake: Any, attempt: PaymentAttempt) -> CallbackRequest:
        order = fake.order(attempt.provider_ref)
        callback = BrowserReturn("GET", fake.callback_url(order)).as_callback()
        callback.query["status"] = "Success"
        return callback


def failed_start(account: Any, customer: Any) -> PaymentAttempt:
    started = gateways.start_attempt(
        actor=None, account=account, amount="500", purpose="advance", customer=customer
    )
    assert started.result is None
    return started.attempt


def test_the_order_id_is_our_reference_and_the_time_is_dhakas(cast, register):
    with serve_fake("nagad") as (fake, server):
        account = gateway_account(cast.acme_root, "nagad", server.url)
        attempt = start(account, register(), "500")

    call = fake.calls(INITIALIZE)[0]
    assert call.path.endswith(f"/{fake.credentials['merchant_id']}/{attempt.merchant_ref}")
    assert call.headers["x-km-api-version"] == "v-0.2.0"
    assert call.headers["x-km-client-type"] == "PC_WEB"
    sealed = json.loads(call.body)
    opened = json.loads(nagad.decrypt(sealed["sensitiveData"], fake.nagad_private))
    sent = dt.datetime.strptime(opened["datetime"], "%Y%m%d%H%M%S").replace(tzinfo=nagad.DHAKA)
    assert abs(sent - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    assert opened["datetime"] == sealed["dateTime"]
    assert len(opened["challenge"]) == 40
    order = fake.order(attempt.provider_ref)
    assert (order.order_id, str(order.amount)) == (attempt.merchant_ref, "500.00")


def test_a_clock_outside_nagads_window_is_refused_with_its_reason(cast, register):
    with serve_fake("nagad") as (fake, server):
        fake.clock_offset = dt.timedelta(hours=6)  # as if we sent UTC wall time as Dhaka's
        account = gateway_account(cast.acme_root, "nagad", server.url)
        attempt = failed_start(account, register())

    assert (attempt.state, attempt.outcome) == ("failed", "provider_error")
    assert "out of the allowed range" in attempt.message
    assert fake.orders == {}
    assert Payment.objects.count() == 0


def test_the_signature_digest_follows_the_account_setting(cast, register):
    credentials = {**nagad_fake_credentials(), "signature_algorithm": "SHA1"}
    with serve_fake("nagad", credentials) as (fake, server):
        account = gateway_account(cast.acme_root, "nagad", server.url, credentials)
        attempt = start(account, register())
        outcome = gateways.handle_callback(
            "nagad", fake.complete(attempt.provider_ref).as_callback()
        )

    assert outcome.result == "verified"


def test_a_digest_nagad_does_not_expect_is_refused_and_nothing_is_placed(cast, register):
    with serve_fake("nagad") as (fake, server):  # Nagad verifies SHA256
        credentials = {**nagad_fake_credentials(), "signature_algorithm": "SHA1"}
        account = gateway_account(cast.acme_root, "nagad", server.url, credentials)
        attempt = failed_start(account, register())

    assert (attempt.state, attempt.outcome) == ("failed", "provider_error")
    assert "Signature verification failed" in attempt.message
    assert fake.orders == {}


def test_an_answer_not_signed_by_nagad_is_refused(cast, register):
    with serve_fake("nagad") as (fake, server):
        impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        fake.keys = nagad.NagadKeys(impostor, fake.merchant_public)
        account = gateway_account(cast.acme_root, "nagad", server.url)
        attempt = failed_start(account, register())

    assert (attempt.state, attempt.outcome) == ("failed", "provider_error")
    assert "not Nagad's" in attempt.message
    assert fake.calls(r".*/check-out/complete/.*") == []  # never placed the order


def test_a_malformed_key_is_a_configuration_error_before_any_call(cast, register):
    with serve_fake("nagad") as (fake, server):
        credentials = {**nagad_fake_credentials(), "nagad_public_key": "MIIBIjANBgkq"}
        account = gateway_account(cast.acme_root, "nagad", server.url, credentials)
        attempt = failed_start(account, register())

    assert "Nagad public key" in attempt.message
    assert fake.requests == []


def test_a_callback_for_another_session_is_a_mismatch(cast, register):
    with serve_fake("nagad") as (fake, server):
        account = gateway_account(cast.acme_root, "nagad", server.url)
        attempt = start(account, register())
        other = start(account, register())
        forged = fake.complete(attempt.provider_ref).as_callback()
        forged.query["payment_ref_id"] = other.provider_ref

        outcome = gateways.handle_callback("nagad", forged)

    assert outcome.result == "mismatch"
    assert Payment.objects.count() == 0


def test_the_adapter_parses_every_callback_status_as_a_hint_only(cast):
    adapter = nagad.NagadGateway(credentials=nagad_fake_credentials(), sandbox=True, http=_http())
    for status, claim in (("Success", "success"), ("Aborted", "cancel"), ("Failed", "failure")):
        callback = adapter.parse_callback(
            BrowserReturn("GET", f"http://x/?order_id=A1&status={status}").as_callback()
        )
        assert (callback.status.value, callback.signature.value) == (claim, "absent")


def nagad_fake_credentials() -> dict[str, str]:
    from ispbills.payments.gateways.fakes.nagad import FakeNagad

    return dict(FakeNagad.demo_credentials)


def _http() -> Any:
    from ispbills.payments.gateways.http import GatewayHttp

    return GatewayHttp()
