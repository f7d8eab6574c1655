"""shurjoPay's message layer: the token lifetime in seconds, secret-pay, verification."""

import datetime as dt
from decimal import Decimal

import pytest

from ispbills.payments.gateways import shurjopay

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def test_token_lifetime_is_read_as_seconds() -> None:
    token = shurjopay.parse_token(
        {"token": "jwt", "store_id": "1", "expires_in": 3600, "sp_code": "200"}, NOW
    )

    assert token.expires_at == NOW + dt.timedelta(hours=1)
    assert token.fresh(NOW + dt.timedelta(minutes=58))
    assert not token.fresh(NOW + dt.timedelta(minutes=59, seconds=30))
    with pytest.raises(shurjopay.ShurjopayProtocolError, match="Unauthorized"):
        shurjopay.parse_token({"sp_code": "1064", "message": "Unauthorized"}, NOW)


def test_secret_pay_body_formats_amount_and_refuses_long_prefix() -> None:
    token = shurjopay.Token("jwt", "7", NOW)

    body = shurjopay.secret_pay_body(
        token,
        prefix="NOK",
        order_id="PAY1",
        amount=Decimal("10"),
        currency="BDT",
        return_url="https://r",
        cancel_url="https://c",
        client_ip="10.0.0.1",
        customer={"name": "Rahim", "phone": "01711000000"},
    )

    assert body["amount"] == "10.00"
    assert body["store_id"] == "7"
    assert body["token"] == "jwt"
    assert body["customer_name"] == "Rahim"
    with pytest.raises(shurjopay.ShurjopayProtocolError, match="prefix"):
        shurjopay.secret_pay_body(
            token,
            prefix="TOOLONG",
            order_id="PAY1",
            amount=Decimal(10),
            currency="BDT",
            return_url="r",
            cancel_url="c",
            client_ip="1",
            customer={},
        )


def test_verification_reads_element_zero_and_four_decimal_amounts() -> None:
    result = shurjopay.parse_verification(
        [
            {
                "order_id": "NOK123",
                "customer_order_id": "PAY1",
                "amount": "10.0000",
                "currency": "BDT",
                "sp_code": 1000,
                "sp_massage": "Success",
                "bank_status": "Completed",
            }
        ]
    )

    assert result.paid
    assert result.amount == Decimal("10.00")
    assert result.customer_order_id == "PAY1"
    assert result.message == "Success"


def test_unknown_order_object_reads_as_failed_not_paid() -> None:
    result = shurjopay.parse_verification({"sp_code": "1011", "message": "Invalid Order ID"})

    assert not result.paid
    assert result.failed
    assert shurjopay.parse_verification([{"sp_code": "1002"}]).cancelled
    assert not shurjopay.parse_verification([{"sp_code": "1068"}]).failed
    with pytest.raises(shurjopay.ShurjopayProtocolError):
        shurjopay.parse_verification([])
