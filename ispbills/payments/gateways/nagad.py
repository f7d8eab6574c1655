"""Nagad merchant online payment (RSA): initialize, complete, callback, verify.

Protocol (Nagad Online Payment API Integration Guide v3.3 and the sample code shipped with it):
every request carries ``sensitiveData`` (JSON encrypted with the Nagad PG public key, RSA
PKCS#1 v1.5, base64) and ``signature`` (the same JSON signed with the merchant private key);
every encrypted answer is decrypted with the merchant private key and its signature checked
with the Nagad PG public key. Timestamps are ``yyyyMMddHHmmss`` in Asia/Dhaka (a server
clock read in UTC is refused by Nagad as "outside the allowed window").

Details the published sources disagree on, kept configurable or isolated here (to check
with the provider's onboarding pack): the signature digest (guide: SHA1withRSA; the sample
code and working clients: SHA256withRSA, our default), the spelling of the date key in the
initialize JSON (``datetime``), and whether ``X-KM-MC-Id`` is required (sent).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import re
import secrets
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.utils.translation import gettext_lazy as _

from ispbills.core import clock
from ispbills.payments.gateways import register
from ispbills.payments.gateways.base import (
    AttemptInfo,
    Callback,
    CallbackRequest,
    CallbackStatus,
    Confirmation,
    CredentialField,
    GatewayConfigError,
    GatewayError,
    PaymentGateway,
    PaymentRequest,
    Signature,
    StartResult,
    Verdict,
    format_amount,
)
from ispbills.payments.gateways.http import json_of

DHAKA = zoneinfo.ZoneInfo("Asia/Dhaka")
SANDBOX_BASE = "https://sandbox-ssl.mynagad.com/api/dfs"
LIVE_BASE = "https://api.mynagad.com/api/dfs"
API_VERSION = "v-0.2.0"
BDT_CODE = "050"
SIGNATURE_ALGORITHMS = {"SHA256": hashes.SHA256, "SHA1": hashes.SHA1}
# Purchase statuses that will not turn into a payment any more.
FINAL_FAILED = frozenset(
    {"Cancelled", "Aborted", "Failed", "Fraud", "InvalidRequest", "UnKnownFailed"}
)
ORDER_ID = re.compile(r"[A-Za-z0-9]{5,20}")
# PKCS#1 v1.5 with a k-byte modulus carries at most k - 11 bytes.
PKCS1V15_OVERHEAD = 11


class NagadProtocolError(ValueError):
    """A Nagad message could not be built, decrypted or trusted."""


def _pem(key: str, kind: str) -> bytes:
    """Nagad hands keys out as bare base64; wrap them in PEM armour when they have none."""
    text = key.strip()
    if text.startswith("-----BEGIN"):
        return text.encode()
    body = "".join(text.split())
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----\n".encode()


def load_public_key(key: str) -> rsa.RSAPublicKey:
    """An RSA public key from PEM or bare base64 (SubjectPublicKeyInfo)."""
    try:
        loaded = serialization.load_pem_public_key(_pem(key, "PUBLIC KEY"))
    except ValueError:
        raise NagadProtocolError("the Nagad public key is not a valid RSA public key") from None
    if not isinstance(loaded, rsa.RSAPublicKey):
        raise NagadProtocolError("the Nagad public key is not an RSA key")
    return loaded


def load_private_key(key: str) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM or bare base64 (PKCS#8, or PKCS#1 with its PEM armour)."""
    try:
        loaded = serialization.load_pem_private_key(_pem(key, "PRIVATE KEY"), password=None)
    except (ValueError, TypeError):
        raise NagadProtocolError(
            "the merchant private key is not a valid RSA private key"
        ) from None
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise NagadProtocolError("the merchant private key is not an RSA key")
    return loaded


