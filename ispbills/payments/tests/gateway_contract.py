"""The cases every payment gateway must pass against its fake, written once.

A provider's test module subclasses ``GatewayContract`` (as ``TestXContract``) and says how
its protocol differs: which path to stall for a timeout, what a cancel or a failure settles
to, how to make a success claim before the payer has paid. The real adapter talks to the
provider's fake over HTTP on 127.0.0.1; the database is real PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

import pytest

from ispbills.core.models import AuditEvent
from ispbills.payments.gateways import services as gateways
from ispbills.payments.gateways.base import CallbackRequest
from ispbills.payments.gateways.fakes import fake_class
from ispbills.payments.gateways.fakes.base import BrowserReturn
from ispbills.payments.gateways.fakes.server import FakeServer
from ispbills.payments.models import GatewayAccount, GatewayExchange, Payment, PaymentAttempt
from ispbills.payments.tests.gateway_kit import gateway_account, serve_fake


def start(account: GatewayAccount, customer: Any, amount: str = "800") -> PaymentAttempt:
    """An attempt started through the service, asserted to have reached the provider."""
    started = gateways.start_attempt(
        actor=None, account=account, amount=amount, purpose="advance", customer=customer
    )
    assert started.result is not None, started.attempt.message
    assert started.attempt.state == "pending"
    return started.attempt


@pytest.mark.django_db
class GatewayContract:
    """Success, cancel, failure, duplicates, early and late callbacks, forged claims, amount
    mismatch, and a timeout settled by reconciliation, for one provider."""

    code: ClassVar[str]
    # A path (regex, relative to the fake's root) whose answer, stalled, leaves the outcome
    # of a verification unknown.
    verify_path: ClassVar[str]
    # What a cancel and a failure settle to: ("failed", outcome) where the provider reports
    # them, ("pending", "") where its answer does not (the attempt expires later).
    cancel_settles: ClassVar[tuple[str, str]] = ("failed", "cancelled")
    failure_settles: ClassVar[tuple[str, str]] = ("failed", "declined")
    # Secrets of the fake's demo credentials that must never be stored in an exchange.
    secret_names: ClassVar[tuple[str, ...]] = ()
    # Settings the provider refuses, for the connection test (None: it cannot tell).
    bad_credentials: ClassVar[dict[str, str] | None] = None

    @pytest.fixture
    def provider(self, cast: Any) -> Any:
        with serve_fake(self.code) as (fake, server):
            account = gateway_account(cast.acme_root, self.code, server.url)
            yield fake, account

    # Hooks ---------------------------------------------------------------------------------

    def session(self, attempt: PaymentAttempt) -> str:
        """The fake's handle of the attempt (the provider's session id, else our reference)."""
        return attempt.provider_ref or attempt.merchant_ref

    def complete(
        self, fake: Any, attempt: PaymentAttempt, outcome: str = "success", **kwargs: Any
    ) -> BrowserReturn:
        back: BrowserReturn = fake.complete(self.session(attempt), outcome, **kwargs)
        return back

    def early_success(self, fake: Any, attempt: PaymentAttempt) -> CallbackRequest:
        """A return claiming success while the payer has not paid (forged or early)."""
        raise NotImplementedError

    def deliver(self, back: BrowserReturn) -> gateways.CallbackOutcome:
        return gateways.handle_callback(self.code, back.as_callback())

    # The cases ---------------------------------------------------------------------------

    def test_a_confirmed_payment_is_credited_once_under_the_provider_txn_id(
        self, register: Any, provider: Any
    ) -> None:
        fake, account = provider
        customer = register()
        attempt = start(account, customer)

        outcome = self.deliver(self.complete(fake, attempt))

        attempt.refresh_from_db()
        payment = attempt.payment
        assert outcome.result == "verified"
        assert (attempt.state, attempt.outcome) == ("verified", "paid")
        assert attempt.provider_txn_id
        assert (payment.customer_id, payment.amount, payment.method, payment.gateway) == (
            customer.pk,
            Decimal("800.00"),
            "online",
            self.code,
        )
        assert payment.reference == attempt.provider_txn_id
        assert AuditEvent.objects.filter(verb="gateway.payment_verified").count() == 1

    def test_the_browser_return_through_our_web_address_is_verified(
        self, register: Any, provider: Any, client: Any
    ) -> None:
        fake, account = provider
        attempt = start(account, register())
        back = self.complete(fake, attempt)
        parts = urlsplit(back.url)
        assert parts.path == f"/pay/gw/{self.code}/return/"

        if back.method == "GET":
            response = client.get(f"{parts.path}?{parts.query}")
        else:
            response = client.post(
                f"{parts.path}?{parts.query}" if parts.query else parts.path,
                data=urlencode(back.form),
                content_type="application/x-www-form-urlencoded",
            )

        attempt.refresh_from_db()
        assert response.status_code == 302
        assert attempt.state == "verified"
        assert Payment.objects.count() == 1

    def test_the_fake_works_under_the_demo_servers_prefix(self, cast: Any, register: Any) -> None:
        # ``ispbills fake_gateways`` serves every fake from one server under /<code>/.
        fake = fake_class(self.code)()
        with FakeServer(fakes={self.code: fake}) as server:
            account = gateway_account(cast.acme_root, self.code, f"{server.url}/{self.code}")
            attempt = start(account, register())
            outcome = self.deliver(self.complete(fake, attempt))

        assert account.base_url.startswith(f"{server.url}/{self.code}")
        assert outcome.result == "verified"
        assert Payment.objects.count() == 1

    def test_a_cancelled_payment_credits_nothing(self, register: Any, provider: Any) -> None:
        fake, account = provider
        attempt = start(account, register())

        outcome = self.deliver(self.complete(fake, attempt, "cancel"))

        attempt.refresh_from_db()
        assert (outcome.result, attempt.state, attempt.outcome) == (
            self.cancel_settles[0],
            *self.cancel_settles,
        )
        assert attempt.payment is None
        assert Payment.objects.count() == 0

    def test_a_failed_payment_credits_nothing(self, register: Any, provider: Any) -> None:
        fake, account = provider
        attempt = start(account, register())

        outcome = self.deliver(self.complete(fake, attempt, "failure"))

        attempt.refresh_from_db()
        assert (outcome.result, attempt.state, attempt.outcome) == (
            self.failure_settles[0],
            *self.failure_settles,
        )
        assert Payment.objects.count() == 0

    def test_a_duplicate_callback_credits_once(self, register: Any, provider: Any) -> None:
        fake, account = provider
        attempt = start(account, register())
        back = self.complete(fake, attempt)

        first, second = self.deliver(back), self.deliver(back)

        assert (first.result, second.result) == ("verified", "already_verified")
        assert Payment.objects.count() == 1
        assert AuditEvent.objects.filter(verb="gateway.callback_duplicate").count() == 1

    def test_a_success_claim_before_the_payer_paid_credits_nothing_until_they_do(
        self, register: Any, provider: Any
    ) -> None:
        fake, account = provider
        attempt = start(account, register())

        early = gateways.handle_callback(self.code, self.early_success(fake, attempt))

        attempt.refresh_from_db()
        assert early.result in {"pending", "unknown"}
        assert attempt.state in {"pending", "unknown"}
        assert Payment.objects.count() == 0
        later = self.deliver(self.complete(fake, attempt))
        assert later.result == "verified"
        assert Payment.objects.count() == 1

    def test_a_callback_after_reconciliation_verified_the_payment_credits_nothing_more(
        self, register: Any, provider: Any
    ) -> None:
        fake, account = provider
        attempt = start(account, register())
        back = self.complete(fake, attempt)  # paid; the browser is slow to come back

        counts = gateways.reconcile(now=attempt.created_at + dt.timedelta(minutes=30))
        late = self.deliver(back)

        attempt.refresh_from_db()
        assert counts == {"verified": 1}
        assert late.result == "already_verified"
        assert attempt.state == "verified"
        assert Payment.objects.count() == 1

    def test_a_confirmed_amount_below_the_attempt_needs_attention(
        self, register: Any, provider: Any
    ) -> None:
        fake, account = provider
        attempt = start(account, register(), "800")

        outcome = self.deliver(self.complete(fake, attempt, amount=Decimal("400.00")))

        attempt.refresh_from_db()
        assert outcome.result == "attention"
        assert (attempt.state, attempt.outcome, attempt.needs_attention) == (
            "unknown",
            "underpaid",
            True,
        )
        assert attempt.confirmed_amount == Decimal("400.00")
        assert Payment.objects.count() == 0
        assert AuditEvent.objects.filter(verb="gateway.underpaid").count() == 1

    def test_a_verification_timeout_is_unknown_then_reconciliation_pays_once(
        self, register: Any, provider: Any, settings: Any
    ) -> None:
        settings.PAYMENT_GATEWAY_READ_TIMEOUT = 0.5
        fake, account = provider
        attempt = start(account, register())
        back = self.complete(fake, attempt)
        fake.stall(self.verify_path, 1.0)

        outcome = self.deliver(back)

        attempt.refresh_from_db()
        assert (outcome.result, attempt.state, attempt.outcome) == (
            "unknown",
            "unknown",
            "no_answer",
        )
        assert Payment.objects.count() == 0

        counts = gateways.reconcile(now=attempt.created_at + dt.timedelta(minutes=30))

        attempt.refresh_from_db()
        assert counts == {"verified": 1}
        assert attempt.state == "verified"
        assert Payment.objects.get().reference == attempt.provider_txn_id

    def test_stored_exchanges_keep_no_secret(self, register: Any, provider: Any) -> None:
        fake, account = provider
        attempt = start(account, register())
        self.deliver(self.complete(fake, attempt))

        rows = list(GatewayExchange.objects.filter(attempt=attempt))
        dump = repr([(r.url, r.request_headers, r.request_body, r.response_body) for r in rows])
        assert rows
        for name in self.secret_names:
            assert fake.credentials[name] not in dump, name

    def test_the_connection_test_passes_with_the_right_credentials(
        self, cast: Any, provider: Any
    ) -> None:
        _fake, account = provider

        ok, message = gateways.test_account(actor=cast.alice, account=account)

        account.refresh_from_db()
        assert ok, message
        assert (account.check_message, account.checked_at is not None) == (message, True)

    def test_the_connection_test_fails_with_credentials_the_provider_refuses(
        self, cast: Any, provider: Any
    ) -> None:
        if self.bad_credentials is None:
            pytest.skip("the provider has no call that tells bad credentials apart")
        _fake, account = provider
        account.set_credentials({**account.get_credentials(), **self.bad_credentials})
        account.save()

        ok, message = gateways.test_account(actor=cast.alice, account=account)

        account.refresh_from_db()
        assert not ok
        assert account.check_message == message
        assert message
        assert PaymentAttempt.objects.count() == 0
