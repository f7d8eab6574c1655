"""bKash Tokenized Checkout and the TrxID check, the real adapter against the fake over HTTP."""

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection, connections

from ispbills.billing import services as billing
from ispbills.core.errors import ConflictError, DomainError
from ispbills.core.models import AuditEvent
from ispbills.payments.gateways import services as gateways
from ispbills.payments.gateways.base import AttemptInfo
from ispbills.payments.gateways.fakes.bkash import V
from ispbills.payments.models import GatewayAccount, GatewayExchange, Payment, PaymentAttempt
from ispbills.payments.tests.gateway_kit import gateway_account, serve_fake

pytestmark = pytest.mark.django_db

EXECUTE = V + "/tokenized/checkout/execute"
STATUS = V + "/tokenized/checkout/payment/status"
GRANT = V + "/tokenized/checkout/token/grant"
REFRESH = V + "/tokenized/checkout/token/refresh"


@pytest.fixture
def bkash(cast: Any) -> Any:
    with serve_fake("bkash") as (fake, server):
        account = gateway_account(cast.acme_root, "bkash", server.url)
        yield fake, account


def start(account: GatewayAccount, customer: Any, amount: str = "800", **fields: Any) -> Any:
    started = gateways.start_attempt(
        actor=None, account=account, amount=amount, purpose="bill", customer=customer, **fields
    )
    assert started.result is not None, started.attempt.message
    return started.attempt


def test_a_confirmed_payment_pays_the_bill_once_with_the_trx_id_as_reference(cast, register, bkash):
    fake, account = bkash
    customer = register()
    bill = billing.generate_bill(actor=None, customer=customer)
    attempt = start(account, customer, str(bill.total), bill=bill)
    assert attempt.state == "pending"
    assert attempt.provider_ref.startswith("TR0011")
    assert attempt.data["start"]["redirect_url"].endswith(f"/checkout/{attempt.provider_ref}")

    outcome = gateways.handle_callback("bkash", fake.complete(attempt.provider_ref).as_callback())

    assert outcome.result == "verified"
    attempt.refresh_from_db()
    bill.refresh_from_db()
    payment = attempt.payment
    trx = fake.payments[attempt.provider_ref]["trxID"]
    assert (attempt.state, attempt.outcome, attempt.provider_txn_id) == ("verified", "paid", trx)
    assert (payment.method, payment.gateway, payment.reference, payment.amount) == (
        "online",
        "bkash",
        trx,
        bill.total,
    )
    assert bill.status == "paid"
    assert AuditEvent.objects.filter(verb="gateway.payment_verified").count() == 1


def test_stored_exchanges_keep_no_secret(cast, register, bkash):
    fake, account = bkash
    attempt = start(account, register())
    gateways.handle_callback("bkash", fake.complete(attempt.provider_ref).as_callback())

    rows = list(GatewayExchange.objects.filter(attempt=attempt).order_by("id"))
    labels = [row.label for row in rows]
    assert labels == ["token grant", "create", "return callback", "execute"]
    token = next(iter(fake.tokens))
    dump = repr([(r.url, r.request_headers, r.request_body, r.response_body) for r in rows])
    for secret in (
        fake.credentials["password"],
        fake.credentials["app_secret"],
        fake.credentials["app_key"],
        token,
    ):
        assert secret not in dump
    assert "[redacted]" in dump


def test_the_cached_token_is_encrypted_and_reused_across_payments(cast, register, bkash):
    fake, account = bkash
    for _ in range(3):
        start(account, register())

    assert len(fake.calls(GRANT)) == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT state FROM payments_gatewayaccount WHERE id = %s", [account.pk])
        raw = cursor.fetchone()[0]
    token = next(iter(fake.tokens))
    assert raw.startswith("fernet:")
    assert token not in raw


