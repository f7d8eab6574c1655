"""The double-entry ledger: each operator's accounts, and journal entries whose lines balance.

An entry is never changed or deleted (the database refuses it): a correction is a reversing
entry. Each line keeps its account's balance after it (``balance_after``), written under the
account's row lock, so a ledger page of any account reads its running balance off the rows.
``Account.balance`` is the cached sum of the account's lines, changed in the same transaction.

Sign rule: an account's balance is positive on its normal side. Asset and expense accounts
(cash, bank, gateway clearing, receivables, gateway fees, expenses) are debit-normal:
balance = debits - credits. Liability and revenue accounts (customer advances, VAT payable,
payable to operators, revenue) are credit-normal: balance = credits - debits.
"""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ispbills.core.models import TenantOwned
from ispbills.core.money import money_field


class Account(TenantOwned):
    """One account of an operator's chart; cash accounts may belong to one collector."""

    access_area = "accounting"

    class Kind(models.TextChoices):
        CASH = "cash", _("Cash")
        BANK = "bank", _("Bank")
        GATEWAY_CLEARING = "gateway_clearing", _("Gateway clearing")
        RECEIVABLE = "receivable", _("Customer receivables")
        OPERATOR_RECEIVABLE = "operator_receivable", _("Receivable from operators")
        GATEWAY_FEES = "gateway_fees", _("Gateway fees")
        EXPENSES = "expenses", _("Expenses")
        ADVANCES = "advances", _("Customer advances")
        VAT_PAYABLE = "vat_payable", _("VAT payable")
        OPERATOR_PAYABLE = "operator_payable", _("Payable to operators")
        REVENUE = "revenue", _("Revenue")
        WHOLESALE = "wholesale", _("Wholesale cost")
        COMMISSIONS = "commissions", _("Card commissions")
        DISTRIBUTOR_PAYABLE = "distributor_payable", _("Payable to card distributors")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("held by"),
        help_text=_("The collector holding this cash, or the card distributor owed"),
    )
    # An operator's account with another operator of its tree (what a reseller owes its
    # parent, what the parent is owed by that reseller): one per pair.
    counterparty = models.ForeignKey(
        "tenancy.Operator",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("with operator"),
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    balance = money_field(verbose_name=_("balance"), editable=False)

    class Meta:
        ordering = ["operator_id", "kind", "id"]
        constraints = [
            # One account per kind of an operator (per collector for cash, per other operator
            # for the operator accounts); NULLs are equal here, so the operator's own cash
            # account is unique too.
            models.UniqueConstraint(
                fields=["operator", "kind", "user", "counterparty"],
                name="account_per_kind",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        if self.name:
            return self.name
        label = str(self.get_kind_display())
        if self.user_id:
            return f"{label} · {self.user}"
        return f"{label} · {self.counterparty}" if self.counterparty_id else label

    @property
    def debit_normal(self) -> bool:
        return self.kind in DEBIT_NORMAL

    def signed(self, debit: Decimal, credit: Decimal) -> Decimal:
        """What a line of ``debit``/``credit`` adds to this account's balance."""
        return debit - credit if self.debit_normal else credit - debit

    def get_absolute_url(self) -> str:
        return reverse("accounting:account_detail", args=[self.pk])

    def ledger(self) -> "models.QuerySet[JournalLine]":
        """The account's lines newest first, each with its entry and the balance after it."""
        return self.lines.select_related("entry").order_by("-id")


DEBIT_NORMAL = frozenset(
    {
        Account.Kind.CASH,
        Account.Kind.BANK,
        Account.Kind.GATEWAY_CLEARING,
        Account.Kind.RECEIVABLE,
        Account.Kind.OPERATOR_RECEIVABLE,
        Account.Kind.GATEWAY_FEES,
        Account.Kind.EXPENSES,
        Account.Kind.WHOLESALE,
        Account.Kind.COMMISSIONS,
    }
)


class JournalEntry(TenantOwned):
    """A posting: lines whose debits equal their credits, posted once per source and purpose."""

    access_area = "accounting"

    # The journal is the biggest table of the app after its lines: the source key leads with
    # the tenant and serves its lookups, so the tenant needs no index of its own.
    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    updated_at = None  # type: ignore[assignment]  # never updated
    at = models.DateTimeField(_("when"))
    day = models.DateField(_("day"), help_text=_("The date in the ISP's time zone"))
    memo = models.CharField(_("memo"), max_length=200)
    # What the entry records ("payments.payment", "12", "received"): posting the same source
    # and purpose again returns this entry.
    source_type = models.CharField(_("source"), max_length=40)
    source_id = models.CharField(_("source id"), max_length=100)
    purpose = models.CharField(_("purpose"), max_length=20)
    amount = money_field(verbose_name=_("amount"), help_text=_("The sum of the debits"))
    reverses = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversal",
        verbose_name=_("reverses"),
    )

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = _("journal entries")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "source_type", "source_id", "purpose"], name="journal_source"
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="journal_amount"),
        ]
        indexes = [models.Index(fields=["tenant", "-day"], name="journal_day")]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        return f"JE-{self.pk:06d}"

    def get_absolute_url(self) -> str:
        return reverse("accounting:journalentry_detail", args=[self.pk])


