"""Recharge cards: generating batches, issuing, voiding and expiring cards, redeeming a PIN
through the payment pipeline exactly once, the wrong-PIN lock-out, distributor commissions
and settlements (docs/cards.md).

- **Generation** is set-based: PINs are drawn from the OS generator in one go, hashed and
  encrypted in Python, copied into a temporary table and inserted with one
  ``INSERT … SELECT … ON CONFLICT DO NOTHING`` (a PIN that collides with one of the ISP's is
  drawn again).
- **Redemption** is one guarded ``UPDATE … WHERE state = 'issued' … RETURNING`` in the same
  transaction as ``receive_payment()`` (reference: the card's serial): of any number of
  concurrent redemptions of one PIN, exactly one changes the row; the others wait for it and
  find the card used.
- **Lock-out**: wrong PINs are rows of ``RedemptionAttempt``; too many in the window for the
  customer, the source address or the distributor lock redemption for them (429).
- **Commissions** are rows written with the sale or the use; the ledger gets them in batches
  (Dr card commissions, Cr payable to the distributor), as payments reach it through the
  outbox, so redemptions never queue on the distributor's account row.
"""

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import zoneinfo
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import ExtractYear
from django.utils.translation import gettext as _

from ispbills.accounting import services as ledger
from ispbills.accounting.models import Account
from ispbills.billing.models import Bill
from ispbills.cards.models import (
    DISTRIBUTOR,
    Card,
    CardBatch,
    Commission,
    DistributorPayment,
    RedemptionAttempt,
)
from ispbills.catalog.models import Package
from ispbills.core import audit, clock
from ispbills.core.access import access_of, require
from ispbills.core.context import request_info
from ispbills.core.errors import ConflictError, DomainError, NotAllowedError
from ispbills.core.fields import encrypt
from ispbills.core.money import ZERO, MoneyError, amount_given, to_money
from ispbills.customers.models import Customer
from ispbills.payments import services as payments
from ispbills.payments.models import Payment
from ispbills.tenancy.models import Operator, User

# ---- PINs ------------------------------------------------------------------------------------

# Crockford's base32: digits and letters without I, L, O and U, so nothing reads as another
# symbol; typed O is taken as 0, I and L as 1. 16 symbols = 80 random bits (docs/cards.md).
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PIN_LENGTH = 16
_FROM_RFC4648 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET.encode())
_TYPED = str.maketrans({"O": "0", "I": "1", "L": "1"})
MAX_BATCH = 500_000
COMMISSION = "cards.commission"
DISTRIBUTOR_PAYMENT = "cards.distributorpayment"


def _pin_key() -> bytes:
    """The HMAC key of PIN hashes, derived from the app secret (never the secret itself)."""
    return hmac.new(settings.SECRET_KEY.encode(), b"ispbills.cards.pin", hashlib.sha256).digest()


def pin_hash(pin: str) -> bytes:
    """The lookup key of a normalized PIN."""
    return hmac.new(_pin_key(), pin.encode(), hashlib.sha256).digest()


def new_pins(count: int) -> list[str]:
    """``count`` PINs of 80 bits each from the OS generator (10 random bytes → 16 symbols)."""
    raw = base64.b32encode(secrets.token_bytes(10 * count)).translate(_FROM_RFC4648).decode()
    return [raw[i : i + PIN_LENGTH] for i in range(0, len(raw), PIN_LENGTH)]


def normalize_pin(typed: str) -> str | None:
    """The PIN as stored (upper case, no spaces or dashes, O→0, I/L→1), or None when it
    cannot be a PIN at all."""
    pin = "".join((typed or "").upper().split()).replace("-", "").translate(_TYPED)
    if len(pin) != PIN_LENGTH or any(symbol not in ALPHABET for symbol in pin):
        return None
    return pin


def format_pin(pin: str) -> str:
    """A PIN as printed: four groups of four."""
    return "-".join(pin[i : i + 4] for i in range(0, len(pin), 4))


# ---- errors ----------------------------------------------------------------------------------


class WrongPinError(DomainError):
    """No card of this ISP has that PIN (counted by the lock-out)."""

    code = "wrong_pin"


class RedemptionLockedError(DomainError):
    """Too many wrong PINs for this customer, address or distributor: try later."""

    code = "locked"
    status = 429


# ---- generation ------------------------------------------------------------------------------


def _distributor_of(tenant_id: int, user: Any, operator: Operator) -> User:
    """A card distributor of the ISP, at the operator or below it."""
    membership = getattr(user, "membership", None)
    if (
        membership is None
        or membership.role != DISTRIBUTOR
        or membership.operator.tenant_id != tenant_id
        or not membership.operator.path.startswith(operator.path)
        or not user.is_active
    ):
        raise DomainError(
            _("Pick an active card distributor of this operator."),
            fields={"distributor": [_("Not a card distributor of this operator.")]},
        )
    return user