def test_a_token_near_its_end_is_refreshed_and_an_expired_one_regranted(cast, register, bkash):
    fake, account = bkash
    t0 = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)
    with time_machine.travel(t0, tick=False):
        start(account, register())
    with time_machine.travel(t0 + dt.timedelta(minutes=56), tick=False):
        start(account, register())  # renewed from the 55th minute with the refresh token
    assert (len(fake.calls(GRANT)), len(fake.calls(REFRESH))) == (1, 1)

    # bKash forgets the token early (a revoked token): the adapter renews on 401 and goes on.
    fake.tokens.clear()
    with time_machine.travel(t0 + dt.timedelta(minutes=58), tick=False):
        attempt = start(account, register())
    assert attempt.state == "pending"
    assert (len(fake.calls(GRANT)), len(fake.calls(REFRESH))) == (1, 2)

    # Past two refreshes an hour bKash would block us: a third renewal grants instead.
    fake.tokens.clear()
    with time_machine.travel(t0 + dt.timedelta(minutes=59), tick=False):
        start(account, register())
    assert (len(fake.calls(GRANT)), len(fake.calls(REFRESH))) == (2, 2)


def test_a_cancelled_payment_fails_without_execute_or_payment(cast, register, bkash):
    fake, account = bkash
    attempt = start(account, register())

    outcome = gateways.handle_callback(
        "bkash", fake.complete(attempt.provider_ref, "cancel").as_callback()
    )

    attempt.refresh_from_db()
    assert outcome.result == "failed"
    assert (attempt.state, attempt.outcome) == ("failed", "cancelled")
    assert fake.calls(EXECUTE) == []
    assert Payment.objects.count() == 0


def test_a_failed_wallet_payment_fails_and_credits_nothing(cast, register, bkash):
    fake, account = bkash
    attempt = start(account, register())

    back = fake.complete(attempt.provider_ref, "failure")
    outcome = gateways.handle_callback("bkash", back.as_callback())

    attempt.refresh_from_db()
    assert (outcome.result, attempt.state, attempt.outcome) == ("failed", "failed", "declined")
    assert Payment.objects.count() == 0


def test_duplicate_callbacks_execute_once_and_pay_once(cast, register, bkash):
    fake, account = bkash
    attempt = start(account, register())
    back = fake.complete(attempt.provider_ref)

    first = gateways.handle_callback("bkash", back.as_callback())
    second = gateways.handle_callback("bkash", back.as_callback())

    assert (first.result, second.result) == ("verified", "already_verified")
    assert len(fake.calls(EXECUTE)) == 1
    assert Payment.objects.count() == 1
    assert AuditEvent.objects.filter(verb="gateway.callback_duplicate").count() == 1


def test_a_success_callback_before_the_payer_approved_credits_nothing(cast, register, bkash):
    fake, account = bkash
    attempt = start(account, register())
    early = fake.complete(attempt.provider_ref).as_callback()
    fake.payments[attempt.provider_ref]["approved"] = False  # the payer has not approved yet

    outcome = gateways.handle_callback("bkash", early)

    attempt.refresh_from_db()
    assert (outcome.result, attempt.state) == ("pending", "pending")
    assert Payment.objects.count() == 0
    # Then the payer approves and comes back: paid, once.
    later = gateways.handle_callback("bkash", fake.complete(attempt.provider_ref).as_callback())
    assert later.result == "verified"
    assert Payment.objects.count() == 1


def test_a_callback_naming_an_unknown_payment_is_refused_and_audited(cast, register, bkash, client):
    fake, account = bkash
    start(account, register())

    response = client.get("/pay/gw/bkash/return/?paymentID=TR0011FORGED&status=success")

    assert response.status_code == 404
    assert Payment.objects.count() == 0
    assert AuditEvent.objects.filter(verb="gateway.callback_unmatched").count() == 1
    assert fake.calls(EXECUTE) == []


def test_a_forged_success_for_a_cancelled_payment_credits_nothing(cast, register, bkash):
    fake, account = bkash
    attempt = start(account, register())
    cancel = fake.complete(attempt.provider_ref, "cancel")
    gateways.handle_callback("bkash", cancel.as_callback())
    forged = cancel.as_callback()
    forged.query["status"] = "success"

    outcome = gateways.handle_callback("bkash", forged)

    attempt.refresh_from_db()
    assert outcome.result == "failed"  # bKash refuses to execute it; the query says cancelled
    assert attempt.state == "failed"
    assert Payment.objects.count() == 0


