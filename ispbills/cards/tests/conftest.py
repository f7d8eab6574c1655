"""Fixtures of the card tests: a batch maker that hands back the plain PINs."""

import datetime as dt
from typing import Any

import pytest

from ispbills.cards import services
from ispbills.cards.models import Card
from ispbills.core import clock
from ispbills.tenancy.models import User
from ispbills.tenancy.roles import Role
from ispbills.tenancy.services import create_staff_user


def pins_of(batch: Any) -> list[str]:
    """The batch's PINs in serial order, decrypted as printing does."""
    return [card.pin for card in Card.objects.filter(batch=batch).order_by("serial")]


@pytest.fixture
def make_batch(cast: Any, home: Any) -> Any:
    def make(**fields: Any) -> Any:
        values: dict[str, Any] = {
            "actor": cast.alice,
            "operator": cast.acme_root,
            "name": "Home 20 cards",
            "count": 3,
            "expires_at": clock.now() + dt.timedelta(days=90),
            "package": home,
            "distributor": cast.dave,
            **fields,
        }
        return services.generate_batch(**values)

    return make


@pytest.fixture
def north_distributor(cast: Any) -> User:
    """A card distributor of Acme North (a sibling of dave's cards)."""
    return create_staff_user(
        actor=None,
        operator=cast.north,
        username="nadia",
        password="nadia-pass-123",
        role=Role.CARD_DISTRIBUTOR,
    )
