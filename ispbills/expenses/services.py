"""The only writers of expense categories, expenses and their attachments.

Recording an expense posts one journal entry through ``accounting.services.post()``: Dr the
operator's expenses account, Cr the account that paid (the operator's cash, the cash the
actor holds as a collector, or the operator's bank), keyed ``expenses.expense``/id/"recorded".
Cash may go negative in the ledger: only invalid input is refused. Voiding posts the reversing
entry (purpose "voided") once; a second void is refused with nothing written.
"""

import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import TextChoices
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ispbills.accounting.models import Account, JournalEntry
from ispbills.accounting.services import account_for, cr, dr, post, reverse_entry
from ispbills.core import audit, clock
from ispbills.core.access import require
from ispbills.core.errors import ConflictError, DomainError
from ispbills.core.money import amount_given
from ispbills.expenses.models import Expense, ExpenseAttachment, ExpenseCategory
from ispbills.tenancy.models import Operator

EXPENSE = "expenses.expense"

ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
ATTACHMENTS_MAX = 5
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
PDF = "application/pdf"


class PaidFrom(TextChoices):
    """Which of the operator's accounts paid: each names exactly one account."""

    CASH = "cash", gettext_lazy("The operator's cash")
    MY_CASH = "my_cash", gettext_lazy("Cash I hold (as a collector)")
    BANK = "bank", gettext_lazy("The operator's bank account")


@dataclass(frozen=True)
class Upload:
    """A file given with an expense: its name as uploaded and its bytes."""

    name: str
    data: bytes


# ---- categories -----------------------------------------------------------------------------

CATEGORY_FIELDS = {"name", "parent", "is_active"}


@transaction.atomic
def save_category(
    *, actor: Any, operator: Operator, category: ExpenseCategory | None = None, **values: Any
) -> ExpenseCategory:
    """Create or change a category: a name unique per operator (whatever its case), an
    optional parent (a top-level category of the operator or one above it), active or not."""
    require(actor, "expenses.change" if category else "expenses.add", operator)
    unknown = set(values) - CATEGORY_FIELDS
    if unknown:
        raise DomainError(_("These fields cannot be set: %s") % ", ".join(sorted(unknown)))
    item = category or ExpenseCategory(tenant_id=operator.tenant_id, operator=operator)
    if "name" in values or category is None:
        values["name"] = _unique_name(operator, values.get("name", ""), category)
    if "parent" in values:
        _check_parent(item, operator, values["parent"])
    if "is_active" in values:
        values["is_active"] = bool(values["is_active"])
    before = {key: getattr(item, key) for key in values} if category else {}
    for key, value in values.items():
        setattr(item, key, value)
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError:  # the same name saved at the same moment
        problem = _("%(name)s already exists for this operator.") % {"name": item.name}
        raise ConflictError(problem, fields={"name": [problem]}) from None
    changes = audit.diff(before, {key: getattr(item, key) for key in values})
    if category is None:
        audit.record(actor, "expense_category.created", item, changes=changes)
    elif changes:
        audit.record(actor, "expense_category.updated", item, changes=changes)
    return item


def _unique_name(operator: Operator, name: str, exclude: ExpenseCategory | None) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the category a name."), fields={"name": [_("Required.")]})
    if len(name) > 100:
        raise DomainError(_("The name is too long."), fields={"name": [_("At most 100.")]})
    clash = ExpenseCategory.objects.filter(
        tenant_id=operator.tenant_id, operator=operator, name__iexact=name
    )
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        problem = _("%(name)s already exists for this operator.") % {"name": name}
        raise ConflictError(problem, fields={"name": [problem]})
    return name


def _check_parent(item: ExpenseCategory, operator: Operator, parent: Any) -> None:
    """A parent is a top-level category of the operator or an operator above it; a category
    with subcategories stays at the top."""
    if parent is None:
        return
    problem = None
    if not isinstance(parent, ExpenseCategory) or parent.operator_id not in set(
        operator.ancestor_ids()
    ):
        problem = _("Choose a category of this operator or of one above it.")
    elif parent.parent_id is not None:
        problem = _("Subcategories go one level deep: choose a top-level category.")
    elif item.pk is not None and (parent.pk == item.pk or item.children.exists()):
        problem = _("A category with subcategories cannot become a subcategory.")
    if problem:
        raise DomainError(problem, fields={"parent": [problem]})