def test_a_confirmed_amount_below_the_attempt_needs_attention_and_credits_nothing(
    cast, register, bkash
):
    fake, account = bkash
    attempt = start(account, register(), "800")
    fake.amount_override = "400.00"

    outcome = gateways.handle_callback("bkash", fake.complete(attempt.provider_ref).as_callback())

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
    # Reconciliation leaves it to a person.
    assert gateways.reconcile(now=attempt.created_at + dt.timedelta(hours=1)) == {}
    attempt.refresh_from_db()
    assert attempt.checks == 1
    assert Payment.objects.count() == 0


def test_an_execute_without_answer_is_unknown_then_reconciled_once(cast, register, bkash, settings):
    settings.PAYMENT_GATEWAY_READ_TIMEOUT = 0.5
    fake, account = bkash
    attempt = start(account, register())
    fake.stall(EXECUTE, 1.0)  # bKash executes, the answer comes too late
    fake.stall(STATUS, 1.0)  # and the follow-up query times out as well

    outcome = gateways.handle_callback("bkash", fake.complete(attempt.provider_ref).as_callback())

    attempt.refresh_from_db()
    assert (outcome.result, attempt.state, attempt.outcome) == ("unknown", "unknown", "no_answer")
    assert Payment.objects.count() == 0
    assert fake.payments[attempt.provider_ref]["status"] == "Completed"  # money moved

    counts = gateways.reconcile(now=attempt.created_at + dt.timedelta(minutes=30))

    attempt.refresh_from_db()
    assert counts == {"verified": 1}
    assert attempt.state == "verified"
    assert Payment.objects.get().reference == attempt.provider_txn_id
    assert len(fake.calls(EXECUTE)) == 1  # never executed twice


def test_refund_v2_on_the_host_root(cast, register, bkash):
    fake, account = bkash
    attempt = start(account, register())
    gateways.handle_callback("bkash", fake.complete(attempt.provider_ref).as_callback())
    attempt.refresh_from_db()

    adapter = gateways.adapter_for(account)
    result = adapter.refund(
        AttemptInfo(
            merchant_ref=attempt.merchant_ref,
            amount=attempt.amount,
            currency="BDT",
            provider_ref=attempt.provider_ref,
            provider_txn_id=attempt.provider_txn_id or "",
        ),
        Decimal("100"),
        "moved house",
    )

    assert (result.completed, result.amount) == (True, Decimal("100.00"))
    assert fake.payments[attempt.provider_ref]["refunds"] == ["100.00"]


def test_send_money_trx_id_is_checked_with_bkash_and_recorded_once(cast, register, bkash):
    fake, account = bkash
    customer = register()
    fake.add_send_money("9AB12CD34E", "500.00")

    attempt = gateways.record_send_money(
        actor=cast.alice, account=account, customer=customer, trx_id="9ab12cd34e"
    )

    assert (attempt.state, attempt.amount) == ("verified", Decimal("500.00"))
    assert attempt.payment.reference == "9AB12CD34E"
    with pytest.raises(ConflictError):
        gateways.record_send_money(
            actor=cast.alice, account=account, customer=customer, trx_id="9AB12CD34E"
        )
    assert Payment.objects.count() == 1


def test_send_money_to_another_wallet_or_unknown_is_refused(cast, register, bkash):
    fake, account = bkash
    customer = register()
    fake.add_send_money("7XY12CD34E", "500.00", receiver="01999999999")

    with pytest.raises(DomainError):
        gateways.record_send_money(
            actor=None, account=account, customer=customer, trx_id="7XY12CD34E"
        )
    with pytest.raises(DomainError):
        gateways.record_send_money(
            actor=None, account=account, customer=customer, trx_id="0NOSUCH000"
        )
    assert PaymentAttempt.objects.count() == 0
    assert Payment.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_duplicate_callbacks_make_one_payment(cast, register):
    with serve_fake("bkash") as (fake, server):
        account = gateway_account(cast.acme_root, "bkash", server.url)
        attempt = start(account, register())
        callback = fake.complete(attempt.provider_ref).as_callback()
        results: list[str] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(20)

        def deliver() -> None:
            try:
                barrier.wait()
                results.append(gateways.handle_callback("bkash", callback).result)
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=deliver) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    assert sorted(set(results)) == ["already_verified", "verified"]
    assert results.count("verified") == 1
    assert (
        Payment.objects.filter(reference=fake.payments[attempt.provider_ref]["trxID"]).count() == 1
    )
    attempt.refresh_from_db()
    assert attempt.state == "verified"