def dhaka_timestamp(moment: dt.datetime) -> str:
    """``yyyyMMddHHmmss`` of an aware moment in Asia/Dhaka, as Nagad wants it."""
    if moment.tzinfo is None:
        raise NagadProtocolError("Nagad timestamps need an aware datetime")
    return moment.astimezone(DHAKA).strftime("%Y%m%d%H%M%S")


def make_challenge() -> str:
    """A fresh 40-character hex challenge for initialize."""
    return secrets.token_hex(20)


def canonical_json(data: dict[str, Any]) -> str:
    """The exact plaintext that is both encrypted and signed (compact, as PHP's json_encode)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def encrypt(plaintext: str, public_key: rsa.RSAPublicKey) -> str:
    """base64(RSA-encrypt(plaintext)) with PKCS#1 v1.5 padding."""
    raw = plaintext.encode()
    limit = public_key.key_size // 8 - PKCS1V15_OVERHEAD
    if len(raw) > limit:
        raise NagadProtocolError(f"sensitive data is {len(raw)} bytes, more than {limit}")
    return base64.b64encode(public_key.encrypt(raw, padding.PKCS1v15())).decode()


def decrypt(ciphertext: str, private_key: rsa.RSAPrivateKey) -> str:
    """The plaintext of base64(RSA-encrypt(...)) made for our key."""
    try:
        raw = base64.b64decode(ciphertext, validate=False)
        return private_key.decrypt(raw, padding.PKCS1v15()).decode()
    except (ValueError, TypeError, UnicodeDecodeError):
        raise NagadProtocolError("sensitive data could not be decrypted with our key") from None


def _algorithm(name: str) -> hashes.HashAlgorithm:
    try:
        return SIGNATURE_ALGORITHMS[name.upper()]()
    except KeyError:
        raise NagadProtocolError(f"unknown signature algorithm {name!r}") from None


def sign(plaintext: str, private_key: rsa.RSAPrivateKey, algorithm: str = "SHA256") -> str:
    """base64(RSA PKCS#1 v1.5 signature of plaintext) with SHA256 (or SHA1)."""
    signature = private_key.sign(plaintext.encode(), padding.PKCS1v15(), _algorithm(algorithm))
    return base64.b64encode(signature).decode()


def verify(
    plaintext: str, signature: str, public_key: rsa.RSAPublicKey, algorithm: str = "SHA256"
) -> bool:
    """Whether signature is a valid signature of plaintext by the holder of public_key."""
    try:
        raw = base64.b64decode(signature, validate=False)
        public_key.verify(raw, plaintext.encode(), padding.PKCS1v15(), _algorithm(algorithm))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class NagadKeys:
    """The two RSA keys a merchant holds: its own private key and Nagad's public key."""

    merchant_private: rsa.RSAPrivateKey
    nagad_public: rsa.RSAPublicKey
    algorithm: str = "SHA256"

    def seal(self, data: dict[str, Any]) -> dict[str, str]:
        """``{"sensitiveData", "signature"}`` for a sensitive JSON object."""
        plain = canonical_json(data)
        return {
            "sensitiveData": encrypt(plain, self.nagad_public),
            "signature": sign(plain, self.merchant_private, self.algorithm),
        }

    def open(self, body: dict[str, Any]) -> dict[str, Any]:
        """The decrypted JSON of an answer, refused unless Nagad's signature holds."""
        sensitive, signature = body.get("sensitiveData"), body.get("signature")
        if not isinstance(sensitive, str) or not isinstance(signature, str):
            raise NagadProtocolError("the answer has no sensitiveData and signature")
        plain = decrypt(sensitive, self.merchant_private)
        if not verify(plain, signature, self.nagad_public, self.algorithm):
            raise NagadProtocolError("the answer's signature is not Nagad's")
        try:
            data = json.loads(plain)
        except ValueError:
            raise NagadProtocolError("the decrypted answer is not JSON") from None
        if not isinstance(data, dict):
            raise NagadProtocolError("the decrypted answer is not a JSON object")
        return data


