"""aamarPay's and EasyPayWay's message layer: request fields, answers, trxcheck."""

from decimal import Decimal

import pytest

from ispbills.payments.gateways import aamarpay, easypayway


def fields() -> dict[str, str]:
    return aamarpay.payment_fields(
        store_id="aamarpaytest",
        signature_key="sigkey",
        tran_id="PAY1",
        amount=Decimal("1200"),
        currency="BDT",
        description="Internet bill",
        success_url="https://s",
        fail_url="https://f",
        cancel_url="https://c",
        customer={"name": "Rahim", "phone": "01711000000"},
    )


def test_json_request_carries_type_json_and_two_decimal_amount() -> None:
    body = aamarpay.json_body(fields())

    assert body["type"] == "json"
    assert body["amount"] == "1200.00"
    assert body["tran_id"] == "PAY1"
    assert body["signature_key"] == "sigkey"


def test_create_answer_is_read_or_refused_with_its_messages() -> None:
    url = "https://sandbox.aamarpay.com/paynow.php?track=AAM1"

    assert aamarpay.parse_create({"result": "true", "payment_url": url}) == url
    with pytest.raises(aamarpay.AamarpayProtocolError, match="Duplicate tran_id"):
        aamarpay.parse_create({"result": "false", "tran_id": "Duplicate tran_id"})


def test_trxcheck_reads_objects_and_one_element_lists() -> None:
    answer = {
        "pay_status": "Successful",
        "mer_txnid": "PAY1",
        "pg_txnid": "AAM1",
        "amount": "1200.00",
        "currency_merchant": "BDT",
        "bank_trxid": "BK1",
    }

    for body in (answer, [answer]):
        result = aamarpay.parse_trxcheck(body)
        assert result.paid
        assert result.amount == Decimal("1200.00")
        assert result.bank_txn == "BK1"
        assert result.provider_txn_id == "AAM1"
    assert aamarpay.parse_trxcheck({**answer, "pay_status": "Failed"}).failed
    with pytest.raises(aamarpay.AamarpayProtocolError, match="Invalid Request"):
        aamarpay.parse_trxcheck({"msg": "Invalid Request"})


def test_easypayway_form_answer_is_a_quoted_path_on_the_host() -> None:
    host = easypayway.LIVE_HOST

    assert (
        easypayway.parse_create('"\\/paynow.php?track=EPW1"', host)
        == "https://securepay.easypayway.com/paynow.php?track=EPW1"
    )
    assert easypayway.parse_create("/paynow.php?track=EPW2", host).endswith("track=EPW2")
    with pytest.raises(easypayway.EasypaywayProtocolError):
        easypayway.parse_create("Invalid Store ID", host)
