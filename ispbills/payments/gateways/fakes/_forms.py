"""What several fakes answer when the provider sends the payer's browser back with a POST: an
auto-submitting form, as the real providers' pages do."""

from __future__ import annotations

import html

from ispbills.payments.gateways.fakes.base import BrowserReturn, FakeResponse


def send_back(back: BrowserReturn) -> FakeResponse:
    """A 302 for a GET return, else a page that POSTs ``back.form`` to ``back.url``."""
    if back.method == "GET":
        return FakeResponse.redirect(back.url)
    inputs = "".join(
        f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
        for k, v in back.form.items()
    )
    return FakeResponse.html(
        f"<!doctype html><form method='post' action='{html.escape(back.url)}'>{inputs}"
        "<button>Continue</button></form><script>document.forms[0].submit()</script>"
    )
