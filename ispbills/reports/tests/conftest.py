"""A small scripted month of Acme's books that every report test reads.

November 2026, Asia/Dhaka. Customers: one each of Acme North, North Point and Acme South,
each billed ৳800 on the 10th (posted to the ledger). Then:

- 12th: North's customer pays ৳1,000 cash to carol (৳800 on the bill, ৳200 advance);
- 15th: North Point's pays ৳820 online with a ৳20 charge;
- 16th: carol hands ৳600 over to North's own cash (a move between money accounts);
- 17th: the gateway settles North Point's ৳820 into its bank, keeping a ৳20 fee;
- 18th: North pays a ৳150 expense from its own cash;
- 19th: South's customer pays ৳300 cash (South's own cash).

Operators: Acme North is postpaid (credit limit ৳10,000) and owes its parent ৳2,500;
Acme South is prepaid and holds ৳700. Each sells its own package (not one from above), so
no wholesale charge moves between them.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
import time_machine

from ispbills.accounting import services as ledger
from ispbills.accounting.models import Account
from ispbills.billing import services as billing
from ispbills.billing.models import Bill
from ispbills.catalog.services import save_package
from ispbills.customers.services import register_customer
from ispbills.payments import services as payments
from ispbills.tenancy.models import Operator

DHAKA = dt.timezone(dt.timedelta(hours=6))


def on(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=DHAKA)


@dataclass
class Books:
    north: Any
    point: Any
    south: Any
    north_cash: Account
    carol_cash: Account


@pytest.fixture
def books(cast: Any) -> Books:
    with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), tick=False):
        customers = [
            register_customer(
                actor=None,
                operator=operator,
                username=f"books{number}",
                name=f"Books {number}",
                mobile=f"0171200{number:04d}",
                service_password="s3cret-pw",
                package=save_package(
                    actor=None,
                    operator=operator,
                    name=f"{operator.name} Home",
                    download_kbps=20000,
                    upload_kbps=5000,
                    price="800",
                ),
            )
            for number, operator in enumerate((cast.north, cast.north_point, cast.south))
        ]
    north, point, south = customers
    with time_machine.travel(on(10), tick=False):
        for customer in customers:
            billing.generate_bill(actor=None, customer=customer, at=on(10))
        # Bills are written with the database's clock: back-date them like their entries.
        Bill.objects.update(created_at=on(10))
    with time_machine.travel(on(12), tick=False):
        payments.receive_payment(
            actor=None,
            customer=north,
            amount="1000",
            method="cash",
            reference="R-1",
            collector=cast.carol,
        )
        ledger.post_pending()
    with time_machine.travel(on(15), tick=False):
        payments.receive_payment(
            actor=None,
            customer=point,
            amount="820",
            charge="20",
            method="online",
            gateway="bkash",
            reference="TX-1",
        )
        ledger.post_pending()
    carol_cash = ledger.account_for(cast.north, Account.Kind.CASH, cast.carol)
    north_cash = ledger.account_for(cast.north, Account.Kind.CASH)
    with time_machine.travel(on(16), tick=False):
        ledger.transfer(
            actor=None, source=carol_cash, target=north_cash, amount="600", reference="H-1"
        )
    with time_machine.travel(on(17), tick=False):
        clearing = ledger.account_for(cast.north_point, Account.Kind.GATEWAY_CLEARING)
        bank = ledger.account_for(cast.north_point, Account.Kind.BANK)
        ledger.transfer(
            actor=None, source=clearing, target=bank, amount="800", fee="20", reference="S-1"
        )
    ledger.post(
        tenant_id=cast.acme.pk,
        operator_id=cast.north.pk,
        memo="Tower rent",
        source_type="test.expense",
        source_id="1",
        purpose="paid",
        at=on(18),
        lines=[
            ledger.dr(ledger.account_for(cast.north, Account.Kind.EXPENSES), "150"),
            ledger.cr(north_cash, "150"),
        ],
    )
    with time_machine.travel(on(19), tick=False):
        payments.receive_payment(
            actor=None, customer=south, amount="300", method="cash", reference="R-2"
        )
        ledger.post_pending()
    Operator.objects.filter(pk=cast.north.pk).update(balance="-2500")
    Operator.objects.filter(pk=cast.south.pk).update(balance="700")
    north_cash.refresh_from_db()
    return Books(north, point, south, north_cash, carol_cash)


@pytest.fixture
def now() -> Any:
    """The reports run on 20 November 2026, noon in Dhaka."""
    with time_machine.travel(on(20), tick=False):
        yield
