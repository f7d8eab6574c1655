"""Transfers that wait for approval: a collector handing its cash over, a reseller reporting
funds it paid its parent. The request changes no money; approving it posts the entry (through
``services.transfer`` or ``funds.add_funds``), rejecting it records why. Nobody approves their
own request."""

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from ispbills.accounting import funds, services
from ispbills.accounting.models import Account, TransferRequest
from ispbills.core import audit
from ispbills.core.access import access_of, require
from ispbills.core.errors import ConflictError, DomainError, NotAllowedError
from ispbills.core.locking import lock
from ispbills.core.money import ZERO, amount_given
from ispbills.tenancy.models import Operator

Kind = TransferRequest.Kind
Status = TransferRequest.Status


def _reference(reference: str) -> str:
    reference = (reference or "").strip()[:80]
    if not reference:
        raise DomainError(
            _("Give the handover receipt, deposit slip or transaction reference."),
            fields={"reference": [_("Required.")]},
        )
    return reference


def _create(actor: Any, **values: Any) -> TransferRequest:
    try:
        with transaction.atomic():
            request = TransferRequest.objects.create(
                requested_by=actor if getattr(actor, "pk", None) else None, **values
            )
    except IntegrityError:
        raise ConflictError(
            _("This reference was already used."), fields={"reference": [_("Already used.")]}
        ) from None
    audit.record(
        actor,
        "transfer.requested",
        request,
        label=f"{request} · {request.get_kind_display()}",
        changes={"amount": [None, str(request.amount)], "reference": [None, request.reference]},
    )
    return request


def pending_from(account: Account) -> Decimal:
    """What pending handovers already ask of the account."""
    pending = TransferRequest.objects.filter(source=account, status=Status.PENDING)
    return pending.aggregate(total=Sum("amount"))["total"] or ZERO


@transaction.atomic
def request_handover(
    *, actor: Any, source: Account, amount: Any, reference: str, note: str = ""
) -> TransferRequest:
    """A collector asks to hand the cash it holds over to its operator's own cash; refused
    beyond what the account holds less what pending handovers already ask."""
    source = lock(Account, [source.pk])[source.pk]
    operator = Operator.objects.get(pk=source.operator_id)
    require(actor, "payments.add", operator)
    if source.kind != Account.Kind.CASH or source.user_id is None:
        raise DomainError(_("Only a collector's cash is handed over."))
    access = access_of(actor)
    if actor is not None and source.user_id != actor.pk and not access.can("accounting.add"):
        raise NotAllowedError(_("You may hand over only the cash you hold."))
    amount = amount_given(amount)
    available = source.balance - pending_from(source)
    if amount > available:
        raise DomainError(
            _("%(account)s holds %(available)s not yet asked for: it cannot hand over %(amount)s.")
            % {"account": source, "available": available, "amount": amount},
            fields={"amount": [_("More than the collector holds.")]},
        )
    return _create(
        actor,
        tenant_id=source.tenant_id,
        operator=operator,
        kind=Kind.HANDOVER,
        amount=amount,
        source=source,
        reference=_reference(reference),
        note=(note or "").strip()[:200],
    )


@transaction.atomic
def request_funds(
    *, actor: Any, operator: Operator, amount: Any, reference: str, method: str, note: str = ""
) -> TransferRequest:
    """A reseller reports funds it paid its parent, for the parent to confirm."""
    require(actor, "accounting.add", operator)
    if operator.parent_id is None:
        raise DomainError(_("The group admin's own node has no parent to pay."))
    if method not in funds.FUNDS_METHODS:
        raise DomainError(
            _("Funds arrive in cash or at the bank."), fields={"method": [_("Cash or bank.")]}
        )
    return _create(
        actor,
        tenant_id=operator.tenant_id,
        operator=operator,
        kind=Kind.FUNDS,
        amount=amount_given(amount),
        method=method,
        reference=_reference(reference),
        note=(note or "").strip()[:200],
    )


def _decide(actor: Any, request: TransferRequest) -> tuple[TransferRequest, Operator]:
    """The pending request, locked, and the operator whose staff decide it."""
    request = TransferRequest.objects.select_for_update().get(pk=request.pk)
    operator = Operator.objects.select_related("parent").get(pk=request.operator_id)
    decider = operator.parent if request.kind == Kind.FUNDS else operator
    require(actor, "accounting.change", decider)
    if request.status != Status.PENDING:
        raise ConflictError(
            _("%(request)s is already %(status)s.")
            % {"request": request, "status": request.get_status_display().lower()}
        )
    if actor is not None and request.requested_by_id == actor.pk:
        raise NotAllowedError(_("Someone else approves or rejects your own request."))
    return request, operator


@transaction.atomic
def approve(*, actor: Any, request: TransferRequest, note: str = "") -> TransferRequest:
    """Post the request's money and mark it approved (all or nothing)."""
    request, operator = _decide(actor, request)
    if request.kind == Kind.HANDOVER:
        source: Any = request.source
        entry = services.transfer(
            actor=actor,
            source=source,
            target=services.account_for(operator, Account.Kind.CASH),
            amount=request.amount,
            reference=str(request),
            memo=f"{request} handover · {source} · {request.reference}",
        )
    else:
        entry = funds.add_funds(
            actor=actor,
            operator=operator,
            amount=request.amount,
            reference=request.reference,
            method=request.method,
            note=request.note,
        )
    return _close(actor, request, Status.APPROVED, note, entry)


@transaction.atomic
def reject(*, actor: Any, request: TransferRequest, note: str) -> TransferRequest:
    """Refuse the request, saying why in ``note``; no money moves."""
    reason = (note or "").strip()[:200]
    if not reason:
        raise DomainError(_("Say why it is rejected."), fields={"reason": [_("Required.")]})
    request, _operator = _decide(actor, request)
    return _close(actor, request, Status.REJECTED, reason, None)


def _close(
    actor: Any, request: TransferRequest, status: str, note: str, entry: Any
) -> TransferRequest:
    request.status = status
    request.decided_by = actor if getattr(actor, "pk", None) else None
    request.decided_at = timezone.now()
    request.decision_note = (note or "").strip()[:200]
    request.entry = entry
    request.save()
    audit.record(
        actor,
        f"transfer.{status}",
        request,
        label=f"{request} · {request.get_kind_display()}",
        changes={"status": [Status.PENDING, status], "note": request.decision_note},
    )
    return request
