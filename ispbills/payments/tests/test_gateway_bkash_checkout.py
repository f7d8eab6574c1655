"""bKash Checkout (iframe/JS): the real adapter against the fake over HTTP, driven through
our payment page's browser actions (the service and the Django views)."""

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client

from ispbills.core.models import AuditEvent
from ispbills.payments.gateways import links
from ispbills.payments.gateways import services as gateways
from ispbills.payments.gateways.base import GatewayError
from ispbills.payments.gateways.fakes.bkash import V
from ispbills.payments.models import GatewayAccount, GatewayExchange, Payment, PaymentAttempt
from ispbills.payments.tests.gateway_kit import gateway_account, serve_fake

pytestmark = pytest.mark.django_db

CODE = "bkash_checkout"
C = V + "/checkout"
CREATE = C + "/payment/create"
EXECUTE = C + r"/payment/execute/\w+"
QUERY = C + r"/payment/query/\w+"
GRANT = C + "/token/grant"
REFRESH = C + "/token/refresh"
SCRIPT_CALLBACKS = {"executeRequestOnAuthorization": "execute", "onClose": "cancel"}


@pytest.fixture(autouse=True)
def _fresh_throttle() -> Any:
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def provider(cast: Any) -> Any:
    with serve_fake(CODE) as (fake, server):
        account = gateway_account(cast.acme_root, CODE, server.url)
        yield fake, account


def start(account: GatewayAccount, customer: Any, amount: str = "800") -> PaymentAttempt:
    started = gateways.start_attempt(
        actor=None, account=account, amount=amount, purpose="advance", customer=customer
    )
    assert started.result is not None, started.attempt.message
    assert started.attempt.state == "pending"
    return started.attempt


def act(name: str, attempt: PaymentAttempt, **payload: Any) -> gateways.ActionOutcome:
    token = links.sign_page(attempt.merchant_ref)
    return gateways.browser_action(CODE, name, token, {**payload, "token": token})


def opened(attempt: PaymentAttempt) -> str:
    """The payer pressed the bKash button: createRequest → our create action → bKash."""
    created = act("create", attempt)
    assert (created.status, created.result) == (200, "created"), created.reply
    attempt.refresh_from_db()
    assert created.reply["paymentID"] == attempt.provider_ref
    return attempt.provider_ref


def pay(
    fake: Any, attempt: PaymentAttempt, outcome: str = "success", **kwargs: Any
) -> gateways.ActionOutcome:
    """The payer goes through bKash's iframe; the script calls back and the page posts it."""
    payment_id = attempt.provider_ref or opened(attempt)
    back = fake.complete(payment_id, outcome, **kwargs)
    return act(SCRIPT_CALLBACKS[back.url], attempt, **back.form)


# -- the flow (the shared contract's cases, through the browser actions) ------------------


def test_starting_sends_the_payer_to_our_page_and_opens_nothing_at_bkash(
    register: Any, provider: Any, client: Client
) -> None:
    fake, account = provider
    attempt = start(account, register())

    url = attempt.data["start"]["redirect_url"]
    assert f"/pay/gw/{CODE}/page/" in url
    assert attempt.provider_ref == ""
    assert fake.requests == []

    response = client.get(url[url.index("/pay/") :])
    page = response.content.decode()
    assert response.status_code == 200
    assert account.get_credentials()["script_url"] in page  # the fake's stand-in script
    assert "bKash.init" in page
    assert "paymentMode" in page
    assert account.get_credentials()["app_secret"] not in page
    assert "csrftoken" in response.cookies