CREATE_NEW = """
CREATE TEMP TABLE IF NOT EXISTS cards_new (seq integer, pin_hash bytea, pin text)
    ON COMMIT DROP
"""

INSERT_CARDS = """
INSERT INTO cards_card (
    tenant_id, operator_id, created_at, updated_at, batch_id, serial, pin_hash, pin,
    package_id, value, expires_at, state, distributor_id, issued_at, used_at, customer_id,
    redeemed_by_id, payment_id, void_reason)
SELECT %(tenant)s, %(operator)s, %(now)s, %(now)s, %(batch)s,
       %(prefix)s || lpad(seq::text, 6, '0'), pin_hash, pin, %(package)s, %(value)s,
       %(expires)s, %(state)s, %(distributor)s, %(issued_at)s, NULL, NULL, NULL, NULL, ''
  FROM cards_new
 ORDER BY seq
    ON CONFLICT (tenant_id, pin_hash) DO NOTHING
RETURNING serial
"""


def _insert_cards(batch: CardBatch, state: str, now: dt.datetime) -> None:
    """Insert the batch's cards set-based; a PIN colliding with another of the ISP (never
    expected at 80 bits, but the constraint decides) is drawn again."""
    prefix = f"{batch.pk:06d}-"
    wanted = list(range(1, batch.count + 1))
    key = _pin_key()
    with connection.cursor() as cursor:
        cursor.execute(CREATE_NEW)
        for _attempt in range(5):
            if not wanted:
                return
            cursor.execute("TRUNCATE cards_new")
            pins = new_pins(len(wanted))
            with cursor.copy("COPY cards_new (seq, pin_hash, pin) FROM STDIN") as copy:
                for seq, pin in zip(wanted, pins, strict=True):
                    digest = hmac.new(key, pin.encode(), hashlib.sha256).digest()
                    copy.write_row((seq, digest, encrypt(pin)))
            cursor.execute(
                INSERT_CARDS,
                {
                    "tenant": batch.tenant_id,
                    "operator": batch.operator_id,
                    "now": now,
                    "batch": batch.pk,
                    "prefix": prefix,
                    "package": batch.package_id,
                    "value": batch.value,
                    "expires": batch.expires_at,
                    "state": state,
                    "distributor": batch.distributor_id,
                    "issued_at": now if state == Card.State.ISSUED else None,
                },
            )
            made = {int(serial[len(prefix) :]) for (serial,) in cursor.fetchall()}
            wanted = [seq for seq in wanted if seq not in made]
        cursor.execute("TRUNCATE cards_new")
    if wanted:
        raise ConflictError(_("Could not draw unique PINs; try again."))


@transaction.atomic
def generate_batch(
    *,
    actor: Any,
    operator: Operator,
    name: str,
    count: Any,
    expires_at: dt.datetime,
    package: Package | None = None,
    value: Any = None,
    distributor: Any = None,
    commission_percent: Any = 0,
    commission_on: str = CardBatch.CommissionOn.USE,
) -> CardBatch:
    """Generate a batch of cards for a package (its price unless a value is given) or for a
    value; issued to the distributor at once when one is given, else unissued."""
    require(actor, "cards.add", operator)
    name = (name or "").strip()[:100]
    errors: dict[str, list[str]] = {}
    try:
        count = int(count)
    except (TypeError, ValueError):
        count = 0
    if not 1 <= count <= MAX_BATCH:
        errors["count"] = [_("From 1 to %(max)s cards.") % {"max": MAX_BATCH}]
    if expires_at is None or expires_at <= clock.now():
        errors["expires_at"] = [_("A time in the future.")]
    if package is not None:
        reach = [int(part) for part in operator.path.strip("/").split("/")]
        if package.tenant_id != operator.tenant_id or package.operator_id not in reach:
            errors["package"] = [_("Not a package of this operator.")]
        elif value in (None, ""):
            value = package.price
    try:
        value = to_money(value if value not in (None, "") else "0")
    except MoneyError:
        value = ZERO
    if value <= 0:
        errors["value"] = [_("A face value more than zero (or a package with a price).")]
    try:
        percent = Decimal(str(commission_percent or 0))
    except ArithmeticError:
        percent = Decimal(-1)
    if not Decimal(0) <= percent <= Decimal(100):
        errors["commission_percent"] = [_("From 0 to 100.")]
    if commission_on not in CardBatch.CommissionOn.values:
        errors["commission_on"] = [_("Unknown.")]
    if not name:
        errors["name"] = [_("Required.")]
    if errors:
        raise DomainError(_("Check the batch's fields."), fields=errors)
    if distributor is not None:
        distributor = _distributor_of(operator.tenant_id, distributor, operator)
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    batch = CardBatch.objects.create(
        tenant_id=operator.tenant_id,
        operator=operator,
        name=name,
        package=package,
        value=value,
        count=count,
        expires_at=expires_at,
        distributor=distributor,
        commission_percent=percent,
        commission_on=commission_on,
        created_by=actor_obj,
    )
    now = clock.now()
    state = Card.State.ISSUED if distributor is not None else Card.State.UNISSUED
    _insert_cards(batch, state, now)
    audit.record(
        actor,
        "card_batch.generated",
        batch,
        changes={
            "count": [None, count],
            "value": [None, str(value)],
            "package": [None, str(package) if package else None],
            "expires_at": [None, expires_at.isoformat()],
            "state": [None, state],
            "distributor": [None, distributor.get_username() if distributor else None],
        },
    )
    if distributor is not None:
        _commission_on_sale(batch, now)
    return batch


