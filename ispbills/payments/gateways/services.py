"""Online payments: start an attempt, take a callback, confirm with the provider, settle
exactly once, reconcile what stayed open.

The rules (docs/gateways.md):

- the browser's return is never proof: an attempt becomes *verified* only on the provider's
  server-side confirmation whose amount, currency and reference match the stored attempt;
- a callback with a bad signature, one naming no attempt, or one whose session differs from the
  attempt's changes nothing and leaves an audit row;
- verified is reached by one guarded UPDATE (``WHERE state IN OPEN_STATES``) in the same
  transaction as the payment (``receive_payment`` with the provider's transaction id as the
  reference) or the operator-funds event, and (provider, provider_txn_id) is unique: duplicate
  and concurrent callbacks credit once;
- no answer (a timeout) leaves the attempt *unknown*; reconciliation queries it later, and
  what stays unknown past a limit, or was paid with another amount or currency, waits for a
  person in the needs-attention queue with the provider's raw answers.

Adapters are called outside any transaction (their HTTP calls must not hold row locks);
their exchanges are stored afterwards, redacted.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from ispbills.core import audit, clock, events
from ispbills.core.access import access_of
from ispbills.core.errors import ConflictError, DomainError, NotAllowedError
from ispbills.core.money import amount_given
from ispbills.customers.models import Customer
from ispbills.payments.gateways import gateway_class, links
from ispbills.payments.gateways.base import (
    AttemptInfo,
    BrowserAction,
    Callback,
    CallbackRequest,
    Confirmation,
    GatewayConfigError,
    GatewayError,
    GatewayTimeout,
    GatewayUnavailable,
    PaymentGateway,
    PaymentRequest,
    Signature,
    StartResult,
    StateStore,
    Verdict,
)
from ispbills.payments.gateways.http import Exchange, GatewayHttp
from ispbills.payments.models import GatewayAccount, GatewayExchange, Payment, PaymentAttempt
from ispbills.tenancy.models import Operator

logger = logging.getLogger(__name__)

State = PaymentAttempt.State
Outcome = PaymentAttempt.Outcome
CUSTOMER_PURPOSES = (PaymentAttempt.Purpose.BILL, PaymentAttempt.Purpose.ADVANCE)
OPERATOR_PURPOSES = (PaymentAttempt.Purpose.OPERATOR_FUNDS, PaymentAttempt.Purpose.SUBSCRIPTION)
# Reconciliation: an attempt is left to its callback this long before it is queried …
QUIET_FOR = dt.timedelta(minutes=5)
# … a payer who has not finished in this long has abandoned it …
PENDING_EXPIRES = dt.timedelta(hours=24)
# … and one whose outcome stays unknown this long goes to a person.
UNKNOWN_LIMIT = dt.timedelta(hours=2)
RECONCILE_BATCH = 500


# -- accounts and adapters ----------------------------------------------------------------


class AccountStateStore(StateStore):
    """A gateway account's shared provider state, in its encrypted ``state`` column, updated
    under the account row's lock so one process refreshes a token while the others wait."""

    def __init__(self, account_id: int) -> None:
        self.account_id = account_id

    def read(self) -> dict[str, Any]:
        raw = (
            GatewayAccount.objects.filter(pk=self.account_id)
            .values_list("state", flat=True)
            .first()
        )
        return json.loads(raw) if raw else {}

    def update(self, fn: Callable[[dict[str, Any]], dict[str, Any] | None]) -> dict[str, Any]:
        with transaction.atomic():
            raw = (
                GatewayAccount.objects.select_for_update()
                .filter(pk=self.account_id)
                .values_list("state", flat=True)
                .get()
            )
            current = json.loads(raw) if raw else {}
            new = fn(dict(current))
            if new is None:
                return current
            GatewayAccount.objects.filter(pk=self.account_id).update(
                state=json.dumps(new, sort_keys=True)
            )
            return new


def adapter_for(account: GatewayAccount) -> PaymentGateway:
    """The provider's adapter with this account's credentials, state and address."""
    try:
        cls = gateway_class(account.provider)
    except KeyError:
        raise GatewayConfigError(f"Unknown payment gateway {account.provider!r}.") from None
    # PAYMENT_GATEWAY_READ_TIMEOUT (seconds) shortens every provider's answer timeout: tests
    # of "no answer in time" set it rather than waiting 30 s.
    override = getattr(settings, "PAYMENT_GATEWAY_READ_TIMEOUT", None)
    http = GatewayHttp(
        redact_keys=cls.redact_keys,
        connect_timeout=min(cls.connect_timeout, override or cls.connect_timeout),
        read_timeout=override or cls.read_timeout,
    )
    return cls(
        credentials=account.get_credentials(),
        sandbox=account.sandbox,
        http=http,
        state=AccountStateStore(account.pk),
        base_url=account.base_url,
    )


def _save_exchanges(
    exchanges: list[Exchange],
    *,
    tenant_id: int,
    account_id: int | None,
    attempt_id: int | None,
) -> None:
    if not exchanges:
        return
    now = clock.now()
    GatewayExchange.objects.bulk_create(
        GatewayExchange(
            tenant_id=tenant_id,
            account_id=account_id,
            attempt_id=attempt_id,
            at=now,
            label=item.label[:60],
            direction=item.direction,
            method=item.method[:8],
            url=item.url,
            request_headers=item.request_headers,
            request_body=item.request_body,
            status_code=item.status_code,
            response_body=item.response_body,
            duration_ms=item.duration_ms,
            error=item.error[:300],
        )
        for item in exchanges
    )
    exchanges.clear()


