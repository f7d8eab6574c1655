"""Razorpay's message layer: paise, the payment and webhook signatures, entity parsing."""

import hashlib
import hmac
from decimal import Decimal

import pytest

from ispbills.payments.gateways import razorpay


def test_amounts_travel_in_paise() -> None:
    assert razorpay.to_minor(Decimal("499.99")) == 49999
    assert razorpay.to_minor(Decimal("1")) == 100
    assert razorpay.from_minor(49999) == Decimal("499.99")
    with pytest.raises(razorpay.RazorpayProtocolError):
        razorpay.to_minor(Decimal("1.005"))
    with pytest.raises(razorpay.RazorpayProtocolError):
        razorpay.from_minor("49999")


def test_payment_signature_is_hmac_of_order_pipe_payment() -> None:
    expected = hmac.new(b"sekret", b"order_A|pay_B", hashlib.sha256).hexdigest()

    assert razorpay.payment_signature("order_A", "pay_B", "sekret") == expected
    assert razorpay.verify_payment_signature("order_A", "pay_B", expected, "sekret")
    assert not razorpay.verify_payment_signature("order_X", "pay_B", expected, "sekret")
    assert not razorpay.verify_payment_signature("order_A", "pay_B", expected, "other")
    assert not razorpay.verify_payment_signature("order_A", "pay_B", "", "sekret")


def test_webhook_signature_is_over_the_raw_bytes() -> None:
    body = b'{"event":"payment.captured", "x":1}'
    signature = razorpay.webhook_signature(body, "whsec")

    assert razorpay.verify_webhook_signature(body, signature, "whsec")
    # The same JSON re-serialised is different bytes and must fail.
    assert not razorpay.verify_webhook_signature(
        b'{"event":"payment.captured","x":1}', signature, "whsec"
    )
    assert not razorpay.verify_webhook_signature(body, signature, "key-secret")


def test_order_body_refuses_bad_receipts_and_small_amounts() -> None:
    body = razorpay.order_body(amount=Decimal("10.50"), currency="INR", receipt="PAY-1")

    assert body == {"amount": 1050, "currency": "INR", "receipt": "PAY-1", "notes": {}}
    with pytest.raises(razorpay.RazorpayProtocolError, match="1 to 40"):
        razorpay.order_body(amount=Decimal(10), currency="INR", receipt="R" * 41)
    with pytest.raises(razorpay.RazorpayProtocolError, match=r"1\.00"):
        razorpay.order_body(amount=Decimal("0.99"), currency="INR", receipt="R")
    with pytest.raises(razorpay.RazorpayProtocolError, match="BDT"):
        razorpay.order_body(amount=Decimal(10), currency="BDT", receipt="R")


def test_parses_payment_entities_and_errors() -> None:
    payment = razorpay.parse_payment(
        {
            "id": "pay_1",
            "entity": "payment",
            "amount": 1050,
            "currency": "INR",
            "status": "captured",
            "order_id": "order_1",
        }
    )

    assert payment.paid
    assert payment.amount == Decimal("10.50")
    with pytest.raises(razorpay.RazorpayProtocolError, match="The id provided does not exist"):
        razorpay.parse_payment(
            {
                "error": {
                    "code": "BAD_REQUEST_ERROR",
                    "description": "The id provided does not exist",
                }
            }
        )
