"""Isolation-kit makers for the card models."""

import datetime as dt
from typing import Any

from ispbills.cards import services
from ispbills.cards.models import Card, CardBatch, Commission, DistributorPayment, RedemptionAttempt
from ispbills.core import clock
from ispbills.core.testing.isolation import maker
from ispbills.customers.tests.makers import make_customer
from ispbills.tenancy.models import Operator
from ispbills.tenancy.roles import Role
from ispbills.tenancy.services import create_staff_user


def _distributor(operator: Operator, marker: str) -> Any:
    return create_staff_user(
        actor=None,
        operator=operator,
        username=f"d-{marker.lower()}",
        password="distributor-pass-1",
        role=Role.CARD_DISTRIBUTOR,
    )


@maker(CardBatch)
def make_card_batch(operator: Operator, marker: str, **fields: Any) -> CardBatch:
    # Listed with its name, which carries the marker.
    return services.generate_batch(
        actor=None,
        operator=operator,
        name=marker,
        count=2,
        value="500",
        expires_at=clock.now() + dt.timedelta(days=30),
        distributor=_distributor(operator, marker),
        **fields,
    )


@maker(Card)
def make_card(operator: Operator, marker: str) -> Card:
    card: Any = Card.objects.filter(batch=make_card_batch(operator, marker)).first()
    card.isolation_label = marker  # listed with its batch's name
    return card  # type: ignore[no-any-return]


@maker(Commission)
def make_commission(operator: Operator, marker: str) -> Commission:
    batch = make_card_batch(operator, marker, commission_on="sale", commission_percent="2")
    commission: Any = Commission.objects.filter(card__batch=batch).first()
    commission.isolation_label = marker
    return commission  # type: ignore[no-any-return]


@maker(RedemptionAttempt)
def make_attempt(operator: Operator, marker: str) -> RedemptionAttempt:
    customer = make_customer(operator, f"c-{marker}")
    return RedemptionAttempt.objects.create(
        tenant_id=customer.tenant_id,
        operator_id=customer.operator_id,
        customer=customer,
        outcome=RedemptionAttempt.Outcome.WRONG_PIN,
        detail=marker,
        at=clock.now(),
        ip="192.0.2.9",
    )


@maker(DistributorPayment)
def make_distributor_payment(operator: Operator, marker: str) -> DistributorPayment:
    payment: Any = services.record_distributor_payment(
        actor=None,
        operator=operator,
        distributor=_distributor(operator, marker),
        kind="remittance",
        amount="100",
        reference=marker,
    )
    return payment  # type: ignore[no-any-return]
