"""BdSmartPay's message layer: PHP-style AES-128-CBC with an unsent IV, query answers."""

import base64
from decimal import Decimal
from urllib.parse import unquote

import pytest

from ispbills.payments.gateways import bdsmartpay


def test_key_is_cut_or_nul_padded_to_sixteen_bytes_as_php_does() -> None:
    assert bdsmartpay.php_key("0123456789abcdef0123") == b"0123456789abcdef"
    assert bdsmartpay.php_key("short") == b"short" + b"\0" * 11


def test_any_iv_decrypts_everything_after_the_marker_block() -> None:
    plain = bdsmartpay.query_plaintext(service_name="Acme", order_id="PAY1", merchant_id="m1")

    for iv in (b"\1" * 16, b"\7" * 16):
        value = bdsmartpay.encrypt(plain, "secret", iv)
        assert bdsmartpay.fields_after_marker(bdsmartpay.decrypt(value, "secret")) == {
            "service_name": "Acme",
            "order_id": "PAY1",
            "merchant_id": "m1",
        }


def test_value_is_base64_twice() -> None:
    value = bdsmartpay.encrypt("gateway=bdsmartpay&a=1", "secret")

    inner = base64.b64decode(value)
    assert len(base64.b64decode(inner)) % 16 == 0


def test_wrong_secret_never_reads_our_fields() -> None:
    value = bdsmartpay.encrypt(bdsmartpay.MARKER + "&order_id=PAY1", "secret")

    try:
        text = bdsmartpay.decrypt(value, "another")
    except bdsmartpay.BdsmartpayProtocolError:
        return
    # A wrong key can unpad by chance; the text is then garbage, never our fields.
    assert "order_id=PAY1" not in text


def test_payment_request_ends_with_our_return_url_encoded() -> None:
    plain = bdsmartpay.payment_plaintext(
        service_name="Acme",
        amount=Decimal(500),
        order_id="PAY1",
        merchant_id="m1",
        mobile="01711000000",
        email="",
        user_ref="c1",
        redirect_url="https://isp.example/cb/?ref=PAY1&",
    )
    url = bdsmartpay.payment_url(bdsmartpay.LIVE_HOST, plain, "secret")

    assert plain.startswith("gateway=bdsmartpay&service_name=Acme&amount=500.00&order_id=PAY1")
    assert url.startswith("https://bdsmartpay.com/gateway/pro/")
    value = unquote(url.rsplit("/", 1)[1])
    fields = bdsmartpay.fields_after_marker(bdsmartpay.decrypt(value, "secret"))
    assert fields["redirect_url"] == "https://isp.example/cb/?ref=PAY1&"
    assert (fields["amount"], fields["order_id"]) == ("500.00", "PAY1")


def test_query_answer_wrapped_in_a_list_is_read() -> None:
    result = bdsmartpay.parse_query(
        '[{"merchant_order_id":"PAY1","transaction_status":"Successful","amount":"500"}]'
    )

    assert result.paid
    assert result.amount == Decimal("500.00")
    assert result.order_id == "PAY1"
    with pytest.raises(bdsmartpay.BdsmartpayProtocolError):
        bdsmartpay.parse_query("<html>error</html>")