def accounts_for_customer(customer: Customer) -> list[GatewayAccount]:
    """The enabled customer-payment gateways of the customer's operator, or else of its
    nearest ancestor that has any (a reseller collecting through its parent's merchant)."""
    return _nearest_accounts(customer.operator, for_customers=True)


def accounts_for_operator_topup(operator: Operator) -> list[GatewayAccount]:
    """Where an operator pays its parent: the parent's (or nearest ancestor's) top-up
    gateways."""
    if operator.parent_id is None:
        return []
    parent = Operator.objects.get(pk=operator.parent_id)
    return _nearest_accounts(parent, for_operators=True)


def _nearest_accounts(operator: Operator, **flags: bool) -> list[GatewayAccount]:
    ids = [int(part) for part in operator.path.strip("/").split("/") if part]
    rows = list(
        GatewayAccount.objects.filter(
            tenant_id=operator.tenant_id, operator_id__in=ids, enabled=True, **flags
        ).order_by("provider")
    )
    for operator_id in reversed(ids):  # the operator itself first, then up the tree
        mine = [row for row in rows if row.operator_id == operator_id]
        if mine:
            return mine
    return []


# -- starting -----------------------------------------------------------------------------


def new_merchant_ref() -> str:
    """A unique reference per attempt: 20 characters, letters and digits only (what every
    provider accepts: Nagad wants 5-20 alphanumerics, SSLCommerz ≤30)."""
    return "IB" + clock.now().strftime("%y%m%d") + secrets.token_hex(6).upper()


def callback_urls(code: str) -> tuple[str, str]:
    """Our browser-return and server-notification addresses for a provider."""
    site = settings.SITE_URL.rstrip("/")
    return (
        site + reverse("payments:gateway_return", args=[code]),
        site + reverse("payments:gateway_ipn", args=[code]),
    )


@dataclass
class Started:
    """A started attempt and where to send the payer (``result`` is None when it failed)."""

    attempt: PaymentAttempt
    result: StartResult | None


