"""Demo recharge cards: a package batch and a value batch issued to the demo distributor,
two of them redeemed, so the cards dashboard and the distributor's pages are alive."""

import datetime as dt

from django.db.models import Count

from ispbills.accounting.services import post_pending
from ispbills.billing.models import Bill
from ispbills.cards import services
from ispbills.catalog.models import Package
from ispbills.core import clock
from ispbills.customers.models import Customer
from ispbills.tenancy.models import Operator, Tenant, User


def seed_cards(tenant: Tenant) -> None:
    distributor = User.objects.filter(username="distributor").first()
    if distributor is None:
        return
    root = Operator.objects.get(tenant=tenant, parent=None)
    popular = (
        Customer.objects.filter(tenant=tenant, package__operator=root)
        .values("package")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    expires = clock.now() + dt.timedelta(days=180)
    if popular is not None:
        services.generate_batch(
            actor=None,
            operator=root,
            name="Eid package cards",
            count=12,
            expires_at=expires,
            package=Package.objects.get(pk=popular["package"]),
            distributor=distributor,
            commission_percent="5",
        )
    value_batch = services.generate_batch(
        actor=None,
        operator=root,
        name="৳500 top-up cards",
        count=6,
        value="500",
        expires_at=expires,
        distributor=distributor,
        commission_percent="3",
    )
    owing = (
        Bill.objects.filter(tenant=tenant, kind="invoice", status="unpaid")
        .select_related("customer")
        .order_by("id")[:2]
    )
    pins = [card.pin for card in value_batch.cards.order_by("serial")[:2]]
    for bill, pin in zip(owing, pins, strict=False):
        services.redeem_card(actor=distributor, customer=bill.customer, pin=pin)
    services.post_commissions()
    post_pending()
