"""Bills, their per-ISP gapless numbers, billing runs and advance debits.

A bill covers one period of one customer's service. Amounts are NUMERIC(14,2); the lines
(package, discount, VAT) are kept as data on the bill and named in the reader's language
when shown. A bill is never deleted: voiding it writes a reversal bill that cancels it.
"""

from typing import Any

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ispbills.core.models import TenantOwned
from ispbills.core.money import money_field
from ispbills.customers.models import ManagedThroughCustomer


class InvoiceCounter(models.Model):
    """The last invoice number an ISP issued; locked by every writer of bills, so numbers
    come without gaps in the order bills are committed."""

    tenant = models.OneToOneField(
        "tenancy.Tenant", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    last_number = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.last_number}"


class BillingRun(TenantOwned):
    """One billing run of an ISP for a date of its calendar, with what it did and skipped."""

    access_area = "billing"

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    run_date = models.DateField(_("billing date"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    job_run = models.ForeignKey(
        "core.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # billed, totals, skipped (reason -> count), batches done
    summary = models.JSONField(_("summary"), default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["tenant", "-run_date"], name="billing_run_date")]

    def __str__(self) -> str:
        return f"{self.run_date} ({self.get_status_display()})"

    @classmethod
    def scope_rows(cls, queryset: Any, access: Any, action: str) -> Any:
        # A run's totals are the whole ISP's; a manager reaches only assigned customers' bills.
        return queryset.none() if access.role == "manager" else queryset


class Bill(ManagedThroughCustomer, TenantOwned):
    """A customer's bill for one period, or the reversal that voids one."""

    access_area = "billing"

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        REVERSAL = "reversal", _("Reversal")
        ADJUSTMENT = "adjustment", _("Package change adjustment")

    class Status(models.TextChoices):
        UNPAID = "unpaid", _("Unpaid")
        PARTIALLY_PAID = "partially_paid", _("Partially paid")
        PAID = "paid", _("Paid")
        VOID = "void", _("Void")

    # Bills are the biggest table a run writes, so each costs four B-tree entries: the key,
    # bill_number (the tenant's lists), bill_once_per_period (also a customer's bills) and
    # bill_status_due; the run's bills are found through a BRIN index (runs come in order).
    # No reference is checked by the database on insert: the services alone write them (a
    # bill from a customer row it read, a reversal from the bill it locked) and Django
    # guards them on delete (PROTECT / SET_NULL). docs/adr/0008-billing-run-two-lanes.md.
    tenant = models.ForeignKey(
        "tenancy.Tenant",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    operator = models.ForeignKey(
        "tenancy.Operator",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    number = models.BigIntegerField(_("number"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.INVOICE)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="bills",
        db_index=False,
        db_constraint=False,
    )
    reverses = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversals",
        db_index=False,
        db_constraint=False,
    )
    run = models.ForeignKey(
        BillingRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bills",
        db_index=False,
        db_constraint=False,
    )
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"), help_text=_("The last day of the period"))
    issued_on = models.DateField(_("issued"))
    due_on = models.DateField(_("due"))
    package = models.ForeignKey(
        "catalog.Package",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    description = models.CharField(_("description"), max_length=200)
    # [{"kind": "package"|"discount"|"vat", "amount": "800.00", ...}]
    lines = models.JSONField(_("lines"), default=list)
    subtotal = money_field(verbose_name=_("subtotal"))
    discount = money_field(verbose_name=_("discount"))
    vat = money_field(verbose_name=_("VAT"))
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=5, decimal_places=2, default=0)
    vat_inclusive = models.BooleanField(_("VAT included"), default=False)
    total = money_field(verbose_name=_("total"))
    advance_applied = money_field(verbose_name=_("paid from advance"))
    paid_amount = money_field(verbose_name=_("paid"))
    status = models.CharField(
        _("status"), max_length=14, choices=Status.choices, default=Status.UNPAID
    )
    voided_at = models.DateTimeField(_("voided"), null=True, blank=True)
    void_reason = models.CharField(_("void reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="bill_number"),
            # A customer is billed at most once per period (a voided bill frees the period):
            # the live invoice of a period has NULL as third key (NULLs equal here), every
            # other bill its own id. Over all bills, it also finds a customer's bills.
            models.UniqueConstraint(
                "customer",
                "period_start",
                models.Case(
                    models.When(
                        models.Q(kind="invoice") & ~models.Q(status="void"),
                        then=models.Value(None, output_field=models.BigIntegerField()),
                    ),
                    default=models.F("id"),
                    output_field=models.BigIntegerField(),
                ),
                name="bill_once_per_period",
                nulls_distinct=False,
            ),
            # A bill is reversed at most once.
            models.UniqueConstraint(
                fields=["reverses"],
                condition=models.Q(reverses__isnull=False),
                name="bill_reversed_once",
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="bill_period_order",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="invoice")
                | (
                    models.Q(total__gte=0, paid_amount__gte=0)
                    & models.Q(paid_amount__lte=models.F("total"))
                ),
                name="bill_paid_within_total",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "due_on"], name="bill_status_due"),
            BrinIndex(fields=["run"], name="bill_run"),
        ]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        return f"{BILL_PREFIXES[self.kind]}-{self.number:06d}"

    @property
    def reversal(self) -> "Bill | None":
        """The reversal that voided this bill, if any (prefetch ``reversals`` for lists)."""
        return next(iter(self.reversals.all()), None)

    @property
    def payable(self) -> Any:
        """What is left to pay (nothing on a credit)."""
        return max(self.total - self.paid_amount, 0)

    def get_absolute_url(self) -> str:
        return reverse("billing:bill_detail", args=[self.pk])


BILL_PREFIXES: dict[str, str] = {
    Bill.Kind.INVOICE: "INV",
    Bill.Kind.REVERSAL: "CR",
    Bill.Kind.ADJUSTMENT: "ADJ",
}


class BillingSettings(TenantOwned):
    """One per ISP (owned by its root operator): how its billing treats package changes."""

    access_area = "billing"
    scope_shared_down = True

    prorate_package_change = models.BooleanField(
        _("prorate package changes"),
        default=True,
        help_text=_(
            "When a billed customer changes package mid-period, credit the unused days of the "
            "old package and charge the days left at the new one, on an adjustment bill."
        ),
    )

    class Meta:
        verbose_name = _("billing settings")
        verbose_name_plural = _("billing settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="billing_settings_tenant")]

    def __str__(self) -> str:
        return str(_("Billing settings"))

    def get_absolute_url(self) -> str:
        return reverse("billing:settings")


class AdvanceDebit(models.Model):
    """Advance balance a bill consumed when it was issued (or, negative, gave back when it
    was voided): one row each, for the ledger to post (customer advance ↔ receivable)."""

    # Written with its bill, in the same statement: not checked again by the database.
    bill = models.ForeignKey(
        Bill, on_delete=models.PROTECT, related_name="advance_debits", db_constraint=False
    )
    customer_id = models.BigIntegerField()
    amount = money_field(verbose_name=_("amount"))
    at = models.DateTimeField(auto_now_add=True)
    posted = models.BooleanField(default=False, help_text="Recorded in the ledger")

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="advance_debit_not_zero")
        ]

    def __str__(self) -> str:
        return f"{self.bill_id}: {self.amount}"


class Reminder(ManagedThroughCustomer, TenantOwned):
    """A due-date reminder or expiry warning computed by the daily job, once per customer,
    kind and date; its domain event is what the notifications deliver."""

    access_area = "billing"

    class Kind(models.TextChoices):
        DUE_SOON = "due_soon", _("Bill due soon")
        EXPIRING = "expiring", _("Validity ending")

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="reminders"
    )
    bill = models.ForeignKey(
        Bill, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    for_date = models.DateField(_("for"), help_text=_("The due date or the expiry date"))

    class Meta:
        ordering = ["-for_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "kind", "for_date"], name="reminder_once")
        ]
        indexes = [models.Index(fields=["tenant", "-for_date"], name="reminder_date")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.for_date} · {self.customer}"
