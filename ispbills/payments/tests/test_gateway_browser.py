"""A real browser (headless Chromium) pays a payment link through the bKash fake."""

import datetime as dt
from typing import Any

import pytest

from ispbills.billing import automation
from ispbills.billing import services as billing
from ispbills.core import clock
from ispbills.core.testing.plugin import require_binary, require_service
from ispbills.customers.models import Customer
from ispbills.payments.gateways import links
from ispbills.payments.models import Payment
from ispbills.payments.tests.gateway_kit import gateway_account, serve_fake


def chromium_driver() -> Any:
    """Headless Chromium through chromedriver (Debian's chromium and chromium-driver)."""
    binary = require_binary("chromium", "chromium")
    driver = require_binary("chromedriver", "chromium-driver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:  # pragma: no cover - the dev extras install it
        require_service("selenium", False, "pip install -e '.[dev]'")
        raise
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=412,915")  # a phone
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


@pytest.mark.django_db(transaction=True)
def test_a_customer_pays_a_link_through_bkash_and_is_reactivated(
    cast, register, live_server, settings
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    settings.SITE_URL = live_server.url  # where bKash sends the payer back
    customer = register()
    Customer.objects.filter(pk=customer.pk).update(expires_at=clock.now() - dt.timedelta(days=2))
    bill = billing.generate_bill(actor=None, customer=customer)
    automation.suspend_overdue()
    assert Customer.objects.get(pk=customer.pk).status == "suspended"
    token = links.make_link_token(customer.pk, bill.pk, dt.timedelta(days=7))

    browser = chromium_driver()
    try:
        with serve_fake("bkash") as (fake, server):
            gateway_account(cast.acme_root, "bkash", server.url, label="bKash")
            browser.get(f"{live_server.url}/pay/{token}/")
            assert (
                bill.display_number
                in browser.find_element(By.CSS_SELECTOR, "[data-testid=pay-summary]").text
            )
            browser.find_element(By.CSS_SELECTOR, "button[name=gateway]").click()

            # On bKash's page: wallet, OTP and PIN are prefilled with the sandbox wallet's.
            WebDriverWait(browser, 15).until(ec.element_to_be_clickable((By.ID, "bkash-confirm")))
            assert browser.current_url.startswith(server.url)
            browser.find_element(By.ID, "bkash-confirm").click()

            result = WebDriverWait(browser, 20).until(
                ec.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=pay-result]"))
            )
            assert result.get_attribute("data-state") == "verified"
            assert len(fake.calls(r".*/tokenized/checkout/execute")) == 1
    finally:
        browser.quit()

    customer.refresh_from_db()
    bill.refresh_from_db()
    assert (customer.status, bill.status) == ("active", "paid")
    payment = Payment.objects.get()
    assert (payment.method, payment.gateway, payment.reactivated) == ("online", "bkash", True)
