"""A fake EasyPayWay: aamarPay's form API on ``/payment/request.php`` (answering the payment
page's path as a JSON-quoted string), with the page, callbacks and trxcheck of aamarPay."""

from __future__ import annotations

import json
import re
from typing import ClassVar

from ispbills.payments.gateways.fakes import register_fake
from ispbills.payments.gateways.fakes.aamarpay import AamarpayLikeFake, Transaction
from ispbills.payments.gateways.fakes.base import FakeRequest, FakeResponse, route


@register_fake
class FakeEasypayway(AamarpayLikeFake):
    """EasyPayWay's form API."""

    code = "easypayway"
    name = "EasyPayWay"
    track_prefix = "EPW"
    demo_credentials: ClassVar[dict[str, str]] = {
        "store_id": "epwtest",
        "signature_key": "6f1d1e3c0c2b4d5f8a9e7c6b5a4d3c2b",
    }

    @route("POST", r"/payment/(?:request|index)\.php")
    def request_php(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        created = self.create(request.form())
        if not isinstance(created, Transaction):
            # The form API answers its refusals as plain text.
            return FakeResponse.text(next(iter(created.values())), content_type="text/html")
        path = json.dumps(f"/paynow.php?track={created.track}").replace("/", "\\/")
        return FakeResponse.text(path, content_type="text/html")
