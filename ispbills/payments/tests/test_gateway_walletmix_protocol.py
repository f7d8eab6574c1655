"""WalletMix's message layer: authorization field, request, callback, check-payment."""

import base64
import json
from decimal import Decimal

import pytest

from ispbills.payments.gateways import walletmix


def test_authorization_is_a_basic_credential_in_a_form_field() -> None:
    value = walletmix.authorization("user", "p@ss")

    assert value == "Basic " + base64.b64encode(b"user:p@ss").decode()


def test_payment_fields_carry_the_order_and_amount() -> None:
    form = walletmix.payment_fields(
        wmx_id="WMX1",
        app_name="isp.example",
        access_app_key="appkey",
        username="u",
        password="p",
        site_host="isp.example",
        server_ip="127.0.0.1",
        callback_url="https://isp.example/cb",
        order_id="PAY1",
        amount=Decimal("300"),
        description="Internet bill",
        customer={"name": "Rahim"},
    )

    assert form["amount"] == "300.00"
    assert form["merchant_order_id"] == "PAY1"
    assert form["currency"] == "BDT"
    assert base64.b64decode(form["options"]) == b"s=isp.example,i=127.0.0.1"
    assert form["cart_info"] == "WMX1,isp.example,isp.example"


def test_token_and_check_payment_are_read() -> None:
    assert walletmix.parse_payment_request({"statusCode": "1000", "token": "T1"}) == "T1"
    with pytest.raises(walletmix.WalletmixProtocolError, match="Invalid app key"):
        walletmix.parse_payment_request({"statusCode": "1001", "statusMsg": "Invalid app key"})

    result = walletmix.parse_check_payment(
        {
            "wmx_id": "WMX1",
            "txn_status": "1000",
            "merchant_order_id": "PAY1",
            "merchant_amount_bdt": "300",
            "ref_id": "R1",
        }
    )
    assert result.paid
    assert result.amount == Decimal("300.00")
    assert not walletmix.parse_check_payment({"txn_status": "1001"}).paid


def test_callback_token_is_read_from_merchant_txn_data() -> None:
    form = {"merchant_txn_data": json.dumps({"token": "T1", "txn_status": "1000"})}

    assert walletmix.callback_token(form) == "T1"
    assert walletmix.callback_token({"merchant_txn_data": "not json"}) == ""