def start_attempt(
    *,
    actor: Any,
    account: GatewayAccount,
    amount: Any,
    purpose: str,
    customer: Customer | None = None,
    bill: Any = None,
    payer_operator: Operator | None = None,
    return_url: str = "",
    language: str = "en",
    client_ip: str = "",
) -> Started:
    """Open a payment at the provider for a customer's bill or advance, or an operator's
    top-up or subscription; the attempt is *pending* with the provider's session, or *failed*
    with the provider's refusal. ``actor`` is the staff user, or None for a payer on the
    public payment page (whose link was checked by the caller)."""
    amount = amount_given(amount)
    if not account.enabled:
        raise DomainError(_("This payment gateway is switched off."))
    cls = gateway_class(account.provider)
    if not cls.min_amount <= amount <= cls.max_amount:
        raise DomainError(
            _("%(name)s takes %(min)s to %(max)s.")
            % {"name": cls.name, "min": cls.min_amount, "max": cls.max_amount},
            fields={"amount": [_("Out of the gateway's range.")]},
        )
    if purpose in CUSTOMER_PURPOSES:
        if customer is None or customer.tenant_id != account.tenant_id:
            raise DomainError(_("Choose the customer who pays."))
        if customer.status == Customer.Status.DELETED:
            raise DomainError(_("This customer is deleted."))
        if not account.for_customers or account.pk not in {
            a.pk for a in accounts_for_customer(customer)
        }:
            raise NotAllowedError(_("This gateway does not take this customer's payments."))
        if bill is not None and bill.customer_id != customer.pk:
            raise DomainError(_("This bill is not the customer's."))
        if actor is not None and not (
            access_of(actor).can("payments.add")
            and Customer.objects.restrict(actor, "view").filter(pk=customer.pk).exists()
        ):
            raise NotAllowedError(_("You may not take payments for this customer."))
        payer_operator = None
        name, phone, email = customer.name, customer.mobile, customer.email
        description = _("Internet service %(username)s") % {"username": customer.username}
        owner_operator_id = customer.operator_id
    elif purpose in OPERATOR_PURPOSES:
        if payer_operator is None or payer_operator.tenant_id != account.tenant_id:
            raise DomainError(_("Choose the operator who pays."))
        if account.pk not in {a.pk for a in accounts_for_operator_topup(payer_operator)}:
            raise NotAllowedError(_("This gateway does not take this operator's top-ups."))
        if actor is not None and not (
            access_of(actor).can("payments.add")
            and Operator.objects.restrict(actor, "view").filter(pk=payer_operator.pk).exists()
        ):
            raise NotAllowedError(_("You may not pay for this operator."))
        customer = bill = None
        name, phone, email = payer_operator.name, payer_operator.mobile, payer_operator.email
        description = _("Balance top-up %(name)s") % {"name": payer_operator.name}
        owner_operator_id = payer_operator.pk
    else:
        raise DomainError(_("Unknown payment purpose."))

    attempt = PaymentAttempt.objects.create(
        tenant_id=account.tenant_id,
        operator_id=owner_operator_id,
        account=account,
        provider=account.provider,
        purpose=purpose,
        customer=customer,
        bill=bill,
        payer_operator=payer_operator,
        amount=amount,
        currency=cls.currencies[0],
        merchant_ref=new_merchant_ref(),
        return_url=return_url[:300],
        client_ip=client_ip or None,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(
        actor,
        "gateway.attempt_started",
        attempt,
        changes={"amount": [None, str(amount)], "provider": [None, account.provider]},
    )
    return_to, ipn = callback_urls(account.provider)
    adapter = adapter_for(account)
    request = PaymentRequest(
        merchant_ref=attempt.merchant_ref,
        amount=amount,
        currency=attempt.currency,
        description=str(description)[:120],
        callback_url=return_to,
        ipn_url=ipn,
        customer_name=name or "",
        customer_phone=phone or "",
        customer_email=email or "",
        language=language,
        client_ip=client_ip,
        page_url=links.page_url(account.provider, attempt.merchant_ref) if cls.browser_page else "",
    )
    result: StartResult | None = None
    try:
        result = adapter.start(request)
    except GatewayTimeout as exc:
        # The session may exist at the provider, but the payer was never sent there: no
        # money can move on it.
        _mark(attempt, State.FAILED, Outcome.NO_ANSWER, exc.message)
    except GatewayError as exc:
        _mark(attempt, State.FAILED, Outcome.PROVIDER_ERROR, exc.message)
    else:
        attempt.provider_ref = result.provider_ref[:100]
        attempt.data = {**attempt.data, **result.data, "start": _start_view(result)}
        attempt.state = State.PENDING
        attempt.save(update_fields=["provider_ref", "data", "state", "updated_at"])
    finally:
        _save_exchanges(
            adapter.http.exchanges,
            tenant_id=attempt.tenant_id,
            account_id=account.pk,
            attempt_id=attempt.pk,
        )
    return Started(attempt, result)


def _start_view(result: StartResult) -> dict[str, Any]:
    """What the payment page needs to send the payer again (a refresh)."""
    return {
        "redirect_url": result.redirect_url,
        "form_action": result.form_action,
        "form_method": result.form_method,
        "form_fields": result.form_fields,
    }


def _mark(attempt: PaymentAttempt, state: str, outcome: str, message: str) -> None:
    attempt.state, attempt.outcome, attempt.message = state, outcome, message[:300]
    attempt.save(update_fields=["state", "outcome", "message", "updated_at"])


def info_of(attempt: PaymentAttempt) -> AttemptInfo:
    return AttemptInfo(
        merchant_ref=attempt.merchant_ref,
        amount=attempt.amount,
        currency=attempt.currency,
        provider_ref=attempt.provider_ref,
        provider_txn_id=attempt.provider_txn_id or "",
        data=dict(attempt.data),
        created_at=attempt.created_at,
    )


# -- callbacks ----------------------------------------------------------------------------


@dataclass
class CallbackOutcome:
    """What a callback led to: ``result`` is one of verified, already_verified, failed,
    pending, unknown, attention, forged, mismatch, unmatched, housekeeping."""

    result: str
    attempt: PaymentAttempt | None
    reply: tuple[int, str] | None = None


def handle_callback(code: str, request: CallbackRequest) -> CallbackOutcome:
    """Take a browser return or an IPN for provider ``code``: find the attempt, check the
    signature, confirm with the provider and settle. Never trusts the callback's own claims."""
    cls = gateway_class(code)
    merchant_ref, provider_ref = cls.identify(request)
    attempt = _find_attempt(code, merchant_ref, provider_ref)
    label = f"{request.kind} callback"
    if attempt is None:
        http = GatewayHttp(redact_keys=cls.redact_keys)
        http.note_inbound(
            label,
            method=request.method,
            url=_url_of(request),
            headers=request.headers,
            body=request.body,
            content_type=request.headers.get("content-type", ""),
        )
        logger.warning("%s callback names no attempt (%r, %r)", code, merchant_ref, provider_ref)
        audit.record(
            None,
            "gateway.callback_unmatched",
            None,
            changes={"provider": [None, code], "reference": [None, merchant_ref or provider_ref]},
            label=f"{code} {merchant_ref or provider_ref}"[:200],
        )
        return CallbackOutcome("unmatched", None)

    account = attempt.account
    adapter = adapter_for(account)
    adapter.http.note_inbound(
        label,
        method=request.method,
        url=_url_of(request),
        headers=request.headers,
        body=request.body,
        content_type=request.headers.get("content-type", ""),
    )
    try:
        callback = adapter.parse_callback(request)
        if callback.housekeeping:
            return CallbackOutcome("housekeeping", None, callback.reply)
        outcome = _take_callback(adapter, attempt, callback)
        outcome.reply = callback.reply
        return outcome
    finally:
        _save_exchanges(
            adapter.http.exchanges,
            tenant_id=attempt.tenant_id,
            account_id=account.pk,
            attempt_id=attempt.pk,
        )


# -- browser actions (a provider's JavaScript on our payment page) --------------------------


def attempt_for_page(code: str, token: str) -> PaymentAttempt | None:
    """The attempt a payment-page token names, for provider ``code`` (None: forged, expired,
    or another provider's)."""
    merchant_ref = links.read_page(token)
    if not merchant_ref:
        return None
    return (
        PaymentAttempt.objects.select_related("account")
        .filter(provider=code, merchant_ref=merchant_ref)
        .first()
    )


def page_context(attempt: PaymentAttempt) -> dict[str, Any]:
    return adapter_for(attempt.account).page_context(info_of(attempt))


@dataclass
class ActionOutcome:
    """What a browser action led to: an HTTP status, the JSON for the page, and ``result``
    (created, closed, refused, provider_error, or a callback result: verified, failed…)."""

    status: int
    result: str
    reply: dict[str, Any]
    attempt: PaymentAttempt | None = None


def browser_action(code: str, name: str, token: str, payload: dict[str, Any]) -> ActionOutcome:
    """Serve a payment page's action: the signed token names the attempt (a forged one, or
    one of another provider, is refused before anything is called or written); an action may
    open the provider's session (stored once, on an open attempt) and may carry a claim that
    is confirmed with the provider and settled exactly like a browser return."""
    cls = gateway_class(code)
    if name not in cls.browser_actions:
        return ActionOutcome(404, "refused", {"error": _("Unknown action.")})
    attempt = attempt_for_page(code, token)
    if attempt is None:
        audit.record(
            None,
            "gateway.action_refused",
            None,
            changes={"provider": [None, code], "action": [None, name]},
            label=f"{code} {name}"[:200],
        )
        return ActionOutcome(403, "refused", {"error": _("This payment page is not valid.")})
    if attempt.state == State.VERIFIED:
        return ActionOutcome(200, "already_verified", {}, attempt)
    if attempt.state not in (State.PENDING, State.UNKNOWN):
        return ActionOutcome(
            409, "closed", {"error": _("This payment is closed; start again.")}, attempt
        )
    adapter = adapter_for(attempt.account)
    try:
        try:
            action: BrowserAction = adapter.browser_action(name, info_of(attempt), payload)
        except GatewayError as exc:
            return ActionOutcome(502, "provider_error", {"error": exc.message}, attempt)
        if action.provider_ref and action.provider_ref != attempt.provider_ref:
            stored = PaymentAttempt.objects.filter(
                pk=attempt.pk, state=State.PENDING, provider_ref=""
            ).update(provider_ref=action.provider_ref[:100], updated_at=clock.now())
            if not stored:
                return ActionOutcome(
                    409, "closed", {"error": _("This payment was opened already.")}, attempt
                )
            attempt.provider_ref = action.provider_ref[:100]
        if action.callback is None:
            return ActionOutcome(200, "created", dict(action.reply), attempt)
        outcome = _take_callback(adapter, attempt, action.callback)
        status = 409 if outcome.result in ("mismatch", "forged") else 200
        return ActionOutcome(status, outcome.result, dict(action.reply), attempt)
    finally:
        _save_exchanges(
            adapter.http.exchanges,
            tenant_id=attempt.tenant_id,
            account_id=attempt.account_id,
            attempt_id=attempt.pk,
        )


def _url_of(request: CallbackRequest) -> str:
    from urllib.parse import urlencode

    return "callback?" + urlencode(request.query) if request.query else "callback"


def _find_attempt(code: str, merchant_ref: str, provider_ref: str) -> PaymentAttempt | None:
    rows = PaymentAttempt.objects.select_related("account")
    if merchant_ref:
        found = rows.filter(provider=code, merchant_ref=merchant_ref).first()
        if found is not None:
            return found
    if provider_ref:
        return rows.filter(provider=code, provider_ref=provider_ref).first()
    return None


def _take_callback(
    adapter: PaymentGateway, attempt: PaymentAttempt, callback: Callback
) -> CallbackOutcome:
    if callback.signature == Signature.INVALID:
        audit.record(
            None,
            "gateway.callback_forged",
            attempt,
            changes={"claimed": [None, callback.status.value]},
        )
        return CallbackOutcome("forged", attempt)
    if (
        callback.provider_ref
        and attempt.provider_ref
        and callback.provider_ref != attempt.provider_ref
    ) or (callback.merchant_ref and callback.merchant_ref != attempt.merchant_ref):
        audit.record(
            None,
            "gateway.callback_mismatch",
            attempt,
            changes={"session": [attempt.provider_ref, callback.provider_ref]},
        )
        return CallbackOutcome("mismatch", attempt)
    if attempt.state == State.VERIFIED:
        audit.record(None, "gateway.callback_duplicate", attempt)
        return CallbackOutcome("already_verified", attempt)
    if attempt.needs_attention:
        # A person is looking at it; a callback does not settle it behind their back.
        return CallbackOutcome("attention", attempt)
    try:
        confirmation = adapter.verify(info_of(attempt), callback)
    except GatewayTimeout as exc:
        return CallbackOutcome(_unknown(attempt, Outcome.NO_ANSWER, exc.message), attempt)
    except GatewayError as exc:
        return CallbackOutcome(_unknown(attempt, Outcome.PROVIDER_ERROR, exc.message), attempt)
    return CallbackOutcome(settle(attempt, confirmation, actor=None), attempt)


def _unknown(attempt: PaymentAttempt, outcome: str, message: str) -> str:
    """No usable answer: the attempt's outcome is unknown until reconciliation asks again."""
    now = clock.now()
    PaymentAttempt.objects.filter(
        pk=attempt.pk, state__in=(State.CREATED, State.PENDING, State.UNKNOWN)
    ).update(
        state=State.UNKNOWN,
        outcome=outcome,
        message=message[:300],
        checks=attempt.checks + 1,
        last_checked_at=now,
        updated_at=now,
    )
    attempt.refresh_from_db()
    return "unknown"


# -- settling -----------------------------------------------------------------------------


def _mismatch(attempt: PaymentAttempt, confirmation: Confirmation) -> tuple[str, str] | None:
    """Why a confirmed payment does not match the stored attempt, if it does not."""
    if confirmation.merchant_ref and confirmation.merchant_ref != attempt.merchant_ref:
        return Outcome.REFERENCE_MISMATCH, _("The provider confirmed another reference (%s).") % (
            confirmation.merchant_ref
        )
    if (
        confirmation.provider_ref
        and attempt.provider_ref
        and confirmation.provider_ref != attempt.provider_ref
    ):
        return Outcome.REFERENCE_MISMATCH, _("The provider confirmed another session (%s).") % (
            confirmation.provider_ref
        )
    if confirmation.currency and confirmation.currency.upper() != attempt.currency.upper():
        return Outcome.CURRENCY_MISMATCH, _("Paid in %(got)s, asked in %(asked)s.") % {
            "got": confirmation.currency,
            "asked": attempt.currency,
        }
    if confirmation.amount is None:
        return Outcome.REFUSED, _("The provider's confirmation carries no amount.")
    if confirmation.amount < attempt.amount:
        return Outcome.UNDERPAID, _("Paid %(got)s of %(asked)s.") % {
            "got": confirmation.amount,
            "asked": attempt.amount,
        }
    if confirmation.amount > attempt.amount:
        return Outcome.OVERPAID, _("Paid %(got)s, asked %(asked)s.") % {
            "got": confirmation.amount,
            "asked": attempt.amount,
        }
    if not confirmation.provider_txn_id:
        return Outcome.REFUSED, _("The provider's confirmation carries no transaction id.")
    if confirmation.data.get("hold"):
        return Outcome.REFUSED, _("The provider flags this payment as high risk: check the payer.")
    return None


def settle(attempt: PaymentAttempt, confirmation: Confirmation, *, actor: Any) -> str:
    """Apply the provider's server-side answer to the attempt; returns the callback result
    word (verified, already_verified, failed, pending, unknown, attention)."""
    now = clock.now()
    verdict = confirmation.verdict
    if verdict == Verdict.PAID:
        problem = _mismatch(attempt, confirmation)
        if problem is not None:
            return _needs_attention(attempt, confirmation, *problem, actor=actor)
        return _verify(attempt, confirmation, actor=actor)
    if verdict in (Verdict.FAILED, Verdict.CANCELLED):
        outcome = Outcome.CANCELLED if verdict == Verdict.CANCELLED else Outcome.DECLINED
        if confirmation.data.get("expired"):
            outcome = Outcome.EXPIRED
        updated = PaymentAttempt.objects.filter(
            pk=attempt.pk, state__in=(State.CREATED, State.PENDING, State.UNKNOWN)
        ).update(
            state=State.FAILED,
            outcome=outcome,
            message=confirmation.message[:300],
            checks=attempt.checks + 1,
            last_checked_at=now,
            updated_at=now,
        )
        attempt.refresh_from_db()
        if updated:
            audit.record(
                actor, "gateway.attempt_failed", attempt, changes={"outcome": [None, outcome]}
            )
        return "already_verified" if attempt.state == State.VERIFIED else "failed"
    if verdict == Verdict.PENDING:
        PaymentAttempt.objects.filter(
            pk=attempt.pk, state__in=(State.CREATED, State.PENDING, State.UNKNOWN)
        ).update(
            state=State.PENDING,
            message=confirmation.message[:300],
            checks=attempt.checks + 1,
            last_checked_at=now,
            updated_at=now,
        )
        attempt.refresh_from_db()
        return "pending"
    return _unknown(attempt, Outcome.PROVIDER_ERROR, confirmation.message or "unknown status")


def _needs_attention(
    attempt: PaymentAttempt,
    confirmation: Confirmation,
    outcome: str,
    message: str,
    *,
    actor: Any,
) -> str:
    """Money moved but not as asked (or not provably ours): nothing is credited; a person
    decides, with the provider's answer on the attempt."""
    now = clock.now()
    with transaction.atomic():
        updated = PaymentAttempt.objects.filter(
            pk=attempt.pk, state__in=PaymentAttempt.OPEN_STATES
        ).update(
            state=State.UNKNOWN,
            outcome=outcome,
            message=message[:300],
            needs_attention=True,
            attention_reason=message[:300],
            confirmed_amount=confirmation.amount,
            data={
                **attempt.data,
                "confirmed": {
                    "txn_id": confirmation.provider_txn_id,
                    "amount": str(confirmation.amount) if confirmation.amount is not None else "",
                    "currency": confirmation.currency,
                    "reference": confirmation.merchant_ref,
                },
            },
            checks=attempt.checks + 1,
            last_checked_at=now,
            updated_at=now,
        )
        attempt.refresh_from_db()
        if updated:
            audit.record(
                actor,
                f"gateway.{outcome}",
                attempt,
                changes={
                    "amount": [str(attempt.amount), str(confirmation.amount)],
                    "currency": [attempt.currency, confirmation.currency],
                },
            )
    return "already_verified" if attempt.state == State.VERIFIED else "attention"


def _verify(attempt: PaymentAttempt, confirmation: Confirmation, *, actor: Any) -> str:
    """The one way an attempt becomes verified, credited exactly once."""
    now = clock.now()
    txn_id = confirmation.provider_txn_id[:100]
    try:
        with transaction.atomic():
            updated = PaymentAttempt.objects.filter(
                pk=attempt.pk, state__in=PaymentAttempt.OPEN_STATES
            ).update(
                state=State.VERIFIED,
                outcome=Outcome.PAID,
                provider_txn_id=txn_id,
                confirmed_amount=confirmation.amount,
                verified_at=now,
                message=confirmation.message[:300],
                needs_attention=False,
                attention_reason="",
                checks=attempt.checks + 1,
                last_checked_at=now,
                updated_at=now,
            )
            if not updated:  # another callback (or the reconciler) verified it first
                attempt.refresh_from_db()
                return "already_verified" if attempt.state == State.VERIFIED else "attention"
            attempt.refresh_from_db()
            _credit(attempt, actor=actor)
            audit.record(
                actor,
                "gateway.payment_verified",
                attempt,
                changes={
                    "state": [None, State.VERIFIED],
                    "transaction": [None, txn_id],
                    "amount": [None, str(attempt.amount)],
                },
            )
    except IntegrityError:
        # (provider, transaction id) already belongs to another attempt: a replayed
        # confirmation, or a provider reusing ids. Nothing was credited.
        attempt.refresh_from_db()
        return _needs_attention(
            attempt,
            confirmation,
            Outcome.DUPLICATE_TXN,
            _("Transaction %s is already recorded on another attempt.") % txn_id,
            actor=actor,
        )
    except DomainError as exc:
        attempt.refresh_from_db()
        return _needs_attention(attempt, confirmation, Outcome.REFUSED, str(exc), actor=actor)
    return "verified"


def _credit(attempt: PaymentAttempt, *, actor: Any) -> None:
    """Credit a verified attempt in its transaction: the payment pipeline for a customer, the
    operator-funds event (the ledger's handler adds the funds) for an operator."""
    from ispbills.payments.services import receive_payment

    reference = attempt.provider_txn_id or ""
    if attempt.purpose in CUSTOMER_PURPOSES:
        customer = Customer.objects.select_related("tenant").get(pk=attempt.customer_id)
        payment: Payment = receive_payment(
            actor=None,
            customer=customer,
            amount=attempt.amount,
            method=Payment.Method.ONLINE,
            reference=reference,
            gateway=attempt.provider,
            bill=attempt.bill if attempt.purpose == PaymentAttempt.Purpose.BILL else None,
            note=f"{attempt.provider} {attempt.merchant_ref}",
            collector=actor if getattr(actor, "is_authenticated", False) else None,
        )
        PaymentAttempt.objects.filter(pk=attempt.pk).update(payment=payment)
        attempt.payment = payment
        return
    events.emit(
        "gateway.operator_funds_verified",
        attempt_id=attempt.pk,
        tenant_id=attempt.tenant_id,
        operator_id=attempt.payer_operator_id,
        amount=str(attempt.amount),
        reference=f"{attempt.provider}:{reference}",
        purpose=attempt.purpose,
    )


# -- checking, reconciling, resolving -------------------------------------------------------


def check_attempt(attempt: PaymentAttempt, *, actor: Any = None) -> str:
    """Ask the provider about an attempt and settle it (reconciliation; staff's "verify with
    the provider", which needs payments.change). Returns the result word."""
    if actor is not None:
        _may_change(actor, attempt)
    if attempt.state == State.VERIFIED:
        return "already_verified"
    if attempt.needs_attention and actor is None:
        return "attention"  # reconciliation leaves anomalies to the person
    adapter = adapter_for(attempt.account)
    try:
        confirmation = adapter.query(info_of(attempt))
        if (
            confirmation.verdict == Verdict.PENDING
            and attempt.created_at < clock.now() - PENDING_EXPIRES
        ):
            confirmation = Confirmation(
                verdict=Verdict.FAILED,
                message=_("The payer did not finish within a day."),
                data={"expired": True},
            )
        result = settle(attempt, confirmation, actor=actor)
    except GatewayTimeout as exc:
        result = _unknown(attempt, Outcome.NO_ANSWER, exc.message)
    except GatewayUnavailable as exc:
        result = _unknown(attempt, Outcome.NO_ANSWER, exc.message)
    except GatewayError as exc:
        result = _unknown(attempt, Outcome.PROVIDER_ERROR, exc.message)
    finally:
        _save_exchanges(
            adapter.http.exchanges,
            tenant_id=attempt.tenant_id,
            account_id=attempt.account_id,
            attempt_id=attempt.pk,
        )
    if result == "unknown" and attempt.created_at < clock.now() - UNKNOWN_LIMIT:
        flag_for_attention(
            attempt, _("The provider's answer is still unknown after %s.") % UNKNOWN_LIMIT
        )
        result = "attention"
    if actor is not None:
        audit.record(actor, "gateway.attempt_checked", attempt, changes={"result": [None, result]})
    return result


def flag_for_attention(attempt: PaymentAttempt, reason: str) -> None:
    PaymentAttempt.objects.filter(pk=attempt.pk).exclude(state=State.VERIFIED).update(
        needs_attention=True, attention_reason=reason[:300], updated_at=clock.now()
    )
    attempt.refresh_from_db()


def reconcile(*, now: dt.datetime | None = None, limit: int = RECONCILE_BATCH) -> dict[str, int]:
    """Query every attempt left created, pending or unknown (quiet for QUIET_FOR, not yet
    with a person) and settle it; returns how many ended in each result."""
    now = now or clock.now()
    due = list(
        PaymentAttempt.objects.select_related("account")
        .filter(
            state__in=(State.CREATED, State.PENDING, State.UNKNOWN),
            needs_attention=False,
            created_at__lt=now - QUIET_FOR,
        )
        .order_by("last_checked_at", "id")[:limit]
    )
    counts: dict[str, int] = {}
    for attempt in due:
        if attempt.state == State.CREATED and not attempt.provider_ref:
            # Never reached the provider (the process stopped between the two writes).
            _mark(attempt, State.FAILED, Outcome.PROVIDER_ERROR, "never started")
            result = "failed"
        else:
            try:
                result = check_attempt(attempt)
            except Exception:  # one bad account must not stop the others
                logger.exception("reconciling attempt %s failed", attempt.pk)
                result = "error"
        counts[result] = counts.get(result, 0) + 1
    return counts


def _may_change(actor: Any, attempt: PaymentAttempt) -> None:
    if not PaymentAttempt.objects.restrict(actor, "change").filter(pk=attempt.pk).exists():
        raise NotAllowedError(_("You may not change this payment attempt."))


def resolve_attempt(
    *, actor: Any, attempt: PaymentAttempt, accept: bool, note: str
) -> PaymentAttempt:
    """A person's decision on an attempt in the needs-attention queue: ``accept`` credits what
    the provider confirmed (asked again first: the provider must still say paid), otherwise
    the attempt is closed as failed with nothing credited."""
    _may_change(actor, attempt)
    note = (note or "").strip()
    if not note:
        raise DomainError(_("Say why."), fields={"note": [_("Required.")]})
    if attempt.state == State.VERIFIED:
        raise ConflictError(_("This attempt is verified already."))
    if not accept:
        with transaction.atomic():
            updated = PaymentAttempt.objects.filter(
                pk=attempt.pk, state__in=(State.CREATED, State.PENDING, State.UNKNOWN, State.FAILED)
            ).update(
                state=State.FAILED,
                needs_attention=False,
                attention_reason="",
                message=note[:300],
                updated_at=clock.now(),
            )
            if not updated:
                raise ConflictError(_("This attempt changed meanwhile; reload it."))
            attempt.refresh_from_db()
            audit.record(actor, "gateway.attempt_closed", attempt, changes={"note": [None, note]})
        return attempt
    adapter = adapter_for(attempt.account)
    try:
        confirmation = adapter.query(info_of(attempt))
    except GatewayError as exc:
        raise ConflictError(
            _("The provider did not confirm: %(error)s") % {"error": exc.message}
        ) from None
    finally:
        _save_exchanges(
            adapter.http.exchanges,
            tenant_id=attempt.tenant_id,
            account_id=attempt.account_id,
            attempt_id=attempt.pk,
        )
    if confirmation.verdict != Verdict.PAID or confirmation.amount is None:
        raise ConflictError(
            _("The provider does not say this attempt is paid (%(verdict)s).")
            % {"verdict": confirmation.verdict.value}
        )
    if confirmation.currency and confirmation.currency.upper() != attempt.currency.upper():
        raise ConflictError(_("Paid in another currency: settle it with the provider."))
    if not confirmation.provider_txn_id:
        raise ConflictError(_("The provider gave no transaction id."))
    # Credit what was actually paid: the confirmed amount becomes the attempt's amount.
    with transaction.atomic():
        PaymentAttempt.objects.filter(pk=attempt.pk).update(
            amount=confirmation.amount, needs_attention=False, state=State.UNKNOWN
        )
        attempt.refresh_from_db()
        audit.record(
            actor,
            "gateway.attempt_accepted",
            attempt,
            changes={"amount": [None, str(confirmation.amount)], "note": [None, note]},
        )
        result = _verify(attempt, confirmation, actor=actor)
        if result != "verified":
            raise ConflictError(attempt.attention_reason or _("It could not be credited."))
    attempt.refresh_from_db()
    return attempt


# -- bKash "send money" ------------------------------------------------------------------------


def record_send_money(
    *, actor: Any, account: GatewayAccount, customer: Customer, trx_id: str
) -> PaymentAttempt:
    """A customer sent money to the operator's bKash wallet and gives the TrxID: bKash's
    legacy TrxID check confirms it (amount included) and the payment is recorded once; a TrxID
    recorded before is refused, with nothing written."""
    trx_id = (trx_id or "").strip().upper()
    if not trx_id.isalnum() or not 6 <= len(trx_id) <= 20:
        raise DomainError(_("Give the bKash TrxID."), fields={"trx_id": [_("Not a TrxID.")]})
    if account.provider != "bkash":
        raise DomainError(_("TrxID checks are for bKash accounts."))
    if customer.tenant_id != account.tenant_id or account.pk not in {
        a.pk for a in accounts_for_customer(customer)
    }:
        raise NotAllowedError(_("This gateway does not take this customer's payments."))
    if actor is not None and not (
        access_of(actor).can("payments.add")
        and Customer.objects.restrict(actor, "view").filter(pk=customer.pk).exists()
    ):
        raise NotAllowedError(_("You may not take payments for this customer."))
    if PaymentAttempt.objects.filter(provider="bkash", provider_txn_id=trx_id).exists():
        raise ConflictError(
            _("TrxID %s was recorded before.") % trx_id,
            fields={"trx_id": [_("Already recorded.")]},
        )
    adapter = adapter_for(account)
    check = getattr(adapter, "check_send_money", None)
    if check is None:
        raise DomainError(_("TrxID checks are for bKash accounts."))
    try:
        confirmation: Confirmation = check(trx_id)
    except GatewayError as exc:
        _save_exchanges(
            adapter.http.exchanges,
            tenant_id=account.tenant_id,
            account_id=account.pk,
            attempt_id=None,
        )
        raise DomainError(
            _("bKash did not confirm the TrxID: %(error)s") % {"error": exc.message}
        ) from None
    if confirmation.verdict != Verdict.PAID or not confirmation.amount:
        _save_exchanges(
            adapter.http.exchanges,
            tenant_id=account.tenant_id,
            account_id=account.pk,
            attempt_id=None,
        )
        raise DomainError(
            _("bKash does not show this TrxID as money received: %(why)s")
            % {"why": confirmation.message}
        )
    attempt = PaymentAttempt.objects.create(
        tenant_id=account.tenant_id,
        operator_id=customer.operator_id,
        account=account,
        provider=account.provider,
        purpose=PaymentAttempt.Purpose.BILL,
        customer=customer,
        amount=confirmation.amount,
        currency=confirmation.currency or "BDT",
        merchant_ref=new_merchant_ref(),
        provider_ref=trx_id,
        state=State.PENDING,
        data={"product": "send_money", **confirmation.data},
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _save_exchanges(
        adapter.http.exchanges,
        tenant_id=account.tenant_id,
        account_id=account.pk,
        attempt_id=attempt.pk,
    )
    result = _verify(attempt, confirmation, actor=actor)
    attempt.refresh_from_db()
    if result != "verified":
        raise ConflictError(attempt.attention_reason or _("The payment could not be recorded."))
    return attempt


# -- accounts -----------------------------------------------------------------------------


def save_account(
    *,
    actor: Any,
    operator: Operator,
    provider: str,
    values: dict[str, str],
    account: GatewayAccount | None = None,
    **fields: Any,
) -> GatewayAccount:
    """Create or change an operator's gateway account. A secret left empty keeps the saved
    one (the form never shows it back)."""
    try:
        cls = gateway_class(provider)
    except KeyError:
        raise DomainError(
            _("Unknown payment gateway."), fields={"provider": [_("Unknown.")]}
        ) from None
    if (
        actor is not None
        and not Operator.objects.restrict(actor, "view").filter(pk=operator.pk).exists()
    ):
        raise NotAllowedError(_("You may not configure this operator."))
    if actor is not None and not access_of(actor).can("payments.change"):
        raise NotAllowedError(_("You do not have permission to do this."))
    current = account.get_credentials() if account is not None else {}
    merged: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for spec in cls.credential_fields:
        given = (values.get(spec.name) or "").strip()
        value = (given or current.get(spec.name, "")) if spec.secret else (given or spec.default)
        if spec.choices and value and value not in {c for c, _label in spec.choices}:
            errors.setdefault(spec.name, []).append(str(_("Not one of the choices.")))
        if spec.required and not value:
            errors.setdefault(spec.name, []).append(str(_("Required.")))
        if value:
            merged[spec.name] = value
    if errors:
        raise DomainError(_("Some settings are missing or wrong."), fields=errors)
    with transaction.atomic():
        if account is None:
            if GatewayAccount.objects.filter(operator=operator, provider=provider).exists():
                raise ConflictError(
                    _("This operator has a %(name)s account already.") % {"name": cls.name},
                    fields={"provider": [_("Already set up.")]},
                )
            account = GatewayAccount(
                tenant_id=operator.tenant_id, operator=operator, provider=provider
            )
            verb = "gateway.account_created"
        else:
            verb = "gateway.account_changed"
        changed = sorted(k for k in set(merged) | set(current) if merged.get(k) != current.get(k))
        for name, value in fields.items():
            setattr(account, name, value)
        account.set_credentials(merged)
        if changed:
            account.state = ""  # new credentials: forget tokens of the old ones
        account.save()
        audit.record(
            actor,
            verb,
            account,
            changes={
                "credentials": [None, changed],  # names only, never values
                **{name: [None, str(value)] for name, value in fields.items()},
            },
        )
    return account


def test_account(*, actor: Any, account: GatewayAccount) -> tuple[bool, str]:
    """The panel's "test connection": a harmless call with the saved credentials."""
    try:
        message = adapter_for(account).check()
        ok = True
    except GatewayError as exc:
        ok, message = False, exc.message
    GatewayAccount.objects.filter(pk=account.pk).update(
        checked_at=clock.now(), check_message=message[:300]
    )
    account.refresh_from_db()
    audit.record(actor, "gateway.account_tested", account, changes={"ok": [None, ok]})
    return ok, message
