"""Payments received from customers, what each one paid, and their receipt numbers.

Receipt numbers are the row ids (``MR-000123``): unique and increasing without a lock every
payment of an ISP would queue on. A payment is recorded once (a unique reference per ISP and
method is its idempotency key), never changed and never deleted: a correction is a
*reversal* payment (negative amounts, pointing at the original) and, for an edit, a new
payment. What a payment did is kept on it (the bills it cleared, the advance it left, the
expiry and status it changed) so a reversal can restore exactly that.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ispbills.core.models import TenantOwned
from ispbills.core.money import money_field
from ispbills.customers.models import ManagedThroughCustomer


class Payment(ManagedThroughCustomer, TenantOwned):
    """Money received for a customer (or, negative, the reversal of such a payment)."""

    access_area = "payments"

    class Kind(models.TextChoices):
        PAYMENT = "payment", _("Payment")
        REVERSAL = "reversal", _("Reversal")

    class Method(models.TextChoices):
        CASH = "cash", _("Cash")
        ONLINE = "online", _("Online gateway")
        CARD = "card", _("Recharge card")
        TRANSFER = "transfer", _("Bank or mobile transfer")

    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied")
        REVERSED = "reversed", _("Reversed")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.PAYMENT)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="payments"
    )
    method = models.CharField(_("method"), max_length=8, choices=Method.choices)
    reference = models.CharField(
        _("reference"),
        max_length=100,
        help_text=_("Receipt book number, gateway transaction id or card serial: unique."),
    )
    gateway = models.CharField(_("gateway"), max_length=30, blank=True)
    amount = money_field(verbose_name=_("amount received"))
    charge = money_field(verbose_name=_("service charge"))
    to_bills = money_field(verbose_name=_("paid on bills"))
    to_advance = money_field(verbose_name=_("added to advance"))
    received_at = models.DateTimeField(_("received"))
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("collected by"),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.APPLIED
    )
    reverses = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversal",
        verbose_name=_("reverses"),
    )
    # What the payment changed on the customer, for an exact reversal.
    expiry_before = models.DateTimeField(null=True, blank=True)
    expiry_after = models.DateTimeField(null=True, blank=True)
    reactivated = models.BooleanField(_("reactivated the customer"), default=False)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # The idempotency key: one payment per reference and method in an ISP.
            models.UniqueConstraint(
                fields=["tenant", "method", "reference"], name="payment_reference"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="payment")
                | models.Q(amount__gt=0, charge__gte=0, charge__lt=models.F("amount")),
                name="payment_amounts",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    amount=models.F("charge") + models.F("to_bills") + models.F("to_advance")
                ),
                name="payment_fully_applied",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-received_at"], name="payment_customer"),
            models.Index(fields=["tenant", "-received_at"], name="payment_received"),
        ]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        """The money-receipt number (a reversal's: RV-…); increasing, never reused."""
        return f"{'MR' if self.kind == self.Kind.PAYMENT else 'RV'}-{self.pk:06d}"

    @property
    def net(self) -> Any:
        return self.amount - self.charge

    def get_absolute_url(self) -> str:
        return reverse("payments:payment_detail", args=[self.pk])


class Allocation(models.Model):
    """What a payment paid on one bill (negative on a reversal)."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    bill = models.ForeignKey("billing.Bill", on_delete=models.PROTECT, related_name="allocations")
    amount = money_field(verbose_name=_("amount"))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="allocation_not_zero")
        ]

    def __str__(self) -> str:
        return f"{self.payment_id} → {self.bill_id}: {self.amount}"