# ---- expenses -------------------------------------------------------------------------------


@transaction.atomic
def record_expense(
    *,
    actor: Any,
    operator: Operator,
    category: ExpenseCategory,
    amount: Any,
    paid_from: str,
    payee: str,
    spent_on: dt.date | None = None,
    reference: str = "",
    note: str = "",
    attachments: Iterable[Upload] = (),
) -> Expense:
    """Record what the operator spent and post it (see the module docstring); refuses, with
    nothing written, a bad amount, a date ahead of the ISP's today, a category the operator
    may not use, an unknown paying account, or an attachment that is not a PDF, PNG or JPEG
    of at most 5 MB (at most 5 of them)."""
    require(actor, "expenses.add", operator)
    amount = amount_given(amount)
    zone = operator.tenant.timezone
    today = clock.local_today(zone)
    spent_on = spent_on or today
    if spent_on > today:
        raise DomainError(
            _("The date spent cannot be after today."), fields={"spent_on": [_("In the future.")]}
        )
    _check_category(category, operator)
    payee = (payee or "").strip()
    if not payee:
        raise DomainError(_("Say who was paid."), fields={"payee": [_("Required.")]})
    files = [(upload, content_type(upload)) for upload in attachments]
    if len(files) > ATTACHMENTS_MAX:
        problem = _("Attach at most %(count)d files.") % {"count": ATTACHMENTS_MAX}
        raise DomainError(problem, fields={"attachments": [problem]})
    account = _paying_account(actor, operator, paid_from)
    expense = Expense.objects.create(
        tenant_id=operator.tenant_id,
        operator=operator,
        category=category,
        amount=amount,
        spent_on=spent_on,
        account=account,
        payee=payee[:150],
        reference=(reference or "").strip()[:100],
        note=(note or "").strip()[:500],
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    expense.entry = post(
        tenant_id=operator.tenant_id,
        operator_id=operator.pk,
        memo=f"{expense.display_number} · {category.label} · {expense.payee}",
        source_type=EXPENSE,
        source_id=expense.pk,
        purpose="recorded",
        at=clock.now() if spent_on == today else _noon(spent_on, zone),
        lines=[dr(account_for(operator, Account.Kind.EXPENSES), amount), cr(account, amount)],
    )
    expense.save(update_fields=["entry"])
    ExpenseAttachment.objects.bulk_create(
        [
            ExpenseAttachment(
                tenant_id=operator.tenant_id,
                operator=operator,
                expense=expense,
                name=_file_name(upload.name),
                content_type=kind,
                size=len(upload.data),
                data=upload.data,
            )
            for upload, kind in files
        ]
    )
    audit.record(
        actor,
        "expense.recorded",
        expense,
        changes={
            "amount": [None, amount],
            "category": [None, category.label],
            "paid_from": [None, str(account)],
            "payee": [None, expense.payee],
            "spent_on": [None, spent_on],
            "attachments": [None, [_file_name(upload.name) for upload, _kind in files]],
        },
    )
    return expense


EDITABLE = {"payee", "note", "category"}


@transaction.atomic
def update_expense(*, actor: Any, expense: Expense, **values: Any) -> Expense:
    """Correct an expense's payee, note or category; its amount, date and account are posted
    and never change (void it and record it again instead)."""
    operator = Operator.objects.select_related("tenant").get(pk=expense.operator_id)
    require(actor, "expenses.change", operator)
    unknown = set(values) - EDITABLE
    if unknown:
        raise DomainError(
            _(
                "Only the payee, note and category of an expense can change: void it and record "
                "it again to change the rest."
            ),
            fields={name: [_("Cannot change.")] for name in sorted(unknown)},
        )
    expense = Expense.objects.select_for_update().get(pk=expense.pk)
    if expense.is_void:
        raise ConflictError(_("A void expense is kept as it was."))
    if "payee" in values:
        values["payee"] = (values["payee"] or "").strip()[:150]
        if not values["payee"]:
            raise DomainError(_("Say who was paid."), fields={"payee": [_("Required.")]})
    if "note" in values:
        values["note"] = (values["note"] or "").strip()[:500]
    if "category" in values and values["category"].pk != expense.category_id:
        _check_category(values["category"], operator)
    before = {key: getattr(expense, key) for key in values}
    for key, value in values.items():
        setattr(expense, key, value)
    changes = audit.diff(before, {key: getattr(expense, key) for key in values})
    if changes:
        expense.save(update_fields=[*values, "updated_at"])
        audit.record(actor, "expense.updated", expense, changes=changes)
    return expense


@transaction.atomic
def void_expense(*, actor: Any, expense: Expense, reason: str) -> Expense:
    """Void an expense: post the reversing entry of its entry and keep the reason; an
    expense is voided once."""
    operator = Operator.objects.get(pk=expense.operator_id)
    require(actor, "expenses.change", operator)
    reason = (reason or "").strip()[:200]
    if not reason:
        raise DomainError(_("Say why it is voided."), fields={"reason": [_("Required.")]})
    expense = Expense.objects.select_for_update().get(pk=expense.pk)
    if expense.is_void:
        raise ConflictError(_("%(expense)s is already void.") % {"expense": expense.display_number})
    entry = JournalEntry.objects.prefetch_related("lines").get(pk=expense.entry_id)
    expense.void_entry = reverse_entry(
        entry,
        memo=f"{expense.display_number} voided: {reason}",
        source_type=EXPENSE,
        source_id=expense.pk,
        purpose="voided",
    )
    expense.status = Expense.Status.VOID
    expense.void_reason = reason
    expense.voided_at = clock.now()
    expense.voided_by = actor if getattr(actor, "is_authenticated", False) else None
    expense.save(
        update_fields=[
            "void_entry",
            "status",
            "void_reason",
            "voided_at",
            "voided_by",
            "updated_at",
        ]
    )
    audit.record(
        actor,
        "expense.voided",
        expense,
        changes={
            "status": [Expense.Status.RECORDED, Expense.Status.VOID],
            "reason": [None, reason],
        },
    )
    return expense


def _check_category(category: Any, operator: Operator) -> None:
    """The category is active (and so is its parent) and is the operator's or an ancestor's."""
    if (
        not isinstance(category, ExpenseCategory)
        or category.tenant_id != operator.tenant_id
        or category.operator_id not in set(operator.ancestor_ids())
    ):
        problem = _("Choose a category of this operator or of one above it.")
    elif not category.is_active or (category.parent is not None and not category.parent.is_active):
        problem = _("This category is no longer in use.")
    else:
        return
    raise DomainError(problem, fields={"category": [problem]})


def _paying_account(actor: Any, operator: Operator, paid_from: str) -> Account:
    if paid_from == PaidFrom.CASH:
        return account_for(operator, Account.Kind.CASH)
    if paid_from == PaidFrom.BANK:
        return account_for(operator, Account.Kind.BANK)
    if paid_from == PaidFrom.MY_CASH and getattr(actor, "is_authenticated", False):
        return account_for(operator, Account.Kind.CASH, actor)
    raise DomainError(
        _("Choose the account that paid: the operator's cash, your own cash or the bank."),
        fields={"paid_from": [_("Choose one.")]},
    )


def _noon(day: dt.date, zone: str) -> dt.datetime:
    """Midday of a past date in the ISP's zone: the entry's day is that date."""
    return dt.datetime.combine(day, dt.time(12), tzinfo=clock.zone(zone))


# ---- attachments ----------------------------------------------------------------------------


def content_type(upload: Upload) -> str:
    """The type of an attachment read from its bytes (PDF, PNG or JPEG); anything else, or a
    file over 5 MB, is refused."""
    name = _file_name(upload.name)
    if len(upload.data) > ATTACHMENT_MAX_BYTES:
        problem = _("%(name)s is larger than 5 MB.") % {"name": name}
        raise DomainError(problem, fields={"attachments": [problem]})
    if upload.data.startswith(b"%PDF-") and b"%%EOF" in upload.data[-2048:]:
        return PDF
    kind = _image_kind(upload.data)
    if kind is None:
        problem = _("%(name)s is not a PDF, PNG or JPEG file.") % {"name": name}
        raise DomainError(problem, fields={"attachments": [problem]})
    return kind


def _image_kind(data: bytes) -> str | None:
    from PIL import Image, UnidentifiedImageError

    if not (data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")):
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return IMAGE_TYPES.get(kind or "")


def _file_name(name: str) -> str:
    """The uploaded name without any path, printable, at most 200 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"').strip()
    return (base or "attachment")[-200:]