def test_a_confirmed_payment_is_credited_once_under_the_trx_id(
    register: Any, provider: Any
) -> None:
    fake, account = provider
    customer = register()
    attempt = start(account, customer)

    outcome = pay(fake, attempt)

    attempt.refresh_from_db()
    trx = fake.payments[attempt.provider_ref]["trxID"]
    assert (outcome.status, outcome.result) == (200, "verified")
    assert (attempt.state, attempt.outcome, attempt.provider_txn_id) == ("verified", "paid", trx)
    payment = attempt.payment
    assert (payment.customer_id, payment.amount, payment.method, payment.gateway) == (
        customer.pk,
        Decimal("800.00"),
        "online",
        CODE,
    )
    assert payment.reference == trx
    body = fake.calls(CREATE)[0].json()
    assert body == {
        "amount": "800.00",
        "currency": "BDT",
        "intent": "sale",
        "merchantInvoiceNumber": attempt.merchant_ref,
    }
    assert fake.calls(QUERY) == []  # no query after a successful execute (bKash's UAT)
    labels = list(
        GatewayExchange.objects.filter(attempt=attempt).order_by("id").values_list("label", flat=1)
    )
    assert labels == ["token grant", "create", "execute"]


def test_a_closed_iframe_cancels_after_bkash_says_it_did_not_complete(
    register: Any, provider: Any
) -> None:
    fake, account = provider
    attempt = start(account, register())

    outcome = pay(fake, attempt, "cancel")

    attempt.refresh_from_db()
    assert (outcome.result, attempt.state, attempt.outcome) == ("failed", "failed", "cancelled")
    assert len(fake.calls(QUERY)) == 1
    assert fake.calls(EXECUTE) == []
    assert Payment.objects.count() == 0


def test_a_close_after_bkash_completed_the_payment_credits_it(register: Any, provider: Any) -> None:
    fake, account = provider
    attempt = start(account, register())
    payment_id = opened(attempt)
    with fake.lock:  # bKash executed it (our answer got lost), then the iframe was closed
        fake.payments[payment_id].update(status="Completed", trxID="TRX0001")

    outcome = act("cancel", attempt, paymentID=payment_id)

    attempt.refresh_from_db()
    assert (outcome.result, attempt.state, attempt.provider_txn_id) == (
        "verified",
        "verified",
        "TRX0001",
    )
    assert Payment.objects.get().reference == "TRX0001"


def test_a_close_before_the_payment_opened_cancels_without_asking_bkash(
    register: Any, provider: Any
) -> None:
    fake, account = provider
    attempt = start(account, register())

    outcome = act("cancel", attempt)

    attempt.refresh_from_db()
    assert (outcome.result, attempt.state, attempt.outcome) == ("failed", "failed", "cancelled")
    assert fake.requests == []


def test_a_refused_wallet_fails_the_payment(register: Any, provider: Any) -> None:
    fake, account = provider
    attempt = start(account, register())

    outcome = pay(fake, attempt, "failure")

    attempt.refresh_from_db()
    assert (outcome.result, attempt.state, attempt.outcome) == ("failed", "failed", "declined")
    assert "2023" in attempt.message
    assert Payment.objects.count() == 0


def test_a_duplicate_execute_credits_once_and_does_not_reach_bkash(
    register: Any, provider: Any
) -> None:
    fake, account = provider
    attempt = start(account, register())
    first = pay(fake, attempt)

    second = act("execute", attempt, paymentID=attempt.provider_ref)

    assert (first.result, second.result) == ("verified", "already_verified")
    assert len(fake.calls(EXECUTE)) == 1
    assert Payment.objects.count() == 1


def test_an_execute_before_the_payer_approved_credits_nothing_until_they_do(
    register: Any, provider: Any
) -> None:
    fake, account = provider
    attempt = start(account, register())
    payment_id = opened(attempt)

    early = act("execute", attempt, paymentID=payment_id)  # 2056, then query: Initiated

    attempt.refresh_from_db()
    assert (early.result, attempt.state) == ("pending", "pending")
    assert Payment.objects.count() == 0
    later = pay(fake, attempt)
    assert later.result == "verified"
    assert Payment.objects.count() == 1


def test_a_confirmed_amount_below_the_attempt_needs_attention(register: Any, provider: Any) -> None:
    fake, account = provider
    attempt = start(account, register(), "800")

    outcome = pay(fake, attempt, amount=Decimal("400.00"))

    attempt.refresh_from_db()
    assert outcome.result == "attention"
    assert (attempt.state, attempt.outcome, attempt.needs_attention) == (
        "unknown",
        "underpaid",
        True,
    )
    assert attempt.confirmed_amount == Decimal("400.00")
    assert Payment.objects.count() == 0


