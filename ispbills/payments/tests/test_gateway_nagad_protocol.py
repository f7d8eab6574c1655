"""Nagad's message layer: keys, RSA seal/open, signatures, Dhaka timestamps, parsing."""

import base64
import datetime as dt
import json
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ispbills.payments.gateways import nagad


@pytest.fixture(scope="module")
def merchant_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def nagad_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def bare_base64(pem: bytes) -> str:
    """How Nagad's portal hands keys out: the PEM body without armour or line breaks."""
    lines = pem.decode().strip().splitlines()
    return "".join(lines[1:-1])


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_loads_keys_given_as_bare_base64_or_pem(merchant_key: rsa.RSAPrivateKey) -> None:
    pub_bare = nagad.load_public_key(bare_base64(public_pem(merchant_key)))
    pub_pem = nagad.load_public_key(public_pem(merchant_key).decode())
    priv_bare = nagad.load_private_key(bare_base64(private_pem(merchant_key)))

    assert pub_bare.public_numbers() == merchant_key.public_key().public_numbers()
    assert pub_pem.public_numbers() == merchant_key.public_key().public_numbers()
    assert priv_bare.private_numbers() == merchant_key.private_numbers()


def test_refuses_a_truncated_key_with_a_clear_error(merchant_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(nagad.NagadProtocolError, match="not a valid RSA public key"):
        nagad.load_public_key(bare_base64(public_pem(merchant_key))[:100])
    with pytest.raises(nagad.NagadProtocolError, match="not a valid RSA private key"):
        nagad.load_private_key("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC")


def test_timestamp_is_dhaka_wall_time_whatever_the_zone_given() -> None:
    utc = dt.datetime(2026, 11, 26, 20, 30, 5, tzinfo=dt.UTC)

    assert nagad.dhaka_timestamp(utc) == "20261127023005"
    with pytest.raises(nagad.NagadProtocolError):
        nagad.dhaka_timestamp(dt.datetime(2026, 11, 26, 20, 30, 5))  # noqa: DTZ001


def test_challenge_is_forty_hex_characters_and_fresh() -> None:
    first, second = nagad.make_challenge(), nagad.make_challenge()

    assert len(first) == 40
    int(first, 16)
    assert first != second


@pytest.mark.parametrize("algorithm", ["SHA256", "SHA1"])
def test_signature_round_trips_with_the_configured_digest(
    merchant_key: rsa.RSAPrivateKey, algorithm: str
) -> None:
    signature = nagad.sign('{"a":1}', merchant_key, algorithm)

    assert nagad.verify('{"a":1}', signature, merchant_key.public_key(), algorithm)
    assert not nagad.verify('{"a":2}', signature, merchant_key.public_key(), algorithm)
    other = "SHA1" if algorithm == "SHA256" else "SHA256"
    assert not nagad.verify('{"a":1}', signature, merchant_key.public_key(), other)


def test_initialize_body_is_sealed_for_nagad_and_signed_by_the_merchant(
    merchant_key: rsa.RSAPrivateKey, nagad_key: rsa.RSAPrivateKey
) -> None:
    keys = nagad.NagadKeys(merchant_key, nagad_key.public_key())
    moment = dt.datetime(2026, 1, 1, 18, 0, tzinfo=dt.UTC)

    body = nagad.initialize_body(
        keys, merchant_id="683002007104225", order_id="A1B2C3", moment=moment, challenge="ab" * 20
    )

    assert body["dateTime"] == "20260102000000"
    plain = nagad.decrypt(body["sensitiveData"], nagad_key)
    assert json.loads(plain) == {
        "merchantId": "683002007104225",
        "datetime": "20260102000000",
        "orderId": "A1B2C3",
        "challenge": "ab" * 20,
    }
    assert nagad.verify(plain, body["signature"], merchant_key.public_key())
    assert "accountNumber" not in body


def test_complete_body_carries_amount_in_taka_and_bdt_code(
    merchant_key: rsa.RSAPrivateKey, nagad_key: rsa.RSAPrivateKey
) -> None:
    keys = nagad.NagadKeys(merchant_key, nagad_key.public_key(), algorithm="SHA1")

    body = nagad.complete_body(
        keys,
        merchant_id="683002007104225",
        order_id="A1B2C3",
        amount=Decimal("500.5"),
        challenge="c" * 40,
        callback_url="https://isp.example/cb",
    )

    plain = nagad.decrypt(body["sensitiveData"], nagad_key)
    assert json.loads(plain)["amount"] == "500.50"
    assert json.loads(plain)["currencyCode"] == "050"
    assert nagad.verify(plain, body["signature"], merchant_key.public_key(), "SHA1")
    assert body["merchantCallbackURL"] == "https://isp.example/cb"


def test_opens_an_answer_only_when_nagad_signed_it(
    merchant_key: rsa.RSAPrivateKey, nagad_key: rsa.RSAPrivateKey
) -> None:
    ours = nagad.NagadKeys(merchant_key, nagad_key.public_key())
    # Nagad's side seals with our public key and its private key.
    theirs = nagad.NagadKeys(nagad_key, merchant_key.public_key())
    answer = theirs.seal({"paymentReferenceId": "REF1", "challenge": "z" * 40})

    assert nagad.parse_initialize(ours, answer) == nagad.Initialized("REF1", "z" * 40)

    forged = {**answer, "signature": nagad.sign("{}", merchant_key)}
    with pytest.raises(nagad.NagadProtocolError, match="not Nagad's"):
        ours.open(forged)
    with pytest.raises(nagad.NagadProtocolError, match="could not be decrypted"):
        ours.open({**answer, "sensitiveData": base64.b64encode(b"x" * 256).decode()})


def test_refuses_sensitive_data_too_long_for_one_rsa_block(
    nagad_key: rsa.RSAPrivateKey,
) -> None:
    with pytest.raises(nagad.NagadProtocolError, match="more than 245"):
        nagad.encrypt("x" * 246, nagad_key.public_key())


def test_verify_answer_is_read_with_decimal_amount() -> None:
    result = nagad.parse_verify(
        {
            "merchantId": "683002007104225",
            "orderId": "A1B2C3",
            "paymentRefId": "REF1",
            "amount": "500.50",
            "status": "Success",
            "statusCode": "000",
            "issuerPaymentRefNo": "7XJ3K",
        }
    )

    assert result.paid
    assert result.amount == Decimal("500.50")
    assert result.issuer_reference == "7XJ3K"
    assert nagad.parse_verify({"status": "Aborted"}).failed
    assert not nagad.parse_verify({"status": "OtpSent"}).failed
    with pytest.raises(nagad.NagadProtocolError):
        nagad.parse_verify({"reason": "16_0006_055", "message": "Invalid payment reference"})
