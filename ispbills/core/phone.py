"""Mobile numbers: Bangladesh formats normalised to +8801XXXXXXXXX, others to E.164."""

import re

BANGLA_DIGITS = str.maketrans("০১২৩৪৫৬৭৮৯", "0123456789")
_BD_LOCAL = re.compile(r"^01[3-9]\d{8}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class PhoneError(ValueError):
    """A value is not a mobile number we can use."""


def normalize_mobile(raw: str) -> str:
    """'০১৭১১-২২৩৩৪৪', '+88 01711 223344', '8801711223344' → '+8801711223344'."""
    value = (raw or "").translate(BANGLA_DIGITS).strip()
    value = re.sub(r"[\s\-().]", "", value)
    if value.startswith("00"):
        value = "+" + value[2:]
    if value.startswith("+880"):
        local = "0" + value[4:]
    elif value.startswith("880") and len(value) == 13:
        local = "0" + value[3:]
    elif value.startswith("0"):
        local = value
    elif value.startswith("+"):
        if _E164.match(value):
            return value
        raise PhoneError(f"{raw!r} is not an international number (+ and 7 to 15 digits)")
    else:
        raise PhoneError(f"{raw!r} is not a mobile number")
    if not _BD_LOCAL.match(local):
        raise PhoneError(
            f"{raw!r} is not a Bangladesh mobile number (11 digits starting 013 to 019)"
        )
    return "+88" + local