# ---- state changes in bulk, each card audited -------------------------------------------------

CHANGE_CARDS = """
WITH changed AS (
    UPDATE cards_card c SET {assignments}, updated_at = %(now)s
     WHERE {condition}
    RETURNING c.id, c.tenant_id, c.operator_id, c.serial
), audited AS (
    INSERT INTO core_auditevent (tenant_id, operator_id, actor_id, actor_label, verb,
                                 object_type, object_id, object_label, changes, ip,
                                 user_agent, at)
    SELECT tenant_id, operator_id, %(actor_id)s, %(actor_label)s, %(verb)s, 'cards.card',
           id::text, serial, %(changes)s::jsonb, %(ip)s, %(user_agent)s, %(now)s
      FROM changed
    RETURNING 1
)
SELECT id FROM changed ORDER BY id
"""


def _change_cards(
    actor: Any,
    verb: str,
    assignments: str,
    condition: str,
    params: dict[str, Any],
    changes: dict[str, Any],
) -> list[int]:
    """One statement: update the cards, and write one audit row per changed card."""
    request = request_info()
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    sql = CHANGE_CARDS.replace("{assignments}", assignments).replace("{condition}", condition)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                **params,
                "now": params.get("now") or clock.now(),
                "actor_id": getattr(actor_obj, "pk", None),
                "actor_label": actor_obj.get_username() if actor_obj else "system",
                "verb": verb,
                "changes": json.dumps(changes),
                "ip": request.ip,
                "user_agent": request.user_agent[:300],
            },
        )
        return [row[0] for row in cursor.fetchall()]


@transaction.atomic
def issue_batch(*, actor: Any, batch: CardBatch, distributor: Any) -> int:
    """Assign a batch's unissued cards to a distributor; returns how many were issued."""
    operator = Operator.objects.get(pk=batch.operator_id)
    require(actor, "cards.add", operator)
    distributor = _distributor_of(batch.tenant_id, distributor, operator)
    batch = CardBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.distributor_id not in (None, distributor.pk):
        raise ConflictError(
            _("This batch is issued to %(user)s.") % {"user": batch.distributor},
            fields={"distributor": [_("Already issued to another distributor.")]},
        )
    now = clock.now()
    issued = _change_cards(
        actor,
        "card.issued",
        "state = 'issued', distributor_id = %(distributor)s, issued_at = %(now)s",
        "c.batch_id = %(batch)s AND c.state = 'unissued'",
        {"distributor": distributor.pk, "batch": batch.pk, "now": now},
        {"state": ["unissued", "issued"], "distributor": [None, distributor.get_username()]},
    )
    if not issued:
        raise ConflictError(_("This batch has no unissued cards."))
    CardBatch.objects.filter(pk=batch.pk).update(distributor=distributor, updated_at=now)
    batch.distributor = distributor
    _commission_on_sale(batch, now)
    return len(issued)


@transaction.atomic
def void_cards(*, actor: Any, cards: Any, reason: str) -> int:
    """Void unused cards (unissued or issued; needs cards.delete); used, expired and void ones
    are left as they are. ``cards`` is a queryset the caller restricted. Returns how many were
    voided."""
    reason = (reason or "").strip()[:200]
    if not reason:
        raise DomainError(_("Give a reason."), fields={"reason": [_("Required.")]})
    ids = list(cards.values_list("pk", flat=True))
    if actor is not None:
        access = access_of(actor)
        operators = Operator.objects.filter(
            pk__in=Card.objects.filter(pk__in=ids).values("operator_id")
        )
        if not access.can("cards.delete") or not all(access.reaches(op) for op in operators):
            raise NotAllowedError(_("You do not have permission to do this."))
    voided = _change_cards(
        actor,
        "card.voided",
        "state = 'void', void_reason = %(reason)s",
        "c.id = ANY(%(ids)s) AND c.state IN ('unissued', 'issued')",
        {"ids": ids, "reason": reason},
        {"state": ["issued", "void"], "reason": [None, reason]},
    )
    return len(voided)