def with_lines(entries: Any) -> Any:
    """Entries with their lines in order, each line with its account and the account's
    collector (what naming an account reads)."""
    lines: Any = JournalLine.objects.select_related(
        "account__user", "account__counterparty"
    ).order_by("id")
    return entries.prefetch_related(models.Prefetch("lines", queryset=lines))


class JournalLine(models.Model):
    """One debit or one credit of an entry, with its account's balance after it."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="lines", db_index=False
    )
    debit = money_field(verbose_name=_("debit"))
    credit = money_field(verbose_name=_("credit"))
    balance_after = money_field(verbose_name=_("balance after"))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(debit__gt=0, credit=0) | models.Q(debit=0, credit__gt=0),
                name="journal_line_one_side",
            )
        ]
        # An account's ledger, newest first, a page at a time.
        indexes = [models.Index(fields=["account", "id"], name="journal_line_account")]

    def __str__(self) -> str:
        return f"{self.entry_id}: {self.account_id} Dr {self.debit} Cr {self.credit}"


class TransferRequest(TenantOwned):
    """Money moved only when someone above approves it: a collector handing cash over to its
    operator, or a reseller reporting funds it paid its parent. Approval posts the entry."""

    access_area = "accounting"

    class Kind(models.TextChoices):
        HANDOVER = "handover", _("Cash handover")
        FUNDS = "funds", _("Funds paid to the parent")

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    amount = money_field(verbose_name=_("amount"))
    # A handover: the collector's cash account it empties. Funds: how the parent got them.
    source = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("from"),
    )
    method = models.CharField(_("paid in"), max_length=10, blank=True)
    reference = models.CharField(_("reference"), max_length=80)
    note = models.CharField(_("note"), max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.CharField(_("why"), max_length=200, blank=True)
    entry = models.ForeignKey(
        JournalEntry,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("entry"),
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "reference"], name="transfer_request_reference"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="transfer_request_amount"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status"], name="transfer_request_status")]

    def __str__(self) -> str:
        return f"TR-{self.pk:06d}"

    def get_absolute_url(self) -> str:
        return reverse("accounting:transferrequest_detail", args=[self.pk])


class PendingPosting(models.Model):
    """An entry owed to the ledger (the outbox): written in the transaction of what it
    records, deleted in the transaction that posts it."""

    # The key of the entry to post (JournalEntry's source key): "payments.payment", "12",
    # "received". The unique key leads with the tenant, so the tenant needs no index; and no
    # constraint either: every payment would check (and share-lock) its ISP's row once more.
    tenant = models.ForeignKey(
        "tenancy.Tenant",
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    source_type = models.CharField(max_length=40)
    source_id = models.CharField(max_length=100)
    purpose = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "source_type", "source_id", "purpose"], name="pending_source"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_type} {self.source_id} {self.purpose}"