def headers(merchant_id: str, client_ip: str, client_type: str = "PC_WEB") -> dict[str, str]:
    """The headers every Nagad call carries."""
    return {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-KM-Api-Version": API_VERSION,
        "X-KM-IP-V4": client_ip,
        "X-KM-Client-Type": client_type,
        "X-KM-MC-Id": merchant_id,
    }


def initialize_path(merchant_id: str, order_id: str) -> str:
    return f"/check-out/initialize/{merchant_id}/{order_id}"


def initialize_body(
    keys: NagadKeys,
    *,
    merchant_id: str,
    order_id: str,
    moment: dt.datetime,
    challenge: str,
    account_number: str = "",
) -> dict[str, str]:
    """The initialize request: a sealed ``{merchantId, datetime, orderId, challenge}``."""
    stamp = dhaka_timestamp(moment)
    sensitive = {
        "merchantId": merchant_id,
        "datetime": stamp,
        "orderId": order_id,
        "challenge": challenge,
    }
    body = {"dateTime": stamp, **keys.seal(sensitive)}
    if account_number:
        body["accountNumber"] = account_number
    return body


@dataclass(frozen=True)
class Initialized:
    """What initialize answers once opened: the reference and the challenge to echo."""

    payment_reference_id: str
    challenge: str


def parse_initialize(keys: NagadKeys, body: dict[str, Any]) -> Initialized:
    data = keys.open(body)
    reference = data.get("paymentReferenceId")
    challenge = data.get("challenge") or data.get("random")
    if not reference or not challenge:
        raise NagadProtocolError("initialize answered without paymentReferenceId or challenge")
    return Initialized(str(reference), str(challenge))


def complete_path(payment_reference_id: str) -> str:
    return f"/check-out/complete/{payment_reference_id}"