def test_an_execute_timeout_is_unknown_then_reconciliation_pays_once(
    register: Any, provider: Any, settings: Any
) -> None:
    settings.PAYMENT_GATEWAY_READ_TIMEOUT = 0.5
    fake, account = provider
    attempt = start(account, register())
    opened(attempt)
    fake.stall(C + r"/payment/(execute|query)/\w+", 1.0, times=2)  # execute, then its query

    outcome = pay(fake, attempt)

    attempt.refresh_from_db()
    assert (outcome.result, attempt.state, attempt.outcome) == ("unknown", "unknown", "no_answer")
    assert len(fake.calls(EXECUTE)) == 1
    assert Payment.objects.count() == 0

    counts = gateways.reconcile(now=attempt.created_at + dt.timedelta(minutes=30))

    attempt.refresh_from_db()
    assert counts == {"verified": 1}
    assert len(fake.calls(EXECUTE)) == 1  # never executed twice
    assert attempt.state == "verified"
    assert Payment.objects.get().reference == fake.payments[attempt.provider_ref]["trxID"]


def test_reconciling_an_attempt_never_opened_at_bkash_asks_nothing(
    register: Any, provider: Any
) -> None:
    fake, account = provider
    attempt = start(account, register())

    counts = gateways.reconcile(now=attempt.created_at + dt.timedelta(minutes=30))

    attempt.refresh_from_db()
    assert counts == {"pending": 1}
    assert attempt.state == "pending"
    assert fake.requests == []


def test_a_second_create_keeps_the_payment_bkash_opened(register: Any, provider: Any) -> None:
    fake, account = provider
    attempt = start(account, register())
    payment_id = opened(attempt)

    again = act("create", attempt)

    assert (again.status, again.reply["paymentID"]) == (200, payment_id)
    assert len(fake.calls(CREATE)) == 1


def test_a_refusal_at_create_is_shown_and_stores_no_payment_id(
    register: Any, provider: Any
) -> None:
    fake, account = provider
    attempt = start(account, register())
    fake.invoices.add(attempt.merchant_ref)  # bKash has this invoice number already

    outcome = act("create", attempt)

    attempt.refresh_from_db()
    assert (outcome.status, outcome.result) == (502, "provider_error")
    assert "2029" in outcome.reply["error"]
    assert (attempt.provider_ref, attempt.state) == ("", "pending")


# -- token, refund, connection test ---------------------------------------------------------


def test_the_token_is_shared_refreshed_near_its_end_and_regranted_on_401(
    register: Any, provider: Any
) -> None:
    fake, account = provider
    t0 = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)
    with time_machine.travel(t0, tick=False):
        opened(start(account, register()))
        opened(start(account, register()))
    assert (len(fake.calls(GRANT)), len(fake.calls(REFRESH))) == (1, 0)
    with time_machine.travel(t0 + dt.timedelta(minutes=56), tick=False):
        opened(start(account, register()))  # renewed from the 55th minute
    assert (len(fake.calls(GRANT)), len(fake.calls(REFRESH))) == (1, 1)

    fake.tokens.clear()  # bKash forgot the token: 401, renewed once, the call repeated
    with time_machine.travel(t0 + dt.timedelta(minutes=58), tick=False):
        attempt = start(account, register())
        opened(attempt)
    assert attempt.provider_ref in fake.payments
    assert (len(fake.calls(GRANT)), len(fake.calls(REFRESH))) == (1, 2)


def test_stored_exchanges_keep_no_secret(register: Any, provider: Any) -> None:
    fake, account = provider
    attempt = start(account, register())
    pay(fake, attempt)

    rows = list(GatewayExchange.objects.filter(attempt=attempt))
    dump = repr([(r.url, r.request_headers, r.request_body, r.response_body) for r in rows])
    token = next(iter(fake.tokens))
    for secret in ("password", "app_key", "app_secret"):
        assert fake.credentials[secret] not in dump, secret
    assert token not in dump
    assert "[redacted]" in dump