def expire_cards(*, now: dt.datetime | None = None) -> int:
    """Mark unused cards past their expiry as expired (the periodic job); audited per card."""
    with transaction.atomic():
        return len(
            _change_cards(
                None,
                "card.expired",
                "state = 'expired'",
                "c.state IN ('unissued', 'issued') AND c.expires_at <= %(now)s",
                {"now": now or clock.now()},
                {"state": ["issued", "expired"]},
            )
        )


DUPLICATE_PINS = """
SELECT tenant_id, pin_hash, array_agg(id ORDER BY id)
  FROM cards_card
 GROUP BY tenant_id, pin_hash
HAVING count(*) > 1
"""


def find_duplicate_pins() -> list[tuple[int, list[int]]]:
    """Cards of one ISP sharing a PIN (the unique constraint forbids them: the periodic check
    proves it still holds, e.g. after a restore without constraints); voids all but the
    first of each, audited, and returns ``(tenant, card ids)`` of each duplicate."""
    with connection.cursor() as cursor:
        cursor.execute(DUPLICATE_PINS)
        found = [(tenant_id, ids) for tenant_id, _digest, ids in cursor.fetchall()]
    for _tenant, ids in found:
        with transaction.atomic():
            _change_cards(
                None,
                "card.voided",
                "state = 'void', void_reason = 'duplicate PIN'",
                "c.id = ANY(%(ids)s) AND c.state IN ('unissued', 'issued')",
                {"ids": ids[1:]},
                {"state": ["issued", "void"], "reason": [None, "duplicate PIN"]},
            )
    return found


# ---- redemption ------------------------------------------------------------------------------

LOCKOUT_COUNTS = """
SELECT (SELECT count(*) FROM cards_redemptionattempt
         WHERE customer_id = %(customer)s AND at > %(since)s AND outcome = 'wrong_pin'),
       (SELECT count(*) FROM cards_redemptionattempt
         WHERE tenant_id = %(tenant)s AND ip = %(ip)s AND at > %(since)s
           AND outcome = 'wrong_pin'),
       (SELECT count(*) FROM cards_redemptionattempt
         WHERE distributor_id = %(distributor)s AND at > %(since)s AND outcome = 'wrong_pin')
"""

# The one statement that decides a redemption: only an issued, unexpired card of the
# customer's operator or an operator above it changes; a concurrent redemption of the same PIN
# waits for this row and then finds it used.
REDEEM_SQL = """
UPDATE cards_card c
   SET state = 'used', used_at = %(now)s, updated_at = %(now)s, customer_id = %(customer)s,
       redeemed_by_id = %(actor)s
  FROM cards_cardbatch b
 WHERE c.tenant_id = %(tenant)s AND c.pin_hash = %(hash)s AND c.state = 'issued'
   AND c.expires_at > %(now)s
   AND c.operator_id = ANY((SELECT string_to_array(trim(both '/' from path), '/')::bigint[]
                              FROM tenancy_operator WHERE id = %(operator)s)::bigint[])
   AND b.id = c.batch_id
RETURNING c.id, c.serial, c.package_id, c.value, c.distributor_id, c.tenant_id,
          c.operator_id, b.commission_on, b.commission_percent
"""


def _lock_labels() -> dict[str, str]:
    return {"customer": _("customer"), "address": _("address"), "distributor": _("distributor")}


# What a redemption writes after its payment, in one statement: the card's link to the
# payment, the commission on use (when due), the audit row and the attempt.
REDEEMED_SQL = """
WITH linked AS (
    UPDATE cards_card SET payment_id = %(payment)s WHERE id = %(card)s RETURNING id
), commission AS (
    INSERT INTO cards_commission (tenant_id, operator_id, created_at, distributor_id, card_id,
                                  amount, at, entry_id)
    SELECT %(tenant)s, %(operator)s, %(now)s, %(seller)s, %(card)s, %(commission)s, %(now)s,
           NULL
     WHERE %(commission)s::numeric IS NOT NULL
    RETURNING 1
), audited AS (
    INSERT INTO core_auditevent (tenant_id, operator_id, actor_id, actor_label, verb,
                                 object_type, object_id, object_label, changes, ip,
                                 user_agent, at)
    VALUES (%(tenant)s, %(operator)s, %(actor_id)s, %(actor_label)s, 'card.redeemed',
            'cards.card', %(card)s::text, %(serial)s, %(changes)s::jsonb, %(ip)s,
            %(user_agent)s, %(now)s)
    RETURNING 1
), attempt AS (
    INSERT INTO cards_redemptionattempt (tenant_id, operator_id, created_at, customer_id,
                                         user_id, distributor_id, ip, outcome, card_id,
                                         detail, at)
    VALUES (%(tenant)s, %(customer_operator)s, %(now)s, %(customer)s, %(actor_id)s,
            %(distributor)s, %(attempt_ip)s, 'redeemed', %(card)s, '', %(now)s)
    RETURNING 1
)
SELECT (SELECT count(*) FROM linked), (SELECT count(*) FROM commission),
       (SELECT count(*) FROM audited), (SELECT count(*) FROM attempt)
"""