def complete_body(
    keys: NagadKeys,
    *,
    merchant_id: str,
    order_id: str,
    amount: Decimal,
    challenge: str,
    callback_url: str,
    additional_info: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The complete (place order) request, echoing initialize's challenge."""
    sensitive = {
        "merchantId": merchant_id,
        "orderId": order_id,
        "amount": format_amount(amount),
        "currencyCode": BDT_CODE,
        "challenge": challenge,
    }
    body: dict[str, Any] = {**keys.seal(sensitive), "merchantCallbackURL": callback_url}
    if additional_info:
        body["additionalMerchantInfo"] = additional_info
    return body


def parse_complete(body: dict[str, Any]) -> str:
    """The Nagad payment page to send the customer to."""
    if body.get("status") != "Success" or not body.get("callBackUrl"):
        raise NagadProtocolError(str(body.get("message") or "complete was not accepted"))
    return str(body["callBackUrl"])


def verify_path(payment_reference_id: str) -> str:
    return f"/verify/payment/{payment_reference_id}"


@dataclass(frozen=True)
class Verification:
    """Nagad's own record of a payment (plain JSON, from the verify call)."""

    status: str
    order_id: str
    amount: Decimal | None
    issuer_reference: str
    payment_reference_id: str
    raw: dict[str, Any]

    @property
    def paid(self) -> bool:
        return self.status == "Success"

    @property
    def failed(self) -> bool:
        return self.status in FINAL_FAILED


def parse_verify(body: dict[str, Any]) -> Verification:
    if "status" not in body:
        raise NagadProtocolError(str(body.get("message") or "verify answered without a status"))
    try:
        amount = Decimal(str(body["amount"])) if body.get("amount") not in (None, "") else None
    except ArithmeticError:
        raise NagadProtocolError("verify answered an amount that is not a number") from None
    return Verification(
        status=str(body["status"]),
        order_id=str(body.get("orderId") or ""),
        amount=amount,
        issuer_reference=str(body.get("issuerPaymentRefNo") or ""),
        payment_reference_id=str(body.get("paymentRefId") or ""),
        raw=body,
    )


def callback_fields(query: dict[str, str]) -> dict[str, str]:
    """The fields of Nagad's browser callback (unsigned: a hint, never proof)."""
    keys = ("merchant", "order_id", "payment_ref_id", "status", "status_code", "payment_dt")
    return {key: query.get(key, "") for key in (*keys, "issuer_payment_ref")}


# -- the adapter ----------------------------------------------------------------------------


def _verdict(verification: Verification) -> Verdict:
    if verification.paid:
        return Verdict.PAID
    if verification.status in {"Cancelled", "Aborted"}:
        return Verdict.CANCELLED
    if verification.failed:
        return Verdict.FAILED
    return Verdict.PENDING


CALLBACK_STATUS = {
    "Success": CallbackStatus.SUCCESS,
    "Aborted": CallbackStatus.CANCEL,
    "Cancelled": CallbackStatus.CANCEL,
}


@register
class NagadGateway(PaymentGateway):
    """Nagad: initialize and complete (RSA-sealed), the payer's page, verify."""

    code = "nagad"
    name = "Nagad"
    sandbox_url = SANDBOX_BASE
    live_url = LIVE_BASE
    currencies = ("BDT",)
    credential_fields = (
        CredentialField("merchant_id", "Merchant ID", secret=False),
        CredentialField("merchant_number", "Merchant mobile number", secret=False, required=False),
        CredentialField(
            "merchant_private_key",
            "Merchant private key",
            multiline=True,
            help_text="The private half of the key pair whose public key is in Nagad's portal.",
        ),
        CredentialField(
            "nagad_public_key",
            "Nagad PG public key",
            secret=False,
            multiline=True,
            help_text="From Nagad's merchant portal (bare base64 or PEM).",
        ),
        CredentialField(
            "signature_algorithm",
            "Signature algorithm",
            secret=False,
            choices=(("SHA256", "SHA256withRSA"), ("SHA1", "SHA1withRSA")),
            default="SHA256",
            help_text="As Nagad's onboarding pack says; most live merchants use SHA256.",
        ),
        CredentialField(
            "server_ip",
            "Server IPv4 address",
            secret=False,
            required=False,
            default="127.0.0.1",
            help_text="Sent as X-KM-IP-V4 when the payer's address is not IPv4.",
        ),
    )
    redact_keys = frozenset({"merchant_private_key"})
    unconfirmed = (
        "Signature digest: the guide says SHA1withRSA, working clients use SHA256withRSA "
        "(configurable, SHA256 by default).",
        "Key spelling of the date in initialize's sensitive JSON (`datetime`, as the sample "
        "code; the guide's example has `dateTime`).",
        "Whether `X-KM-MC-Id` is required (sent) and whether live IPs must be whitelisted.",
        "The current sandbox host: newer clients use https://sandbox-ssl.mynagad.com/api/dfs "
        "(the default); the guide's is http://sandbox.mynagad.com:10080/remote-payment-"
        "gateway-1.0/api/dfs (set it as the account's address if the pack says so).",
        "Refunds (`purchase/cancel`) are not in the guide: not implemented.",
    )

    def keys(self) -> NagadKeys:
        try:
            return NagadKeys(
                load_private_key(self.cred("merchant_private_key")),
                load_public_key(self.cred("nagad_public_key")),
                self.cred("signature_algorithm") or "SHA256",
            )
        except NagadProtocolError as exc:
            raise GatewayConfigError(f"Nagad: {exc}") from None

    def _headers(self, client_ip: str = "") -> dict[str, str]:
        ip = client_ip if _is_ipv4(client_ip) else self.cred("server_ip") or "127.0.0.1"
        return headers(self.cred("merchant_id"), ip)

    def _answer(self, response: httpx.Response) -> dict[str, Any]:
        body = json_of(response)
        if response.status_code >= 400 or "reason" in body:
            message = str(body.get("message") or f"HTTP {response.status_code}")
            raise GatewayError(f"Nagad: {message}", code=str(body.get("reason") or ""), data=body)
        return body

    def start(self, request: PaymentRequest) -> StartResult:
        keys = self.keys()
        merchant_id, order_id = self.cred("merchant_id"), request.merchant_ref
        if not ORDER_ID.fullmatch(order_id):
            raise GatewayError(f"Nagad: order id {order_id!r} is not 5-20 letters and digits.")
        head = self._headers(request.client_ip)
        response = self.http.request(
            "initialize",
            "POST",
            self.base_url + initialize_path(merchant_id, order_id),
            params={"locale": "BN" if request.language == "bn" else "EN"},
            json_body=initialize_body(
                keys,
                merchant_id=merchant_id,
                order_id=order_id,
                moment=clock.now(),
                challenge=make_challenge(),
                account_number=self.cred("merchant_number"),
            ),
            headers=head,
        )
        try:
            started = parse_initialize(keys, self._answer(response))
        except NagadProtocolError as exc:
            raise GatewayError(f"Nagad: {exc}") from None
        response = self.http.request(
            "complete",
            "POST",
            self.base_url + complete_path(started.payment_reference_id),
            json_body=complete_body(
                keys,
                merchant_id=merchant_id,
                order_id=order_id,
                amount=request.amount,
                challenge=started.challenge,
                callback_url=request.callback_url,
                additional_info={"serviceName": request.description[:60]}
                if request.description
                else None,
            ),
            headers=head,
        )
        try:
            page = parse_complete(self._answer(response))
        except NagadProtocolError as exc:
            raise GatewayError(f"Nagad: {exc}") from None
        return StartResult(
            provider_ref=started.payment_reference_id,
            redirect_url=page,
            data={"payment_ref_id": started.payment_reference_id},
        )

    @classmethod
    def identify(cls, request: CallbackRequest) -> tuple[str, str]:
        return request.query.get("order_id", ""), request.query.get("payment_ref_id", "")

    def parse_callback(self, request: CallbackRequest) -> Callback:
        fields = callback_fields(request.query)
        return Callback(
            status=CALLBACK_STATUS.get(fields["status"], CallbackStatus.FAILURE)
            if fields["status"]
            else CallbackStatus.UNKNOWN,
            signature=Signature.ABSENT,
            merchant_ref=fields["order_id"],
            provider_ref=fields["payment_ref_id"],
            data={k: v for k, v in fields.items() if v},
        )

    def query(self, attempt: AttemptInfo) -> Confirmation:
        reference = attempt.provider_ref or str(attempt.data.get("payment_ref_id") or "")
        if not reference:
            # Initialize never answered: Nagad has no lookup by our order id.
            return Confirmation(Verdict.UNKNOWN, message="Nagad gave no payment reference.")
        response = self.http.request(
            "verify", "GET", self.base_url + verify_path(reference), headers=self._headers()
        )
        try:
            result = parse_verify(self._answer(response))
        except NagadProtocolError as exc:
            raise GatewayError(f"Nagad: {exc}") from None
        verdict = _verdict(result)
        return Confirmation(
            verdict=verdict,
            provider_txn_id=result.issuer_reference if verdict is Verdict.PAID else "",
            amount=result.amount,
            currency="BDT",  # Nagad takes taka only (currency code 050)
            merchant_ref=result.order_id,
            provider_ref=result.payment_reference_id or reference,
            message=result.status,
            data={"status_code": str(result.raw.get("statusCode") or "")},
        )

    def check(self) -> str:
        self.keys()
        response = self.http.request(
            "check", "GET", self.base_url + verify_path("0"), headers=self._headers()
        )
        body = json_of(response)
        if body.get("reason") == "16_0006_050" or response.status_code in (401, 403):
            raise GatewayError("Nagad: the merchant id was refused.", data=body)
        return str(_("The keys load and Nagad answers."))


def _is_ipv4(value: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(value), ipaddress.IPv4Address)
    except ValueError:
        return False