def test_a_paid_attempt_is_refunded_once(register: Any, provider: Any) -> None:
    fake, account = provider
    attempt = start(account, register())
    pay(fake, attempt)
    attempt.refresh_from_db()
    adapter = gateways.adapter_for(account)

    refund = adapter.refund(gateways.info_of(attempt), Decimal("300.00"), "changed plan")

    assert (refund.completed, refund.amount) == (True, Decimal("300.00"))
    assert refund.refund_id
    with pytest.raises(GatewayError) as refused:
        adapter.refund(gateways.info_of(attempt), Decimal("100.00"), "again")
    assert refused.value.code == "2074"


def test_the_connection_test_tells_good_from_bad_credentials(cast: Any, provider: Any) -> None:
    _fake, account = provider

    ok, message = gateways.test_account(actor=cast.alice, account=account)
    assert ok, message

    account.set_credentials({**account.get_credentials(), "app_secret": "wrong"})
    account.state = ""
    account.save()
    ok, message = gateways.test_account(actor=cast.alice, account=account)
    assert not ok
    assert "Invalid App Key" in message


# -- the endpoints through the Django test client -------------------------------------------


def _page(client: Client, attempt: PaymentAttempt) -> str:
    token = links.sign_page(attempt.merchant_ref)
    response = client.get(f"/pay/gw/{CODE}/page/{token}/")
    assert response.status_code == 200
    return token