def _locked_by(tenant_id: int, customer_id: int, ip: str | None, distributor_id: int | None) -> str:
    """Which lock-out applies ("customer", "address", "distributor"), or ""."""
    since = clock.now() - dt.timedelta(seconds=settings.CARD_LOCKOUT_WINDOW_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(
            LOCKOUT_COUNTS,
            {
                "customer": customer_id,
                "tenant": tenant_id,
                "ip": ip,
                "distributor": distributor_id,
                "since": since,
            },
        )
        by_customer, by_ip, by_distributor = cursor.fetchone()
    if by_customer >= settings.CARD_LOCKOUT_CUSTOMER_ATTEMPTS:
        return "customer"
    if ip and by_ip >= settings.CARD_LOCKOUT_IP_ATTEMPTS:
        return "address"
    if distributor_id and by_distributor >= settings.CARD_LOCKOUT_DISTRIBUTOR_ATTEMPTS:
        return "distributor"
    return ""


def _attempt(
    customer: Customer,
    actor: Any,
    distributor_id: int | None,
    ip: str | None,
    outcome: str,
    card_id: int | None = None,
    detail: str = "",
) -> None:
    RedemptionAttempt.objects.create(
        tenant_id=customer.tenant_id,
        operator_id=customer.operator_id,
        customer_id=customer.pk,
        user_id=getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None,
        distributor_id=distributor_id,
        ip=ip,
        outcome=outcome,
        card_id=card_id,
        detail=detail[:200],
        at=clock.now(),
    )


def redeem_card(*, actor: Any, customer: Customer, pin: str, ip: str | None = None) -> Card:
    """Redeem a PIN for ``customer``: the card becomes used and its value is paid through
    the payment pipeline (method card, reference the serial), in one transaction.

    Refused with nothing redeemed: a wrong PIN (counted), a card used, expired, void or not
    issued yet, a package card for another package, a package card when the customer has
    no open bill and a period's price already in advance (no stacking), and everything while
    the customer, the address or the distributor is locked out (429). Every attempt is kept
    (``RedemptionAttempt``) and a redemption audited.

    Call it outside a transaction, as the panel and the API do: the record of a refused
    attempt commits on its own, and a caller's rollback would take it with it."""
    access = access_of(actor) if actor is not None else None
    if access is not None:
        if not access.can("cards.change"):
            raise NotAllowedError(_("You do not have permission to redeem cards."))
        if not Customer.objects.restrict(actor, "view").filter(pk=customer.pk).exists():
            raise NotAllowedError(_("You may not redeem cards for this customer."))
    distributor_id = access.user_id if access is not None and access.role == DISTRIBUTOR else None
    ip = ip or request_info().ip
    locked = _locked_by(customer.tenant_id, customer.pk, ip, distributor_id)
    if locked:
        with transaction.atomic():
            _attempt(
                customer, actor, distributor_id, ip, RedemptionAttempt.Outcome.LOCKED, None, locked
            )
            audit.record(
                actor,
                "card.redemption_locked",
                customer,
                changes={"locked_by": [None, locked], "ip": [None, ip]},
            )
        minutes = max(1, settings.CARD_LOCKOUT_WINDOW_SECONDS // 60)
        raise RedemptionLockedError(
            _(
                "Too many wrong PINs for this %(what)s: card redemption is locked; try again "
                "in up to %(minutes)s minutes."
            )
            % {"what": _lock_labels()[locked], "minutes": minutes}
        )
    normalized = normalize_pin(pin)
    try:
        if normalized is None:
            raise WrongPinError(
                _("A PIN has %(n)s letters and digits.") % {"n": PIN_LENGTH},
                fields={"pin": [_("Not a PIN.")]},
            )
        with transaction.atomic():
            card = _redeem(actor, customer, normalized, distributor_id, ip)
    except WrongPinError:
        with transaction.atomic():
            _attempt(customer, actor, distributor_id, ip, RedemptionAttempt.Outcome.WRONG_PIN)
        raise
    except DomainError as exc:
        with transaction.atomic():
            _attempt(
                customer,
                actor,
                distributor_id,
                ip,
                RedemptionAttempt.Outcome.REFUSED,
                getattr(exc, "card_id", None),
                exc.message,
            )
        raise
    return card


class CardRefusedError(ConflictError):
    """A real card that cannot be redeemed (used, expired, void, unissued, wrong package)."""

    def __init__(self, message: str, card: Card, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.card_id = card.pk


def _refusal(card: Card, now: dt.datetime) -> CardRefusedError:
    """Why a real card cannot be redeemed."""
    if card.state == Card.State.USED:
        message = _("Card %(serial)s was already used.") % {"serial": card.serial}
    elif card.state == Card.State.VOID:
        message = _("Card %(serial)s is void.") % {"serial": card.serial}
    elif card.state == Card.State.EXPIRED or card.expires_at <= now:
        message = _("Card %(serial)s has expired.") % {"serial": card.serial}
    else:
        message = _("Card %(serial)s has not been issued yet.") % {"serial": card.serial}
    return CardRefusedError(message, card, fields={"pin": [message]})


def _redeem(
    actor: Any, customer: Customer, pin: str, distributor_id: int | None, ip: str | None
) -> Card:
    now = clock.now()
    digest = pin_hash(pin)
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    with connection.cursor() as cursor:
        cursor.execute(
            REDEEM_SQL,
            {
                "now": now,
                "customer": customer.pk,
                "actor": getattr(actor_obj, "pk", None),
                "tenant": customer.tenant_id,
                "hash": digest,
                "operator": customer.operator_id,
            },
        )
        row = cursor.fetchone()
    if row is None:
        path = Operator.objects.filter(pk=customer.operator_id).values_list("path", flat=True).get()
        found = Card.objects.filter(
            tenant_id=customer.tenant_id,
            pin_hash=digest,
            operator_id__in=[int(part) for part in path.strip("/").split("/")],
        ).first()
        if found is None:
            raise WrongPinError(_("No card has this PIN."), fields={"pin": [_("Wrong PIN.")]})
        raise _refusal(found, now)
    pk, serial, package_id, value, seller_id, tenant_id, operator_id, on, percent = row
    card = Card(
        pk=pk,
        serial=serial,
        package_id=package_id,
        value=value,
        distributor_id=seller_id,
        tenant_id=tenant_id,
        operator_id=operator_id,
        state=Card.State.USED,
        customer_id=customer.pk,
        used_at=now,
    )
    if package_id is not None:
        # The stacking rule is read under the customer's row lock: two cards redeemed at once
        # for one customer queue here, and the second sees what the first paid. (A value
        # card has no rule: the payment statement takes the same lock.)
        locked = Customer.objects.select_for_update(of=("self",)).get(pk=customer.pk)
        _check_package_card(card, locked)
    payment = payments.receive_payment(
        actor=actor,
        customer=customer,
        amount=card.value,
        method=Payment.Method.CARD,
        reference=card.serial,
        note=_("Recharge card %(serial)s") % {"serial": card.serial},
    )
    commission = None
    if on == CardBatch.CommissionOn.USE and percent and seller_id:
        commission = to_money(value * percent / 100)
        transaction.on_commit(_kick_commissions, robust=True)
    request = request_info()
    with connection.cursor() as cursor:
        cursor.execute(
            REDEEMED_SQL,
            {
                "card": pk,
                "payment": payment.pk,
                "tenant": tenant_id,
                "operator": operator_id,
                "seller": seller_id,
                "commission": commission,
                "now": now,
                "actor_id": getattr(actor_obj, "pk", None),
                "actor_label": actor_obj.get_username() if actor_obj else "system",
                "serial": serial,
                "changes": json.dumps(
                    {
                        "state": ["issued", "used"],
                        "customer": [None, customer.username],
                        "payment": [None, payment.display_number],
                    }
                ),
                "ip": request.ip,
                "user_agent": request.user_agent[:300],
                "customer": customer.pk,
                "customer_operator": customer.operator_id,
                "distributor": distributor_id,
                "attempt_ip": ip,
            },
        )
    card.payment = payment
    return card


def _check_package_card(card: Card, customer: Customer) -> None:
    """A package card pays the customer's own package (or its master), one period at a time:
    refused when nothing is owed and a period's price already waits in advance."""
    package = Package.objects.filter(pk=card.package_id or 0).values_list("name", flat=True).first()
    own = Package.objects.filter(pk=customer.package_id or 0).values_list("pk", "parent_id").first()
    if own is None or card.package_id not in own:
        message = _(
            "Card %(serial)s is for the package %(package)s, not the customer's; change the "
            "customer's package first, or use a value card."
        ) % {"serial": card.serial, "package": package}
        raise CardRefusedError(message, card, fields={"pin": [message]})
    owes = Bill.objects.filter(
        customer_id=customer.pk, kind__in=payments.PAYABLE_KINDS, status__in=payments.OPEN
    ).exists()
    if not owes and customer.advance_balance >= card.value:
        message = _(
            "The customer already has %(advance)s in advance, a period of this package paid "
            "ahead: redeem this card when the next bill is issued."
        ) % {"advance": customer.advance_balance}
        raise CardRefusedError(message, card, fields={"pin": [message]})


# ---- commissions -----------------------------------------------------------------------------

COMMISSION_ON_SALE = """
INSERT INTO cards_commission (tenant_id, operator_id, created_at, distributor_id, card_id,
                              amount, at, entry_id)
SELECT tenant_id, operator_id, %(now)s, distributor_id, id,
       round(value * %(percent)s / 100, 2), %(now)s, NULL
  FROM cards_card
 WHERE batch_id = %(batch)s AND state = 'issued' AND distributor_id IS NOT NULL
    ON CONFLICT (card_id) DO NOTHING
"""


def _commission_on_sale(batch: CardBatch, now: dt.datetime) -> None:
    """A batch paying commission on sale owes it for every card issued to its distributor."""
    if batch.commission_on != CardBatch.CommissionOn.SALE or not batch.commission_percent:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            COMMISSION_ON_SALE,
            {"now": now, "percent": batch.commission_percent, "batch": batch.pk},
        )
    transaction.on_commit(_kick_commissions, robust=True)


def _kick_commissions() -> None:
    from ispbills.cards.tasks import kick_commission_poster

    kick_commission_poster()


@transaction.atomic
def post_commissions(limit: int = 1000) -> int:
    """Post unposted commissions to the ledger, one entry per operator and distributor a
    batch (Dr card commissions, Cr payable to the distributor), and link them; rows another
    poster holds are skipped. Returns how many commissions it posted."""
    rows = list(
        Commission.objects.select_for_update(skip_locked=True)
        .filter(entry__isnull=True)
        .order_by("pk")
        .values_list("pk", "tenant_id", "operator_id", "distributor_id", "amount")[:limit]
    )
    if not rows:
        return 0
    groups: dict[tuple[int, int, int], list[tuple[int, Decimal]]] = defaultdict(list)
    for pk, tenant_id, operator_id, distributor_id, amount in rows:
        groups[(tenant_id, operator_id, distributor_id)].append((pk, amount))
    operators = Operator.objects.in_bulk({key[1] for key in groups})
    users = User.objects.in_bulk({key[2] for key in groups})
    postings, members = [], []
    for (tenant_id, operator_id, distributor_id), items in groups.items():
        operator = operators[operator_id]
        total = sum((amount for _pk, amount in items), ZERO)
        ids = [pk for pk, _amount in items]
        members.append(ids)
        postings.append(
            ledger.Posting(
                tenant_id=tenant_id,
                operator_id=operator_id,
                memo=f"Card commissions · {users[distributor_id]} · {len(ids)} cards",
                source_type=COMMISSION,
                source_id=f"{ids[0]}-{ids[-1]}",
                purpose=f"to:{distributor_id}",
                lines=[
                    ledger.dr(ledger.account_for(operator, Account.Kind.COMMISSIONS), total),
                    ledger.cr(
                        ledger.account_for(
                            operator, Account.Kind.DISTRIBUTOR_PAYABLE, user=distributor_id
                        ),
                        total,
                    ),
                ],
            )
        )
    entries = ledger.post_many(postings)
    for entry, ids in zip(entries, members, strict=True):
        Commission.objects.filter(pk__in=ids).update(entry=entry)
    return len(rows)


# ---- distributor payments --------------------------------------------------------------------


@transaction.atomic
def record_distributor_payment(
    *,
    actor: Any,
    operator: Operator,
    distributor: Any,
    kind: str,
    amount: Any,
    reference: str,
    note: str = "",
) -> DistributorPayment:
    """Record money between the operator and a card distributor, posted to the ledger:
    a remittance for cards sold (Dr the operator's cash, Cr gateway clearing, where card
    payments are) or a commission payout (Dr payable to the distributor, Cr cash; refused
    beyond what the operator owes it)."""
    require(actor, "accounting.add", operator)
    distributor = _distributor_of(operator.tenant_id, distributor, operator)
    if kind not in DistributorPayment.Kind.values:
        raise DomainError(_("Unknown kind."), fields={"kind": [_("Unknown.")]})
    reference = (reference or "").strip()[:100]
    if not reference:
        raise DomainError(_("Give the reference."), fields={"reference": [_("Required.")]})
    amount = amount_given(amount)
    if DistributorPayment.objects.filter(
        tenant_id=operator.tenant_id, kind=kind, reference=reference
    ).exists():
        raise ConflictError(
            _("This reference was already recorded."),
            fields={"reference": [_("Already recorded.")]},
        )
    cash = ledger.account_for(operator, Account.Kind.CASH)
    if kind == DistributorPayment.Kind.PAYOUT:
        payable = ledger.account_for(
            operator, Account.Kind.DISTRIBUTOR_PAYABLE, user=distributor.pk
        )
        payable = Account.objects.select_for_update().get(pk=payable.pk)
        if amount > payable.balance:
            raise DomainError(
                _("%(operator)s owes %(user)s %(balance)s: it cannot pay %(amount)s.")
                % {
                    "operator": operator,
                    "user": distributor,
                    "balance": payable.balance,
                    "amount": amount,
                },
                fields={"amount": [_("More than is owed.")]},
            )
        lines = [ledger.dr(payable, amount), ledger.cr(cash, amount)]
    else:
        clearing = ledger.account_for(operator, Account.Kind.GATEWAY_CLEARING)
        lines = [ledger.dr(cash, amount), ledger.cr(clearing, amount)]
    entry = ledger.post(
        tenant_id=operator.tenant_id,
        operator_id=operator.pk,
        memo=f"{DistributorPayment.Kind(kind).label} · {distributor} · {reference}",
        source_type=DISTRIBUTOR_PAYMENT,
        source_id=reference,
        purpose=kind,
        lines=lines,
    )
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    payment = DistributorPayment.objects.create(
        tenant_id=operator.tenant_id,
        operator=operator,
        distributor=distributor,
        kind=kind,
        amount=amount,
        reference=reference,
        note=(note or "").strip()[:200],
        at=clock.now(),
        entry=entry,
        recorded_by=actor_obj,
    )
    audit.record(
        actor,
        f"distributor.{kind}",
        payment,
        changes={"amount": [None, str(amount)], "distributor": [None, distributor.get_username()]},
    )
    return payment


# ---- summaries -------------------------------------------------------------------------------


def yearly_summary(
    cards: Any, commissions: Any, distributor_payments: Any, zone: str
) -> list[dict[str, Any]]:
    """Per distributor and year (in the ISP's zone): cards issued and used, the face value
    used, commission earned, remitted and paid out. Takes querysets the caller restricted."""
    tz = zoneinfo.ZoneInfo(zone)
    table: dict[tuple[Any, int], dict[str, Any]] = {}

    def row(distributor: Any, year: int) -> dict[str, Any]:
        return table.setdefault(
            (distributor, year),
            {
                "distributor": distributor,
                "year": year,
                "issued": 0,
                "used": 0,
                "used_value": ZERO,
                "commission": ZERO,
                "remitted": ZERO,
                "paid_out": ZERO,
            },
        )

    for item in (
        cards.filter(distributor__isnull=False, issued_at__isnull=False)
        .annotate(year=ExtractYear("issued_at", tzinfo=tz))
        .values("distributor__username", "year")
        .annotate(n=Count("id"))
    ):
        row(item["distributor__username"], item["year"])["issued"] = item["n"]
    for item in (
        cards.filter(distributor__isnull=False, state=Card.State.USED)
        .annotate(year=ExtractYear("used_at", tzinfo=tz))
        .values("distributor__username", "year")
        .annotate(n=Count("id"), value=Sum("value"))
    ):
        entry = row(item["distributor__username"], item["year"])
        entry["used"], entry["used_value"] = item["n"], item["value"] or ZERO
    for item in (
        commissions.annotate(year=ExtractYear("at", tzinfo=tz))
        .values("distributor__username", "year")
        .annotate(total=Sum("amount"))
    ):
        row(item["distributor__username"], item["year"])["commission"] = item["total"]
    for item in (
        distributor_payments.annotate(year=ExtractYear("at", tzinfo=tz))
        .values("distributor__username", "year")
        .annotate(
            remitted=Sum("amount", filter=Q(kind=DistributorPayment.Kind.REMITTANCE)),
            paid=Sum("amount", filter=Q(kind=DistributorPayment.Kind.PAYOUT)),
        )
    ):
        entry = row(item["distributor__username"], item["year"])
        entry["remitted"] = item["remitted"] or ZERO
        entry["paid_out"] = item["paid"] or ZERO
    return sorted(table.values(), key=lambda r: (-r["year"], r["distributor"]))


def usage_report(cards: Any) -> list[dict[str, Any]]:
    """Cards by batch and distributor, counted per state (a queryset the caller restricted)."""
    rows = (
        cards.values("batch_id", "batch__name", "distributor__username")
        .annotate(
            total=Count("id"),
            unissued=Count("id", filter=Q(state=Card.State.UNISSUED)),
            issued=Count("id", filter=Q(state=Card.State.ISSUED)),
            used=Count("id", filter=Q(state=Card.State.USED)),
            expired=Count("id", filter=Q(state=Card.State.EXPIRED)),
            void=Count("id", filter=Q(state=Card.State.VOID)),
        )
        .order_by("-batch_id", "distributor__username")
    )
    return list(rows)
