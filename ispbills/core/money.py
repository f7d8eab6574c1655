"""Money: Decimal in NUMERIC(14,2), one quantizer, one formatter. Never float."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.utils.translation import gettext as _

from ispbills.core.errors import DomainError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
CURRENCY_SYMBOLS = {"BDT": "৳", "INR": "₹", "USD": "$", "EUR": "€", "NPR": "रु", "PKR": "₨"}


class MoneyError(ValueError):
    """A value cannot be read as an amount of money."""


def to_money(value: Any) -> Decimal:
    """Quantize to paisa/cents with ROUND_HALF_UP; refuses floats and garbage."""
    if isinstance(value, float):
        raise MoneyError("money must not be a float; pass a str, int or Decimal")
    if isinstance(value, str):
        value = value.replace(",", "").strip()
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise MoneyError(f"{value!r} is not an amount of money") from None
    if not amount.is_finite():
        raise MoneyError(f"{value!r} is not a finite amount")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def amount_given(value: Any) -> Decimal:
    """An amount someone entered (form, API, CLI): money more than zero that a money column
    holds, or a ``DomainError`` on the ``amount`` field saying what is wrong."""
    try:
        amount = to_money(value)
    except MoneyError:
        raise DomainError(
            _("Give an amount such as 500 or 500.50."), fields={"amount": [_("Not an amount.")]}
        ) from None
    if amount <= 0:
        raise DomainError(
            _("The amount must be more than zero."), fields={"amount": [_("More than zero.")]}
        )
    if amount >= 10**12:
        raise DomainError(_("The amount is too large."), fields={"amount": [_("Too large.")]})
    return amount


def money_field(**kwargs: Any) -> models.DecimalField:
    """The one field type for money columns: NUMERIC(14,2), default 0.00."""
    kwargs.setdefault("max_digits", 14)
    kwargs.setdefault("decimal_places", 2)
    kwargs.setdefault("default", ZERO)
    return models.DecimalField(**kwargs)


def format_money(value: Any, currency: str = "BDT") -> str:
    """'৳ 1,234.50' style: symbol, thousands separators, two decimals, sign in front."""
    if value is None or value == "":
        return ""
    amount = to_money(value)
    symbol = CURRENCY_SYMBOLS.get(currency, currency)
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol} {abs(amount):,.2f}"
