"""Customers, zones, custom field definitions and customer notes."""

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Exists, OuterRef, Subquery
from django.db.models.functions import Lower, Upper
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ispbills.catalog.models import BillingProfile, Package, ServiceModel
from ispbills.core.access import Access, access_of
from ispbills.core.fields import EncryptedTextField
from ispbills.core.models import TenantOwned
from ispbills.core.money import money_field
from ispbills.core.scoping import Scoped
from ispbills.radius.models import RadAcct, RadPostAuth


class Zone(TenantOwned):
    """A place customers are grouped by (district > thana > area) for reports and broadcasts."""

    access_area = "customers"
    scope_shared_down = True

    class Kind(models.TextChoices):
        DISTRICT = "district", _("District")
        THANA = "thana", _("Thana / upazila")
        AREA = "area", _("Area")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.AREA)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("inside"),
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "tenant", "parent", Lower("name"), name="zone_name_in_parent", nulls_distinct=False
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("customers:zone_detail", args=[self.pk])


class CustomField(TenantOwned):
    """An ISP's own customer field (NID, house, road, …) with its type and rules."""

    access_area = "catalog"
    scope_shared_down = True

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        CHOICE = "choice", _("Choice")

    key = models.SlugField(
        _("key"),
        max_length=40,
        help_text=_("Stored name, e.g. house_no; used by imports and the API."),
    )
    label = models.CharField(_("label"), max_length=80)
    kind = models.CharField(_("type"), max_length=8, choices=Kind.choices, default=Kind.TEXT)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "label"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="custom_field_key"),
        ]

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        return reverse("customers:customfield_list")


