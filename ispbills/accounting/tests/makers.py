"""Isolation-kit makers for the accounting models."""

from typing import Any

from ispbills.accounting import services
from ispbills.accounting.models import Account, JournalEntry, TransferRequest
from ispbills.core.testing.isolation import maker
from ispbills.tenancy.models import Operator


@maker(Account)
def make_account(operator: Operator, marker: str) -> Account:
    # A bank account named with the marker (listed, and offered by the transfer form).
    return Account.objects.create(
        tenant_id=operator.tenant_id, operator=operator, kind=Account.Kind.BANK, name=marker
    )


@maker(JournalEntry)
def make_journal_entry(operator: Operator, marker: str) -> JournalEntry:
    # Listed with its memo, which is the marker.
    entry: Any = services.post(
        tenant_id=operator.tenant_id,
        operator_id=operator.pk,
        memo=marker,
        source_type="isolation.kit",
        source_id=marker,
        purpose="made",
        lines=[
            services.dr(services.account_for(operator, Account.Kind.CASH), "100"),
            services.cr(services.account_for(operator, Account.Kind.ADVANCES), "100"),
        ],
    )
    entry.isolation_label = marker
    return entry


@maker(TransferRequest)
def make_transfer_request(operator: Operator, marker: str) -> TransferRequest:
    # Reported funds of the operator, listed with the reference, which is the marker.
    request: Any = TransferRequest.objects.create(
        tenant_id=operator.tenant_id,
        operator=operator,
        kind=TransferRequest.Kind.FUNDS,
        amount="100",
        method="bank",
        reference=marker,
    )
    request.isolation_label = marker
    return request
