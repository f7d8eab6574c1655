"""Expense categories, expenses and their attachments (receipts, bills, invoices).

An expense is posted once to the ledger (Dr the operator's expenses, Cr the account that paid)
and never changed in money terms afterwards: voiding it posts the reversing entry. Its payee,
note and category may be corrected.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ispbills.core.models import TenantOwned
from ispbills.core.money import money_field


class ExpenseCategory(TenantOwned):
    """What money is spent on (Salaries, Bandwidth…), with one level of subcategories;
    an operator's categories serve the operators below it too."""

    access_area = "expenses"
    scope_shared_down = True

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("subcategory of"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("expense category")
        verbose_name_plural = _("expense categories")
        constraints = [
            models.UniqueConstraint(
                "tenant", "operator", Lower("name"), name="expense_category_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """The name with its parent's ("Fibre / Repairs")."""
        return f"{self.parent} / {self.name}" if self.parent_id else self.name

    def get_absolute_url(self) -> str:
        return reverse("expenses:expensecategory_detail", args=[self.pk])


class Expense(TenantOwned):
    """Money an operator spent, paid from one of its cash or bank accounts."""

    access_area = "expenses"

    class Status(models.TextChoices):
        RECORDED = "recorded", _("Recorded")
        VOID = "void", _("Void")

    category = models.ForeignKey(
        ExpenseCategory,
        on_delete=models.PROTECT,
        related_name="expenses",
        verbose_name=_("category"),
    )
    amount = money_field(verbose_name=_("amount"))
    spent_on = models.DateField(_("date spent"), help_text=_("The date in the ISP's time zone"))
    account = models.ForeignKey(
        "accounting.Account",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("paid from"),
    )
    payee = models.CharField(_("payee"), max_length=150)
    reference = models.CharField(
        _("reference"),
        max_length=100,
        blank=True,
        help_text=_("Invoice, voucher or bank transaction number"),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RECORDED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    entry = models.OneToOneField(
        "accounting.JournalEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("journal entry"),
    )
    void_entry = models.OneToOneField(
        "accounting.JournalEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("reversing entry"),
    )
    void_reason = models.CharField(_("reason for voiding"), max_length=200, blank=True)
    voided_at = models.DateTimeField(_("voided"), null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("voided by"),
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="expense_amount"),
        ]
        indexes = [models.Index(fields=["tenant", "-spent_on"], name="expense_spent_on")]

    def __str__(self) -> str:
        return f"{self.display_number} · {self.payee}"

    @property
    def display_number(self) -> str:
        """The voucher number: the row id, increasing, never reused."""
        return f"EX-{self.pk:06d}"

    @property
    def is_void(self) -> bool:
        return self.status == self.Status.VOID

    def get_absolute_url(self) -> str:
        return reverse("expenses:expense_detail", args=[self.pk])


class ExpenseAttachment(TenantOwned):
    """A receipt or invoice of an expense (PDF, PNG or JPEG, checked on upload), kept in the
    database with the expense; lists defer its bytes."""

    access_area = "expenses"

    updated_at = None  # type: ignore[assignment]  # never changed
    expense = models.ForeignKey(
        Expense, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("expense")
    )
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=40)
    size = models.PositiveIntegerField(_("size (bytes)"))
    data = models.BinaryField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("expenses:attachment_download", args=[self.pk])
