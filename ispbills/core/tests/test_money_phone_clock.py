"""Money quantizing and formatting, mobile normalisation, the tenant clock."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from ispbills.core import clock
from ispbills.core.money import MoneyError, format_money, to_money
from ispbills.core.phone import PhoneError, normalize_mobile

pytestmark = pytest.mark.smoke


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10.005", Decimal("10.01")),
        ("10.004", Decimal("10.00")),
        ("-2.345", Decimal("-2.35")),
        ("1,200.50", Decimal("1200.50")),
        (7, Decimal("7.00")),
        (Decimal("0.125"), Decimal("0.13")),
    ],
)
def test_to_money_rounds_half_up_to_paisa(raw: object, expected: Decimal) -> None:
    assert to_money(raw) == expected
    assert to_money(raw).as_tuple().exponent == -2


@pytest.mark.parametrize("raw", [1.1, "abc", "", None, "NaN", "Infinity"])
def test_to_money_refuses_floats_and_garbage(raw: object) -> None:
    with pytest.raises(MoneyError):
        to_money(raw)


def test_format_money_shows_symbol_separators_and_sign() -> None:
    assert format_money(Decimal("1234.5")) == "৳ 1,234.50"
    assert format_money("-10") == "-৳ 10.00"
    assert format_money(Decimal("99"), "USD") == "$ 99.00"
    assert format_money(None) == ""


@pytest.mark.parametrize(
    "raw",
    [
        "01711223344",
        "+8801711223344",
        "8801711223344",
        "+88 01711-223344",
        "০১৭১১২২৩৩৪৪",
        "0088 01711 223344",
        "(017) 1122-3344",
    ],
)
def test_normalize_mobile_accepts_bangladesh_formats(raw: str) -> None:
    assert normalize_mobile(raw) == "+8801711223344"


def test_normalize_mobile_keeps_other_countries_in_e164() -> None:
    assert normalize_mobile("+91 98765 43210") == "+919876543210"


@pytest.mark.parametrize("raw", ["0171122334", "01211223344", "1711223344", "+12", "", "abc"])
def test_normalize_mobile_refuses_what_is_not_a_mobile(raw: str) -> None:
    with pytest.raises(PhoneError):
        normalize_mobile(raw)


def test_local_today_uses_the_tenant_zone_not_utc() -> None:
    # 20:30 UTC on 31 Dec is already 1 Jan 02:30 in Dhaka.
    with time_machine.travel(dt.datetime(2026, 12, 31, 20, 30, tzinfo=dt.UTC), tick=False):
        assert clock.local_today("Asia/Dhaka") == dt.date(2027, 1, 1)
        assert clock.local_today("UTC") == dt.date(2026, 12, 31)
        assert clock.now().tzinfo is not None


def test_is_valid_zone() -> None:
    assert clock.is_valid_zone("Asia/Dhaka")
    assert not clock.is_valid_zone("Mars/Olympus")