def _post(client: Client, name: str, body: dict[str, Any], csrf: bool = True) -> Any:
    headers = {"X-CSRFToken": client.cookies["csrftoken"].value} if csrf else {}
    return client.post(
        f"/pay/gw/{CODE}/action/{name}/",
        data=json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


def test_the_page_and_its_actions_pay_through_the_web(register: Any, provider: Any) -> None:
    fake, account = provider
    client = Client(enforce_csrf_checks=True)
    attempt = start(account, register())
    token = _page(client, attempt)

    created = _post(client, "create", {"token": token})
    payment_id = created.json()["paymentID"]
    back = fake.complete(payment_id)
    executed = _post(client, "execute", {"token": token, **back.form})

    attempt.refresh_from_db()
    assert created.status_code == 200
    assert executed.status_code == 200
    assert executed.json()["result"] == "verified"
    assert executed.json()["result_url"].startswith("/pay/result/")
    assert (attempt.provider_ref, attempt.state) == (payment_id, "verified")
    assert Payment.objects.count() == 1
    # The page of a settled attempt sends the payer to its result.
    again = client.get(f"/pay/gw/{CODE}/page/{token}/")
    assert again.status_code == 302
    assert again["Location"].startswith("/pay/result/")


def test_an_action_without_the_csrf_token_is_refused_and_writes_nothing(
    register: Any, provider: Any
) -> None:
    fake, account = provider
    client = Client(enforce_csrf_checks=True)
    attempt = start(account, register())
    token = _page(client, attempt)

    response = _post(client, "create", {"token": token}, csrf=False)

    attempt.refresh_from_db()
    assert response.status_code == 403
    assert attempt.provider_ref == ""
    assert fake.requests == []


def test_a_forged_token_is_refused_and_writes_nothing(
    register: Any, provider: Any, client: Client
) -> None:
    fake, account = provider
    attempt = start(account, register())
    forged = links.sign_page(attempt.merchant_ref)[:-2] + "xx"
    before = GatewayExchange.objects.count()

    page = client.get(f"/pay/gw/{CODE}/page/{forged}/")
    create = client.post(
        f"/pay/gw/{CODE}/action/create/",
        data=json.dumps({"token": forged}),
        content_type="application/json",
    )
    # A token of the result page (another salt) opens no action either.
    result_token = links.sign_attempt(attempt.merchant_ref)
    execute = client.post(
        f"/pay/gw/{CODE}/action/execute/",
        data=json.dumps({"token": result_token, "paymentID": "X"}),
        content_type="application/json",
    )

    attempt.refresh_from_db()
    assert (page.status_code, create.status_code, execute.status_code) == (404, 403, 403)
    assert (attempt.provider_ref, attempt.state) == ("", "pending")
    assert fake.requests == []
    assert GatewayExchange.objects.count() == before
    assert AuditEvent.objects.filter(verb="gateway.action_refused").count() == 2


def test_another_customers_payment_cannot_be_executed_with_ones_own_page(
    register: Any, provider: Any, client: Client
) -> None:
    fake, account = provider
    mine = start(account, register())
    theirs = start(account, register())
    _page(client, mine)
    opened(mine)
    their_payment = opened(theirs)
    fake.complete(their_payment)  # they approved in bKash; their page has not executed yet

    response = _post(
        client,
        "execute",
        {"token": links.sign_page(mine.merchant_ref), "paymentID": their_payment},
    )

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert response.status_code == 409
    assert response.json()["result"] == "mismatch"
    assert (mine.state, theirs.state) == ("pending", "pending")
    assert fake.calls(EXECUTE) == []
    assert Payment.objects.count() == 0


def test_unknown_actions_bad_bodies_and_gets_are_refused(
    register: Any, provider: Any, client: Client
) -> None:
    fake, account = provider
    attempt = start(account, register())
    token = _page(client, attempt)

    unknown = _post(client, "refund", {"token": token})
    not_json = client.post(
        f"/pay/gw/{CODE}/action/create/",
        data="token=x",
        content_type="application/x-www-form-urlencoded",
        headers={"X-CSRFToken": client.cookies["csrftoken"].value},
    )
    get = client.get(f"/pay/gw/{CODE}/action/create/")
    no_page = client.get(f"/pay/gw/bkash/page/{token}/")  # tokenized bKash has no page

    attempt.refresh_from_db()
    assert (unknown.status_code, not_json.status_code, get.status_code) == (404, 400, 405)
    assert no_page.status_code == 404
    assert attempt.provider_ref == ""
    assert fake.requests == []


# -- a real browser runs the page's script against the fake's stand-in --------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("choice", ["bkash-confirm", "bkash-close"])
def test_a_browser_pays_or_closes_through_the_checkout_script(
    cast: Any, register: Any, live_server: Any, settings: Any, choice: str
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from ispbills.payments.tests.test_gateway_browser import chromium_driver

    settings.SITE_URL = live_server.url
    customer = register()
    token = links.make_link_token(customer.pk, None, dt.timedelta(days=7))
    browser = chromium_driver()
    try:
        with serve_fake(CODE) as (fake, server):
            gateway_account(cast.acme_root, CODE, server.url, label="bKash Checkout")
            browser.get(f"{live_server.url}/pay/{token}/")
            browser.find_element(By.CSS_SELECTOR, "input[name=amount]").clear()
            browser.find_element(By.CSS_SELECTOR, "input[name=amount]").send_keys("500")
            browser.find_element(By.CSS_SELECTOR, "button[name=gateway]").click()

            # Our page, with the fake's stand-in script: the bKash button opens its "iframe".
            WebDriverWait(browser, 15).until(ec.element_to_be_clickable((By.ID, "bKash_button")))
            assert browser.current_url.startswith(f"{live_server.url}/pay/gw/{CODE}/page/")
            browser.find_element(By.ID, "bKash_button").click()
            WebDriverWait(browser, 15).until(ec.element_to_be_clickable((By.ID, choice)))
            browser.find_element(By.ID, choice).click()

            result = WebDriverWait(browser, 20).until(
                ec.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=pay-result]"))
            )
            state = result.get_attribute("data-state")
            executes = len(fake.calls(EXECUTE))
    finally:
        browser.quit()

    attempt = PaymentAttempt.objects.get()
    if choice == "bkash-confirm":
        assert (state, attempt.state, executes) == ("verified", "verified", 1)
        assert Payment.objects.get().amount == Decimal("500.00")
    else:
        assert (state, attempt.state, attempt.outcome, executes) == (
            "failed",
            "failed",
            "cancelled",
            0,
        )
        assert Payment.objects.count() == 0
