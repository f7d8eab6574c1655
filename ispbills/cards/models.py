"""Recharge cards: batches generated for a package or a value, the cards with their PINs,
redemption attempts (the lock-out's counters), distributor commissions and settlements.

A PIN is never stored in the clear: ``pin_hash`` (an HMAC keyed from the app secret) finds a
card under a unique constraint per ISP, and ``pin`` (Fernet, like every secret at rest) lets
those allowed print it. A card moves unissued → issued → used | expired | void, each change
audited; a used card is never redeemed again (one guarded UPDATE decides, docs/cards.md).
"""

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ispbills.core.access import Access
from ispbills.core.fields import EncryptedTextField
from ispbills.core.models import TenantOwned
from ispbills.core.money import money_field

DISTRIBUTOR = "card_distributor"


class DistributorScoped:
    """Card distributors see only the rows that are theirs (``distributor_field``)."""

    distributor_field: ClassVar[str] = "distributor"

    @classmethod
    def scope_rows(cls, queryset: Any, access: Access, action: str) -> Any:
        if access.role == DISTRIBUTOR:
            return queryset.filter(**{f"{cls.distributor_field}_id": access.user_id})
        return queryset


class CardBatch(DistributorScoped, TenantOwned):
    """Cards generated together: one package (or a value), expiry, distributor, commission."""

    access_area = "cards"

    class CommissionOn(models.TextChoices):
        SALE = "sale", _("When issued to the distributor")
        USE = "use", _("When redeemed")

    name = models.CharField(_("name"), max_length=100)
    package = models.ForeignKey(
        "catalog.Package",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("package"),
        help_text=_("Empty for a value card, which adds its value to the advance"),
    )
    value = money_field(verbose_name=_("face value"))
    count = models.PositiveIntegerField(_("cards"))
    expires_at = models.DateTimeField(_("expires"))
    distributor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("distributor"),
    )
    commission_percent = models.DecimalField(
        _("commission (%)"), max_digits=5, decimal_places=2, default=0
    )
    commission_on = models.CharField(
        _("commission recorded"),
        max_length=4,
        choices=CommissionOn.choices,
        default=CommissionOn.USE,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("card batch")
        verbose_name_plural = _("card batches")
        constraints = [
            models.CheckConstraint(condition=models.Q(value__gt=0), name="card_batch_value"),
            models.CheckConstraint(
                condition=models.Q(commission_percent__gte=0, commission_percent__lte=100),
                name="card_batch_commission",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_number} · {self.name}"

    @property
    def display_number(self) -> str:
        return f"CB-{self.pk:06d}"

    def get_absolute_url(self) -> str:
        return reverse("cards:cardbatch_detail", args=[self.pk])


class Card(DistributorScoped, TenantOwned):
    """One recharge card: a serial for humans, a PIN found by its keyed hash."""

    access_area = "cards"

    class State(models.TextChoices):
        UNISSUED = "unissued", _("Unissued")
        ISSUED = "issued", _("Issued")
        USED = "used", _("Used")
        EXPIRED = "expired", _("Expired")
        VOID = "void", _("Void")

    batch = models.ForeignKey(CardBatch, on_delete=models.PROTECT, related_name="cards")
    serial = models.CharField(_("serial"), max_length=20)
    # HMAC-SHA256 of the normalized PIN (docs/cards.md): the lookup key, unique per ISP.
    pin_hash = models.BinaryField(max_length=32, editable=False)
    pin = EncryptedTextField(_("PIN"), editable=False)
    # Copied from the batch so the redemption's single statement needs no join.
    package = models.ForeignKey(
        "catalog.Package", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    value = money_field(verbose_name=_("face value"))
    expires_at = models.DateTimeField(_("expires"))
    state = models.CharField(
        _("state"), max_length=8, choices=State.choices, default=State.UNISSUED
    )
    distributor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("distributor"),
    )
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("redeemed for"),
    )
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("redeemed by"),
    )
    payment = models.OneToOneField(
        "payments.Payment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="card",
        verbose_name=_("payment"),
    )
    void_reason = models.CharField(_("void reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "pin_hash"], name="card_pin_unique"),
            models.UniqueConstraint(fields=["tenant", "serial"], name="card_serial_unique"),
            models.CheckConstraint(
                condition=~models.Q(state="used")
                | models.Q(customer__isnull=False, used_at__isnull=False),
                name="card_used_has_customer",
            ),
        ]
        indexes = [
            models.Index(fields=["batch", "state"], name="card_batch_state"),
            models.Index(
                fields=["distributor", "state"],
                name="card_distributor_state",
                condition=models.Q(distributor__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.serial

    def get_absolute_url(self) -> str:
        return reverse("cards:card_detail", args=[self.pk])


class RedemptionAttempt(DistributorScoped, TenantOwned):
    """One PIN entered for a customer: the lock-out counts the failures in its window."""

    access_area = "cards"

    class Outcome(models.TextChoices):
        REDEEMED = "redeemed", _("Redeemed")
        WRONG_PIN = "wrong_pin", _("Wrong PIN")
        REFUSED = "refused", _("Refused")
        LOCKED = "locked", _("Locked out")

    updated_at = None  # type: ignore[assignment]  # never updated
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("entered by"),
    )
    # Set when the user entering it is a card distributor (its own lock-out counter).
    distributor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    card = models.ForeignKey(
        Card, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    at = models.DateTimeField(_("when"))

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["customer", "at"], name="attempt_customer"),
            models.Index(fields=["tenant", "ip", "at"], name="attempt_ip"),
            models.Index(
                fields=["distributor", "at"],
                name="attempt_distributor",
                condition=models.Q(distributor__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} {self.detail}".strip()


class Commission(DistributorScoped, TenantOwned):
    """A distributor's commission on a card, recorded when issued or redeemed (per batch)."""

    access_area = "cards"

    updated_at = None  # type: ignore[assignment]
    distributor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    card = models.OneToOneField(Card, on_delete=models.PROTECT, related_name="commission")
    amount = money_field(verbose_name=_("commission"))
    at = models.DateTimeField(_("when"))
    # The ledger entry that posted it (set by the poster; null until then).
    entry = models.ForeignKey(
        "accounting.JournalEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["distributor", "at"], name="commission_distributor"),
            models.Index(
                fields=["id"], name="commission_unposted", condition=models.Q(entry__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.card} {self.amount}"


class DistributorPayment(DistributorScoped, TenantOwned):
    """Money between the ISP and a distributor: its remittance for cards, or a commission
    payout; posted to the ledger in the same transaction."""

    access_area = "cards"

    class Kind(models.TextChoices):
        REMITTANCE = "remittance", _("Distributor paid for cards")
        PAYOUT = "payout", _("Commission paid to distributor")

    updated_at = None  # type: ignore[assignment]
    distributor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = money_field(verbose_name=_("amount"))
    reference = models.CharField(_("reference"), max_length=100)
    note = models.CharField(_("note"), max_length=200, blank=True)
    at = models.DateTimeField(_("when"))
    entry = models.ForeignKey("accounting.JournalEntry", on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "reference"], name="distributor_payment_reference"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="distributor_payment_amount"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reference}"
