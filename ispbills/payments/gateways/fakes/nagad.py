"""A fake Nagad: initialize and complete with RSA-sealed bodies, the payer's page, verify.

It checks what Nagad checks: the mandatory ``X-KM-*`` headers, the merchant id, that
``sensitiveData`` decrypts with the Nagad key and its signature is the merchant's (with
the configured digest), the Asia/Dhaka ``dateTime`` window, the order id's form and its
uniqueness per day, the challenge echoed from initialize, the currency code, and answers
with Nagad's ``{"reason": "16_0006_…", "message"}`` errors. The keys below are test keys
made for this fake and published with it; they guard nothing.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import secrets
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import urlencode

from ispbills.payments.gateways import nagad
from ispbills.payments.gateways.fakes import register_fake
from ispbills.payments.gateways.fakes.base import (
    BrowserReturn,
    FakeProvider,
    FakeRequest,
    FakeResponse,
    route,
)

# Test keys (bare base64, as Nagad's portal hands them out).
DEMO_MERCHANT_PRIVATE_KEY = (
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDD4MumYLgK7nHahOfmObe/uk4eBKDawQd16Hjy"
    "lJmO3NcnXPtWnqCTggAOGNsF24zgJccv9XOk6tLhdSsC18h3ztbuGYjobgQxg+5WABxGq/OcCFqaeTnhsi7SRW4j"
    "8+8ufEeQe8FFQywB3932mUKxqrBYr80V9iKUFiEyUu115ZXA37OaEQ4LO+xrGJRerYCv41IElfV/2qYrBTu+VYv+"
    "ltA40gzrkIy1ikmw82dSzFWPLYkOV+YAKtZz+q1w0uFWIXMC0ggvvU2siT+kr4HLTTZOX77UqH09Qb4MTfV74qxU"
    "F0ujnsa5H75PZn/89U9+B0tMk25lCUzJJHbfatVlAgMBAAECggEAB2Efqvv30wmapnXdWrIP9xwotz7LZJJjGpEQ"
    "hWsNwfEV9fity1ychhIeuGk9TyIvU35425iuq6bhHPdSEIBaoBDdzgiOPNtwMwFaaEkGx67Qta8m4qzwfk09MFTH"
    "Snl1KFYsSAgxhs96B/QMI68wcQsSK7Urz8j/En8m7wNqyMc1lp9HlDsa+NV12ej4DGW/RVMzl2nf0hB0BfUQOyZW"
    "l95OwJUYOTyQ12qXd9QDcFPS04XQRY/Rwg92BcftZjqyjuz33fD2Vmw6GJ3Q+l51N/hnvDfHJI4cE8RXFz1waacT"
    "6D421hFlPEh9FIqASVzDEreU5H9DrI/Z9deC9+sgQQKBgQDhJl1yFivHXZKotICdjI8HBHETErfED1HeVmFw3n9Q"
    "HbHQHaeKGDWP9Ctn5FH0yxMRO80wDwW5epefZqlGVeApFIuiqESg5JXlIsM7mipwY7bfcW+7Zb+YHdhyAe80xbqt"
    "xtsXy4soOd6aZl+sRFAF61OR3EYm+igd28ATYRhykQKBgQDet6h+vZPcnTvoo4i6BeEgsyx5XBj1aXSNhEY/mjRo"
    "PAtnSOhGp0+S5OPRrzzYNeNzd38PV3HDz8qTGY7eo3393k2rjf+IVFLMgecHpqARq9n5EQnLM3i+xZODCZbh/DJo"
    "lsL8V8scgi+u8yCpo5eoz39nT7pxOImeUUvVteM3lQKBgQDRN1hQImAOA1q73/c/75Qcvjjgs10GGAJIa9ZiDq8Z"
    "YG6R6Gx9+18SZJ9NDDJIGcifFAXoaZ01LMDmQ3x6umPxaIEU5e3X4HGVmcb3hJt5En+lhICCD9uI2/r8feWtESwW"
    "PRnsM50dBSFgMk8nAdemmHVwrdKWd5B9pm0G1QvlsQKBgQCoaI/MZmWsaGionSACKff11gZHLlDhIYC0kdTcuynt"
    "t5mX3BVnd5RAKzvpjmyfwP/gi/dUDndD7Zfsa2MRDudyU+q/UnxrBfgmFAQyUNixBBWqtCuHr8AZ4SSN7W5eK2mi"
    "lH2Uen5nbDnKPKXyIHXJfD2GTU9Z1bqaMDb7vrG1kQKBgEC8y1MWmhfvy3JL/fE/sD6fO09YWxFbr2LfOTQjDxkQ"
    "9WzV+NhBe5mASNfdbQV7KK4MRHPOHplv04bCXpzaNHHQpQu7S/bwUxbYPsdevLlC6uwj79VXpCJszFLDyNv5hUdA"
    "vdHCdRtel3F0QZQbg7aaueMcY2X+xRz2sEbHv0v5"
)
DEMO_MERCHANT_PUBLIC_KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAw+DLpmC4Cu5x2oTn5jm3v7pOHgSg2sEHdeh48pSZjtzX"
    "J1z7Vp6gk4IADhjbBduM4CXHL/VzpOrS4XUrAtfId87W7hmI6G4EMYPuVgAcRqvznAhamnk54bIu0kVuI/PvLnxH"
    "kHvBRUMsAd/d9plCsaqwWK/NFfYilBYhMlLtdeWVwN+zmhEOCzvsaxiUXq2Ar+NSBJX1f9qmKwU7vlWL/pbQONIM"
    "65CMtYpJsPNnUsxVjy2JDlfmACrWc/qtcNLhViFzAtIIL71NrIk/pK+By002Tl++1Kh9PUG+DE31e+KsVBdLo57G"
    "uR++T2Z//PVPfgdLTJNuZQlMySR232rVZQIDAQAB"
)
DEMO_NAGAD_PRIVATE_KEY = (
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC87ZNvPO+D5VxwElzjizHiLSc/NIh6LxowkxPe"
    "MKJUNhHsEJ5OSANfhuAByz5Jn9kmiaffqQTcCCr9sckZd7E3QwP50c9zKD4qA5NSWUcZFRUnpi2mRsmAbg/QlIKc"
    "R+FNHGqK3dRocv6OwDZZH026yhcVwX7P47eTvEq6JntaCEjENEbbOGvLDdT8R0LYgqIClx+KCHhAsW3QdhT9KIYL"
    "/n3kk/3KmNcURMitSPxjhJqMQNz04k9Y6boJlvpqMNoGKaPcYm1Ww3C3y5H/k4Zsc9jdw86dsqv6SPoY9tEtez7E"
    "GHUYa9dop4ZsfQYlo41KdV//Ule4I6jqddvDEmO1AgMBAAECggEALxpedU/weWZwVwLFBPg5ziWq0M/UrP3cXjr1"
    "K6LdffhjHIOCLIs4yBLU+62EEJAZcEnGwHUf4InqygiO1loopVoAfkMIoTHp2ci9bL0UhFTkytdcL0Yby/jk2YCF"
    "Vdh3/CU3DPtEj2wIOmgCxNKQqx7ihYqSBtvD88HwsZuRin7zk8Ug/rxbc7X//pbjiflG7XojuwTiAkkwn8EpTW+E"
    "8cf9fICjfL6yPdVV1NVh5PJKvqd3zfwSz8iOUWpMetIioYKkGzjxfB54re4rXWFelRMP83DXr5l9JYqwDQ5R0LVy"
    "K4djZ6rwtJ2yzeLf+E2J2lTqsxaN6+CBjZofXv2oMQKBgQDfvNf9qA6yY7AYP3ipFxrN6EUJs8/KN7EwWGEgq+h8"
    "76ON8BZe2dKU/l+yt1Nl0k9eZr/NjNDy9MXwYBChzX0brBXDdYCrjUxq3ja+Ir+Qk5CeOz5cE1KW20nUAkSuZ6kl"
    "Z5/+9ymL/chDJA/z+5P0qJyFwYSJENCFQXiKCAlyWQKBgQDYK8DEARd/+yqybUfFfl3zoTmd/kIQcsD510gBlhac"
    "ydXSU+t5XRzaWaXjXBnAzUI+bU4iKUw0HrYK8wj93yF41ynDJxc0HrZ4xeG8KCVkniHMCZvzrmZujQ5WRzpmCHlm"
    "K/qC0du0l8bepBwacRr16TlnP9QzD2nNssltwhG4vQKBgCHksbOzacaMY3jI5LZ40Y6vyQWXP7sahLUWLmCMqkOC"
    "6fvuivUDemsnvceNDg02tt9OIXA6DM1BV1r6sopQXst6XjGl80AJv7HQx+o1yV9Ve2r8/o1kP/aqcZy0W0MwYOdR"
    "s2Mkfh6+6z+Ajwoe6mL9x/hbQICjE3OcX25JmWTBAoGAWyww9DolqDPN8U1H/RLsG0o/m9RWFsvfekCDPTAJP32d"
    "MkV0xk4wUiOHZNo+fmPT8bJ2RtA2NLFTRFD21ORcILRXB9kf3zqo6U1EhPBFvSc4x+6xmNhQmYXiqx8FkW03jpEz"
    "6iMK0CNHnDWJKNnVbiw8qsBwBk0U6c3jSOiWQt0CgYEAvC/GIhRY/XcuNcWTMAtpSkPGKXrQvDSfQtR03ONjqu2v"
    "yuyukxW9hwGrtnp2juWyvFkiBgQVnoatTFDkSInxmNXQwZNBSyhuSSL4VC4KQ/xXoLcWoQrqbougrv2XnYUM4WW5"
    "vRW1MdUTO9NpzL2rqZOZTMR3ORdZXUpOzYwnEG8="
)
DEMO_NAGAD_PUBLIC_KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvO2Tbzzvg+VccBJc44sx4i0nPzSIei8aMJMT3jCiVDYR"
    "7BCeTkgDX4bgAcs+SZ/ZJomn36kE3Agq/bHJGXexN0MD+dHPcyg+KgOTUllHGRUVJ6YtpkbJgG4P0JSCnEfhTRxq"
    "it3UaHL+jsA2WR9NusoXFcF+z+O3k7xKuiZ7WghIxDRG2zhryw3U/EdC2IKiApcfigh4QLFt0HYU/SiGC/595JP9"
    "ypjXFETIrUj8Y4SajEDc9OJPWOm6CZb6ajDaBimj3GJtVsNwt8uR/5OGbHPY3cPOnbKr+kj6GPbRLXs+xBh1GGvX"
    "aKeGbH0GJaONSnVf/1JXuCOo6nXbwxJjtQIDAQAB"
)

# What Nagad's sandbox accepts as clock skew between dateTime and its own Dhaka clock.
WINDOW = dt.timedelta(minutes=5)


@dataclass
class Order:
    merchant_id: str
    order_id: str
    reference: str
    challenge: str
    created: dt.datetime
    amount: Decimal | None = None
    callback_url: str = ""
    status: str = "OrderInitiated"
    issuer_ref: str = ""
    paid_at: str = ""
    client_mobile: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def error(code: str, message: str, status: int = 400) -> FakeResponse:
    return FakeResponse.json({"reason": f"16_0006_{code}", "message": message}, status)


@register_fake
class FakeNagad(FakeProvider):
    """Nagad's merchant API as the v3.3 guide and the sample code describe it."""

    code = "nagad"
    name = "Nagad"
    base_path = "/api/dfs"
    demo_credentials: ClassVar[dict[str, str]] = {
        "merchant_id": "683002007104225",
        "merchant_number": "01711428036",
        "merchant_private_key": DEMO_MERCHANT_PRIVATE_KEY,
        "nagad_public_key": DEMO_NAGAD_PUBLIC_KEY,
        "signature_algorithm": "SHA256",
        "server_ip": "127.0.0.1",
    }

    def __init__(self, credentials: dict[str, str] | None = None) -> None:
        super().__init__(credentials)
        self.nagad_private = nagad.load_private_key(DEMO_NAGAD_PRIVATE_KEY)
        # The merchant's public key, as uploaded to the portal.
        self.merchant_public = nagad.load_private_key(
            self.credentials["merchant_private_key"]
        ).public_key()
        self.algorithm = self.credentials.get("signature_algorithm") or "SHA256"
        # Nagad's side of the exchange: it opens with its key and seals for the merchant.
        self.keys = nagad.NagadKeys(self.nagad_private, self.merchant_public, self.algorithm)
        self.orders: dict[str, Order] = {}
        self.order_days: set[tuple[str, str]] = set()
        self.clock_offset = dt.timedelta(0)  # tests move Nagad's clock to provoke 076

    # -- helpers ------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        return dt.datetime.now(nagad.DHAKA) + self.clock_offset

    def _headers_missing(self, request: FakeRequest) -> bool:
        needed = ("x-km-api-version", "x-km-ip-v4", "x-km-client-type")
        return any(not request.headers.get(name) for name in needed)

    def _open(self, body: Any) -> dict[str, Any] | FakeResponse:
        if not isinstance(body, dict) or not body.get("sensitiveData"):
            return error("059", "Invalid sensitive data")
        try:
            plain = nagad.decrypt(str(body["sensitiveData"]), self.nagad_private)
        except nagad.NagadProtocolError:
            return error("057", "Decryption failed")
        # The merchant key is the one uploaded to the portal: verify with it.
        if not nagad.verify(
            plain, str(body.get("signature") or ""), self.merchant_public, self.algorithm
        ):
            return error("058", "Signature verification failed")
        try:
            data = json.loads(plain)
        except ValueError:
            return error("060", "Invalid sensitive data")
        return data if isinstance(data, dict) else error("060", "Invalid sensitive data")

    def order(self, reference: str) -> Order | None:
        with self.lock:
            return self.orders.get(reference)

    # -- the API ------------------------------------------------------------------------

    @route("POST", r"/api/dfs/check-out/initialize/(?P<mid>[^/]+)/(?P<oid>[^/]+)")
    def initialize(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if self._headers_missing(request):
            return error("064", "Mandatory header missing")
        merchant_id, order_id = match["mid"], match["oid"]
        if merchant_id != self.credentials["merchant_id"]:
            return error("050", "Invalid merchant ID")
        opened = self._open(request.json())
        if isinstance(opened, FakeResponse):
            return opened
        stamp = str(opened.get("datetime") or "")
        try:
            sent = dt.datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=nagad.DHAKA)
        except ValueError:
            return error("081", "Invalid date time format")
        if abs(self.now() - sent) > WINDOW:
            return error("076", "Transaction date time is out of the allowed range")
        if opened.get("merchantId") != merchant_id or opened.get("orderId") != order_id:
            return error("060", "Sensitive data does not match the request")
        if not nagad.ORDER_ID.fullmatch(order_id):
            return error("068", "Invalid order id")
        with self.lock:
            day = (order_id, self.now().strftime("%Y%m%d"))
            if day in self.order_days:
                return error("083", "Duplicate order id")
            self.order_days.add(day)
            reference = "MDE" + secrets.token_hex(10).upper()
            order = Order(merchant_id, order_id, reference, secrets.token_hex(20), self.now())
            self.orders[reference] = order
        answer = {
            "paymentReferenceId": reference,
            "challenge": order.challenge,
            "acceptDateTime": self.now().strftime("%Y%m%d%H%M%S"),
        }
        return FakeResponse.json({**self.keys.seal(answer), "status": "Success"})

    @route("POST", r"/api/dfs/check-out/complete/(?P<ref>[^/]+)")
    def place_order(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        if self._headers_missing(request):
            return error("064", "Mandatory header missing")
        order = self.order(match["ref"])
        if order is None:
            return error("055", "Invalid payment reference id")
        body = request.json()
        opened = self._open(body)
        if isinstance(opened, FakeResponse):
            return opened
        if opened.get("challenge") != order.challenge:
            return error("060", "Challenge does not match")
        if opened.get("orderId") != order.order_id or opened.get("merchantId") != order.merchant_id:
            return error("060", "Sensitive data does not match the order")
        if opened.get("currencyCode") != nagad.BDT_CODE:
            return error("080", "Invalid currency code")
        try:
            amount = Decimal(str(opened.get("amount")))
        except InvalidOperation:
            return error("060", "Invalid amount")
        if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            return error("060", "Invalid amount")
        callback = str(body.get("merchantCallbackURL") or "")
        if not callback.startswith(("http://", "https://")):
            return error("060", "Invalid callback URL")
        with self.lock:
            if order.amount is not None:
                return error("060", "Order already placed")
            order.amount, order.callback_url = amount, callback
            order.status = "Ready"
            order.extra = dict(body.get("additionalMerchantInfo") or {})
        page = f"{request.base_url}/check-out/{order.reference}"
        return FakeResponse.json({"callBackUrl": page, "status": "Success"})

    @route("GET", r"/api/dfs/verify/payment/(?P<ref>[^/]+)")
    def verify(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        order = self.order(match["ref"])
        if order is None:
            return error("055", "Invalid payment reference id")
        return FakeResponse.json(
            {
                "merchantId": order.merchant_id,
                "orderId": order.order_id,
                "paymentRefId": order.reference,
                "amount": nagad.format_amount(order.amount) if order.amount else "0",
                "clientMobileNo": order.client_mobile,
                "merchantMobileNo": self.credentials.get("merchant_number", ""),
                "orderDateTime": order.created.strftime("%Y-%m-%d %H:%M:%S"),
                "issuerPaymentDateTime": order.paid_at,
                "issuerPaymentRefNo": order.issuer_ref,
                "additionalMerchantInfo": order.extra or None,
                "status": order.status,
                "statusCode": "000" if order.status == "Success" else "001",
                "cancelIssuerDateTime": None,
                "cancelIssuerRefNo": None,
            }
        )

    # -- the payer's page -------------------------------------------------------------

    @route("GET", r"/check-out/(?P<ref>[^/]+)")
    def payment_page(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        order = self.order(match["ref"])
        if order is None or order.amount is None:
            return self.page("Nagad", "<p>This payment link is not valid.</p>")
        action = html.escape(f"{request.base_url}/check-out/{order.reference}")
        return self.page(
            "Nagad",
            f"<p>Pay ৳ {html.escape(str(order.amount))} for order "
            f"{html.escape(order.order_id)}.</p>"
            f"<form method='post' action='{action}'>"
            "<input name='mobile' value='01711000000' aria-label='Nagad number'>"
            "<button name='action' value='success'>Pay</button>"
            "<button name='action' value='cancel'>Cancel</button></form>",
        )

    @route("POST", r"/check-out/(?P<ref>[^/]+)")
    def payment_action(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        order = self.order(match["ref"])
        if order is None or order.amount is None:
            return self.page("Nagad", "<p>This payment link is not valid.</p>")
        form = request.form()
        back = self.complete(order.reference, form.get("action", ""))
        return FakeResponse.redirect(back.url)

    def complete(
        self, reference: str, outcome: str = "success", *, amount: Decimal | None = None
    ) -> BrowserReturn:
        """What the payer did on the page (pay, cancel, fail): how their browser comes back
        to us (method, URL, form). ``amount`` makes Nagad record another amount (a test of
        our amount check)."""
        with self.lock:
            order = self.orders[reference]
            if order.status == "Ready":
                if outcome == "success":
                    order.status = "Success"
                    order.issuer_ref = "7" + secrets.token_hex(4).upper()
                    order.paid_at = self.now().strftime("%Y%m%d%H%M%S")
                    order.client_mobile = "01711000000"
                    if amount is not None:
                        order.amount = amount
                elif outcome == "cancel":
                    order.status = "Aborted"
                else:
                    order.status = "Failed"
            return BrowserReturn("GET", self.callback_url(order))

    def callback_url(self, order: Order) -> str:
        query = {
            "merchant": order.merchant_id,
            "order_id": order.order_id,
            "payment_ref_id": order.reference,
            "status": order.status,
            "status_code": "00_0000_000" if order.status == "Success" else "00_1000_001",
            "payment_dt": order.paid_at,
            "issuer_payment_ref": order.issuer_ref,
        }
        separator = "&" if "?" in order.callback_url else "?"
        return f"{order.callback_url}{separator}{urlencode(query)}"