class Customer(TenantOwned):
    """A subscriber and their service; every change goes through customers.services."""

    access_area = "customers"

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        DISABLED = "disabled", _("Disabled")
        FUP = "fup", _("FUP")
        DELETED = "deleted", _("Deleted")

    ServiceModel = ServiceModel

    # Every status change (a bulk suspension: 100,000 at once) writes a new entry in each
    # index, so none that another already covers (the tenant leads customer_status,
    # customer_operator and customer_username) and none for rows without a value (parent,
    # manager). The advance balance and the expiry are in no index: a billing run's debits
    # and extended validities are HOT updates (the suspension and reminder jobs read the
    # expiries of every ISP in one scan).
    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    username = models.CharField(_("username"), max_length=64)
    service_password = EncryptedTextField(_("service password"), blank=True)
    name = models.CharField(_("name"), max_length=150)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)
    email = models.EmailField(_("email"), blank=True)
    national_id = models.CharField(_("national ID"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=250, blank=True)
    house = models.CharField(_("house"), max_length=40, blank=True)
    road = models.CharField(_("road"), max_length=80, blank=True)
    zone = models.ForeignKey(
        Zone,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
        verbose_name=_("zone"),
    )
    service_model = models.CharField(
        _("service model"), max_length=8, choices=ServiceModel.choices, default=ServiceModel.PPPOE
    )
    package = models.ForeignKey(
        Package,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
        verbose_name=_("package"),
    )
    billing_profile = models.ForeignKey(
        BillingProfile,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
        verbose_name=_("billing profile"),
    )
    custom_price = money_field(verbose_name=_("custom price"), null=True, blank=True, default=None)
    mac_address = models.CharField(_("MAC address"), max_length=17, blank=True)
    static_ipv4 = models.GenericIPAddressField(
        _("static IPv4"), protocol="IPv4", null=True, blank=True
    )
    static_ipv6 = models.GenericIPAddressField(
        _("static IPv6"), protocol="IPv6", null=True, blank=True
    )
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    advance_balance = money_field(verbose_name=_("advance balance"), editable=False)
    # Most customers have neither: indexed where set (customer_has_parent and _manager).
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent account"),
        db_index=False,
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_customers",
        verbose_name=_("assigned manager"),
        db_index=False,
    )
    sales_notes = models.TextField(_("sales notes"), blank=True)
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    is_trial = models.BooleanField(_("trial account"), default=False)
    trial_ends_at = models.DateTimeField(_("trial ends"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    status_reason = models.CharField(_("status reason"), max_length=200, blank=True)
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    status_before_delete = models.CharField(max_length=10, blank=True, editable=False)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        live = ~models.Q(status="deleted")
        constraints = [
            models.UniqueConstraint("tenant", Lower("username"), name="customer_username"),
            models.UniqueConstraint(
                fields=["tenant", "mac_address"],
                name="customer_mac",
                condition=live & ~models.Q(mac_address=""),
            ),
            models.UniqueConstraint(
                fields=["tenant", "static_ipv4"],
                name="customer_ipv4",
                condition=live & models.Q(static_ipv4__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["tenant", "static_ipv6"],
                name="customer_ipv6",
                condition=live & models.Q(static_ipv6__isnull=False),
            ),
            models.CheckConstraint(
                condition=models.Q(custom_price__gte=0) | models.Q(custom_price__isnull=True),
                name="custom_price_gte_0",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-id"], name="customer_status"),
            models.Index(fields=["tenant", "operator", "-id"], name="customer_operator"),
            models.Index(
                fields=["parent"],
                name="customer_has_parent",
                condition=models.Q(parent__isnull=False),
            ),
            models.Index(
                fields=["manager"],
                name="customer_has_manager",
                condition=models.Q(manager__isnull=False),
            ),
            # Search: username and mobile by prefix, name by any fragment (trigram).
            models.Index(
                OpClass(Upper("username"), name="varchar_pattern_ops"),
                name="customer_username_prefix",
            ),
            models.Index(
                OpClass("mobile", name="varchar_pattern_ops"), name="customer_mobile_prefix"
            ),
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="customer_name_trgm"),
            GinIndex(
                OpClass(Upper("username"), name="gin_trgm_ops"), name="customer_username_trgm"
            ),
        ]
        del live

    def __str__(self) -> str:
        return f"{self.username} · {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("customers:customer_detail", args=[self.pk])

    @classmethod
    def scope_rows(cls, queryset: Any, access: Access, action: str) -> Any:
        # Managers work only with the customers assigned to them.
        if access.role == "manager":
            return queryset.filter(manager_id=access.user_id)
        return queryset

    @property
    def effective_price(self) -> Any:
        if self.custom_price is not None:
            return self.custom_price
        return self.package.price if self.package else None


class ManagedThroughCustomer:
    """Rows of one customer (bills, reminders): a manager reaches those of the customers
    assigned to them, as with the customers themselves."""

    @classmethod
    def scope_rows(cls, queryset: Any, access: Access, action: str) -> Any:
        if access.role == "manager":
            return queryset.filter(customer__manager_id=access.user_id)
        return queryset


class CustomerNote(TenantOwned):
    """A dated note on a customer (calls, visits, promises), kept forever."""

    access_area = "customers"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(_("note"))

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.text[:60]

    def get_absolute_url(self) -> str:
        return reverse("customers:customer_detail", args=[self.customer_id])


# ---- RADIUS rows seen through their claimant ------------------------------------------------


def online_now() -> Exists:
    """Whether a customer (the outer row) has an open RADIUS session: an index probe."""
    return Exists(RadAcct.objects.filter(username=OuterRef("username"), stop_time__isnull=True))


def claimant_of(username: Any) -> Subquery:
    """The id of a username's claimant: the live customer with that username, lowest id first,
    across all ISPs (the provisioning rule: only the claimant can log in).

    ``username`` is a value or an expression such as ``OuterRef("username")``. The upper()
    comparison lets the username prefix index answer; the exact one is the rule.
    """
    return Subquery(
        Customer.objects.annotate(_upper=Upper("username"))
        .filter(_upper=Upper(username), username=username)
        .exclude(status=Customer.Status.DELETED)
        .order_by("pk")
        .values("pk")[:1]
    )


def claimant_id(username: str) -> int | None:
    """The claimant of one username (None: no live customer holds it)."""
    return (
        Customer.objects.annotate(_upper=Upper("username"))
        .filter(_upper=username.upper(), username=username)
        .exclude(status=Customer.Status.DELETED)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )


class ClaimedQuerySet(models.QuerySet[Any]):
    """Rows keyed by a RADIUS username (not tenant-owned), reachable through the claimant.

    A row is visible to a user when the claimant of its username is a customer the user may
    view. Usernames nobody claims are seen only by a super admin acting for all ISPs.
    """

    def with_claimant(self) -> "ClaimedQuerySet":
        return self.annotate(claimant_id=claimant_of(OuterRef("username")))

    def restrict(self, user: Any, action: str = "view") -> "ClaimedQuerySet":
        access = access_of(user)
        model: Any = self.model
        queryset = self.with_claimant()
        if not access.can(model.permission(action)):
            return queryset.none()
        if access.is_superadmin and access.tenant_id is None:
            return queryset
        visible = Customer.objects.restrict(user, "view")
        return queryset.filter(claimant_id__in=visible.values("pk"))


class AccountingSession(Scoped, RadAcct):
    """A ``radacct`` session as the panel and API show it: scoped by its username's claimant."""

    access_area = "customers"

    objects: ClassVar[Any] = ClaimedQuerySet.as_manager()

    class Meta:
        proxy = True
        verbose_name = _("session")
        verbose_name_plural = _("sessions")


class AuthAttempt(Scoped, RadPostAuth):
    """A ``radpostauth`` row (one authentication and its outcome), scoped by the claimant."""

    access_area = "network"

    objects: ClassVar[Any] = ClaimedQuerySet.as_manager()

    class Meta:
        proxy = True
        verbose_name = _("authentication")
        verbose_name_plural = _("authentication log")

    @property
    def accepted(self) -> bool:
        return self.reply == "Access-Accept"
