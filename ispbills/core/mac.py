"""MAC addresses in any common notation, normalised to upper case with colons."""

import re

_HEX12 = re.compile(r"^[0-9A-F]{12}$")


class MacError(ValueError):
    """A value is not a MAC address."""


def normalize_mac(raw: str) -> str:
    """'cb-19-71-17-44-94', '024a.d6bd.a340', 'cb1971174494' → 'CB:19:71:17:44:94'."""
    digits = re.sub(r"[\s:\-.]", "", (raw or "").strip()).upper()
    if not _HEX12.match(digits):
        raise MacError(f"{raw!r} is not a MAC address (12 hex digits)")
    if digits == "0" * 12 or digits == "F" * 12:
        raise MacError(f"{raw!r} is not a device MAC address")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
