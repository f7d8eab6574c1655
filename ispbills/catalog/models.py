"""Packages, billing profiles and VAT profiles."""

from decimal import Decimal
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ispbills.core.models import TenantOwned
from ispbills.core.money import money_field


class ServiceModel(models.TextChoices):
    PPPOE = "pppoe", _("PPPoE")
    HOTSPOT = "hotspot", _("Hotspot")
    STATIC = "static", _("Static IP")
    OTHER = "other", _("Other")


class CatalogItem(TenantOwned):
    """Owned by an operator, visible (read-only) to the operators below it."""

    access_area = "catalog"
    scope_shared_down = True

    name = models.CharField(_("name"), max_length=120)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class VatProfile(CatalogItem):
    """A VAT rate applied on bills, inclusive (in the price) or exclusive (added on top)."""

    rate = models.DecimalField(
        _("rate (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    inclusive = models.BooleanField(_("included in prices"), default=False)

    class Meta(CatalogItem.Meta):
        constraints = [
            models.UniqueConstraint("tenant", "operator", Lower("name"), name="vat_profile_name"),
            models.CheckConstraint(
                condition=models.Q(rate__gte=0, rate__lte=100), name="vat_rate_0_100"
            ),
        ]

    def get_absolute_url(self) -> str:
        return reverse("catalog:vatprofile_detail", args=[self.pk])


class BillingProfile(CatalogItem):
    """When and how customers are billed: due day, grace, term, validity, discount."""

    class Term(models.TextChoices):
        MONTHLY = "monthly", _("Monthly")
        DAILY = "daily", _("Daily")

    class Discount(models.TextChoices):
        NONE = "none", _("None")
        PERCENT = "percent", _("Percent")
        FIXED = "fixed", _("Fixed amount")

    term = models.CharField(
        _("billing term"), max_length=8, choices=Term.choices, default=Term.MONTHLY
    )
    due_day = models.PositiveSmallIntegerField(
        _("due day of month"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(31)],
        help_text=_("Days 29 to 31 fall on the month's last day in shorter months."),
    )
    auto_bill = models.BooleanField(_("generate bills automatically"), default=True)
    grace_days = models.PositiveSmallIntegerField(_("grace days"), default=0)
    min_validity_days = models.PositiveSmallIntegerField(_("minimum validity (days)"), default=0)
    discount_kind = models.CharField(
        _("discount"), max_length=8, choices=Discount.choices, default=Discount.NONE
    )
    discount_value = money_field(verbose_name=_("discount value"))

    class Meta(CatalogItem.Meta):
        constraints = [
            models.UniqueConstraint(
                "tenant", "operator", Lower("name"), name="billing_profile_name"
            ),
            models.CheckConstraint(
                condition=models.Q(discount_value__gte=0), name="discount_not_negative"
            ),
            models.CheckConstraint(
                condition=~models.Q(discount_kind="percent") | models.Q(discount_value__lte=100),
                name="percent_discount_at_most_100",
            ),
        ]

    def get_absolute_url(self) -> str:
        return reverse("catalog:billingprofile_detail", args=[self.pk])


class Package(CatalogItem):
    """A service package; a master package may have operator variants with their own price."""

    class BillingType(models.TextChoices):
        MONTHLY = "monthly", _("Monthly")
        DAILY = "daily", _("Daily")
        FREE = "free", _("Free")

    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="variants",
        verbose_name=_("master package"),
    )
    service_model = models.CharField(
        _("service model"), max_length=8, choices=ServiceModel.choices, default=ServiceModel.PPPOE
    )
    download_kbps = models.PositiveIntegerField(_("download (kbit/s)"))
    upload_kbps = models.PositiveIntegerField(_("upload (kbit/s)"))
    burst_download_kbps = models.PositiveIntegerField(
        _("burst download (kbit/s)"), null=True, blank=True
    )
    burst_upload_kbps = models.PositiveIntegerField(
        _("burst upload (kbit/s)"), null=True, blank=True
    )
    price = money_field(verbose_name=_("price"))
    vat_profile = models.ForeignKey(
        VatProfile,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("VAT profile"),
    )
    billing_type = models.CharField(
        _("billing type"), max_length=8, choices=BillingType.choices, default=BillingType.MONTHLY
    )
    validity_days = models.PositiveSmallIntegerField(_("validity (days)"), default=30)
    data_limit_mb = models.PositiveBigIntegerField(
        _("data limit (MB)"), null=True, blank=True, help_text=_("Fair usage cap; empty = none.")
    )
    fup_download_kbps = models.PositiveIntegerField(
        _("FUP download (kbit/s)"), null=True, blank=True
    )
    fup_upload_kbps = models.PositiveIntegerField(_("FUP upload (kbit/s)"), null=True, blank=True)

    # Fields a variant takes from its master; only name, price and VAT are its own.
    TECHNICAL_FIELDS = (
        "service_model",
        "download_kbps",
        "upload_kbps",
        "burst_download_kbps",
        "burst_upload_kbps",
        "billing_type",
        "validity_days",
        "data_limit_mb",
        "fup_download_kbps",
        "fup_upload_kbps",
    )

    class Meta(CatalogItem.Meta):
        constraints = [
            models.UniqueConstraint("tenant", "operator", Lower("name"), name="package_name"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="package_price_gte_0"),
            models.CheckConstraint(
                condition=models.Q(validity_days__gte=1), name="package_validity_gte_1"
            ),
        ]

    def get_absolute_url(self) -> str:
        return reverse("catalog:package_detail", args=[self.pk])

    @property
    def is_variant(self) -> bool:
        return self.parent_id is not None

    @property
    def speed_label(self) -> str:
        return f"{_mbps(self.download_kbps)}/{_mbps(self.upload_kbps)} Mbps"


def _mbps(kbps: int) -> Any:
    value = Decimal(kbps) / 1000
    return value.quantize(Decimal("1")) if value == value.to_integral() else value.normalize()
