"""Payments received from customers, what each one paid, and their receipt numbers.

Receipt numbers are the row ids (``MR-000123``): unique and increasing without a lock every
payment of an ISP would queue on. A payment is recorded once (a unique reference per ISP and
method is its idempotency key), never changed and never deleted: a correction is a
*reversal* payment (negative amounts, pointing at the original) and, for an edit, a new
payment. What a payment did is kept on it (the bills it cleared, the advance it left, the
expiry and status it changed) so a reversal can restore exactly that.
"""

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ispbills.core.fields import EncryptedTextField
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


class GatewayAccount(TenantOwned):
    """An operator's merchant account at one online payment provider: its credentials
    (encrypted at rest, never shown back in full), sandbox or live, and the provider state
    every process shares (bKash's token, cached as bKash requires)."""

    access_area = "payments"

    provider = models.CharField(_("provider"), max_length=30)
    label = models.CharField(_("label"), max_length=80, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    sandbox = models.BooleanField(
        _("sandbox"), default=True, help_text=_("Test credentials at the provider's sandbox.")
    )
    base_url = models.URLField(
        _("address"),
        blank=True,
        help_text=_("Leave empty for the provider's own sandbox or live address."),
    )
    for_customers = models.BooleanField(_("customer payments"), default=True)
    for_operators = models.BooleanField(
        _("operator top-ups"),
        default=False,
        help_text=_("Operators below this one pay their balance top-ups here."),
    )
    # JSON of every credential and setting of the provider (CredentialField names).
    credentials = EncryptedTextField(_("credentials"), blank=True)
    # JSON the adapter keeps between calls (tokens); changed under this row's lock.
    state = EncryptedTextField(blank=True)
    checked_at = models.DateTimeField(_("last tested"), null=True, blank=True)
    check_message = models.CharField(_("test result"), max_length=300, blank=True)

    class Meta:
        ordering = ["provider", "id"]
        constraints = [
            models.UniqueConstraint(fields=["operator", "provider"], name="gateway_account_once"),
        ]

    def __str__(self) -> str:
        return self.label or self.provider_name

    @property
    def provider_name(self) -> str:
        from ispbills.payments.gateways import gateway_class

        try:
            return gateway_class(self.provider).name
        except KeyError:
            return self.provider

    def get_credentials(self) -> dict[str, str]:
        return json.loads(self.credentials) if self.credentials else {}

    def set_credentials(self, values: dict[str, str]) -> None:
        self.credentials = json.dumps(values, sort_keys=True)

    def get_absolute_url(self) -> str:
        return reverse("payments:gateway_detail", args=[self.pk])


class PaymentAttempt(ManagedThroughCustomer, TenantOwned):
    """One try at paying online: our unique reference, what the provider said, and the payment
    it became. States: created → pending → verified | failed | unknown; only the provider's
    server-side confirmation, matching amount, currency and reference, makes it verified."""

    access_area = "payments"

    class State(models.TextChoices):
        CREATED = "created", _("Created")
        PENDING = "pending", _("Pending")
        VERIFIED = "verified", _("Verified")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Unknown")

    class Purpose(models.TextChoices):
        BILL = "bill", _("Bill payment")
        ADVANCE = "advance", _("Advance top-up")
        OPERATOR_FUNDS = "operator_funds", _("Operator balance top-up")
        SUBSCRIPTION = "subscription", _("Operator subscription")

    class Outcome(models.TextChoices):
        NONE = "", _("—")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled by the payer")
        DECLINED = "declined", _("Declined or failed")
        EXPIRED = "expired", _("Expired")
        UNDERPAID = "underpaid", _("Paid less than asked")
        OVERPAID = "overpaid", _("Paid more than asked")
        CURRENCY_MISMATCH = "currency_mismatch", _("Currency differs")
        REFERENCE_MISMATCH = "reference_mismatch", _("Reference differs")
        DUPLICATE_TXN = "duplicate_txn", _("Transaction already used")
        NO_ANSWER = "no_answer", _("No answer from the provider")
        PROVIDER_ERROR = "provider_error", _("Provider error")
        REFUSED = "refused", _("Payment refused by our checks")

    # States an attempt can still leave for verified (a late confirmation wins over a
    # failure the payer's browser reported).
    OPEN_STATES = ("created", "pending", "unknown", "failed")

    account = models.ForeignKey(
        GatewayAccount, on_delete=models.PROTECT, related_name="attempts", verbose_name=_("gateway")
    )
    provider = models.CharField(_("provider"), max_length=30)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payment_attempts",
    )
    bill = models.ForeignKey(
        "billing.Bill", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payer_operator = models.ForeignKey(
        "tenancy.Operator",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("paying operator"),
    )
    amount = money_field(verbose_name=_("amount"))
    currency = models.CharField(_("currency"), max_length=3, default="BDT")
    merchant_ref = models.CharField(_("our reference"), max_length=40, unique=True)
    provider_ref = models.CharField(_("provider's session"), max_length=100, blank=True)
    provider_txn_id = models.CharField(
        _("provider transaction"), max_length=100, null=True, blank=True
    )
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.CREATED)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=Outcome.choices, blank=True, default=""
    )
    message = models.CharField(_("message"), max_length=300, blank=True)
    # What the provider confirmed, as it said it (for anomalies).
    confirmed_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    payment = models.OneToOneField(
        Payment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="attempt",
        verbose_name=_("payment"),
    )
    data = models.JSONField(default=dict, blank=True)
    return_url = models.CharField(max_length=300, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    checks = models.PositiveIntegerField(_("provider checks"), default=0)
    last_checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    needs_attention = models.BooleanField(_("needs attention"), default=False)
    attention_reason = models.CharField(_("why"), max_length=300, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Duplicate callbacks, IPNs and refreshes credit once: one attempt per provider
            # transaction.
            models.UniqueConstraint(
                fields=["provider", "provider_txn_id"],
                condition=models.Q(provider_txn_id__isnull=False),
                name="attempt_provider_txn",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="attempt_amount"),
            models.CheckConstraint(
                condition=~models.Q(state="verified") | models.Q(provider_txn_id__isnull=False),
                name="attempt_verified_has_txn",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-id"], name="attempt_recent"),
            models.Index(
                fields=["state", "last_checked_at"],
                condition=models.Q(state__in=["created", "pending", "unknown"]),
                name="attempt_to_reconcile",
            ),
            models.Index(fields=["provider", "provider_ref"], name="attempt_provider_ref"),
        ]

    def __str__(self) -> str:
        return self.merchant_ref

    def get_absolute_url(self) -> str:
        return reverse("payments:attempt_detail", args=[self.pk])


class GatewayExchange(models.Model):
    """One request to or from a provider, kept with secrets redacted for disputes."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(
        GatewayAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="exchanges"
    )
    attempt = models.ForeignKey(
        PaymentAttempt,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="exchanges",
    )
    at = models.DateTimeField(_("when"))
    label = models.CharField(_("call"), max_length=60)
    direction = models.CharField(_("direction"), max_length=3)
    method = models.CharField(max_length=8)
    url = models.TextField()
    request_headers = models.JSONField(default=dict, blank=True)
    request_body = models.TextField(blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.label} {self.status_code or self.error}"
