"""IP pools, PPPoE profiles and each ISP's network settings (the suspended customers' fate)."""

import ipaddress
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ispbills.catalog.models import Package
from ispbills.core.models import TenantOwned


class CidrField(models.CharField):
    """A PostgreSQL ``cidr`` column (a network, host bits zero), read and written as text."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 43)
        super().__init__(*args, **kwargs)

    def db_type(self, connection: Any) -> str:
        return "cidr"


class NetworkItem(TenantOwned):
    """Owned by an operator, visible (read-only) to the operators below it, like packages."""

    access_area = "network"
    scope_shared_down = True

    name = models.CharField(_("name"), max_length=64)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class IpPool(NetworkItem):
    """A block of addresses from one CIDR: handed out by the router (dynamic), assigned to
    customers one by one (static), or given to suspended customers (the walled garden)."""

    class Purpose(models.TextChoices):
        DYNAMIC = "dynamic", _("Dynamic")
        STATIC = "static", _("Static")
        SUSPENDED = "suspended", _("Suspended (walled garden)")

    class Family(models.IntegerChoices):
        IPV4 = 4, "IPv4"
        IPV6 = 6, "IPv6"

    cidr = CidrField(_("CIDR"))
    family = models.PositiveSmallIntegerField(_("family"), choices=Family.choices, editable=False)
    purpose = models.CharField(
        _("purpose"), max_length=10, choices=Purpose.choices, default=Purpose.DYNAMIC
    )
    # Addresses ("a") and ranges ("a-b") inside the CIDR that are never handed out.
    exclusions = ArrayField(
        models.CharField(max_length=100), verbose_name=_("excluded"), default=list, blank=True
    )
    prefix_length = models.PositiveSmallIntegerField(
        _("delegated prefix length"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(128)],
        help_text=_("IPv6 prefix pools: the prefix each customer gets (e.g. 56 or 64)."),
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta(NetworkItem.Meta):
        verbose_name = _("IP pool")
        verbose_name_plural = _("IP pools")
        constraints = [
            # The name is the pool's name on the routers (Framed-Pool), one per ISP.
            models.UniqueConstraint("tenant", Lower("name"), name="ippool_name"),
            models.CheckConstraint(
                condition=models.Q(family=6) | models.Q(prefix_length__isnull=True),
                name="ippool_prefix_length_ipv6_only",
            ),
        ]

    def get_absolute_url(self) -> str:
        return reverse("network:ippool_detail", args=[self.pk])

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr)

    @property
    def is_prefix_pool(self) -> bool:
        return self.prefix_length is not None

    def usable_ranges(self) -> list[tuple[str, str]]:
        """The addresses the router may hand out, as (first, last) ranges: the CIDR without
        its network and broadcast addresses (IPv4 shorter than /31) and without exclusions.
        Computed on ranges, never address by address."""
        net = self.network
        first, last = int(net.network_address), int(net.broadcast_address)
        if net.version == 4 and net.prefixlen < 31:
            first, last = first + 1, last - 1
        ranges = [(first, last)]
        for low, high in sorted(exclusion_bounds(self.exclusions)):
            ranges = [
                piece
                for start, end in ranges
                for piece in ((start, min(end, low - 1)), (max(start, high + 1), end))
                if piece[0] <= piece[1]
            ]
        make = ipaddress.ip_address
        return [(str(make(start)), str(make(end))) for start, end in ranges]

    def routeros_ranges(self) -> str:
        """The ``ranges`` value of this pool in RouterOS ``/ip/pool`` (``a-b,c-d``)."""
        return ",".join(
            first if first == last else f"{first}-{last}" for first, last in self.usable_ranges()
        )


def exclusion_bounds(exclusions: list[str]) -> list[tuple[int, int]]:
    """Each stored exclusion ("a" or "a-b") as integer bounds."""
    bounds = []
    for item in exclusions:
        low, _sep, high = item.partition("-")
        bounds.append((int(ipaddress.ip_address(low)), int(ipaddress.ip_address(high or low))))
    return bounds


class PppoeProfile(NetworkItem):
    """How the customers of some packages get their address and speed: the IPv4 pool (and
    an optional IPv6 pool), dynamic or static addressing, and a rate limit that overrides
    the packages' speeds when set."""

    class IpMode(models.TextChoices):
        DYNAMIC = "dynamic", _("Dynamic (from the pool)")
        STATIC = "static", _("Static (each customer's own address)")

    rate_limit = models.CharField(
        _("rate limit"),
        max_length=120,
        blank=True,
        help_text=_("MikroTik rate limit, e.g. 5M/20M (upload/download). Empty: from the package."),
    )
    ipv4_pool = models.ForeignKey(
        IpPool,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ipv4_profiles",
        verbose_name=_("IPv4 pool"),
    )
    ipv6_pool = models.ForeignKey(
        IpPool,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ipv6_profiles",
        verbose_name=_("IPv6 pool"),
    )
    fup_pool = models.ForeignKey(
        IpPool,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="fup_profiles",
        verbose_name=_("FUP pool"),
        help_text=_(
            "Addresses for customers past their data limit (dynamic addressing). "
            "Empty: they keep the IPv4 pool."
        ),
    )
    ip_mode = models.CharField(
        _("addressing"), max_length=8, choices=IpMode.choices, default=IpMode.DYNAMIC
    )
    local_address = models.GenericIPAddressField(
        _("local address"), protocol="IPv4", null=True, blank=True
    )
    dns_servers = models.CharField(_("DNS servers"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    packages: "models.ManyToManyField[Package, ProfilePackage]" = models.ManyToManyField(
        Package,
        through="ProfilePackage",
        related_name="pppoe_profiles",
        blank=True,
        verbose_name=_("packages"),
    )

    class Meta(NetworkItem.Meta):
        verbose_name = _("PPPoE profile")
        verbose_name_plural = _("PPPoE profiles")
        constraints = [
            models.UniqueConstraint("tenant", "operator", Lower("name"), name="pppoeprofile_name"),
        ]

    def get_absolute_url(self) -> str:
        return reverse("network:pppoeprofile_detail", args=[self.pk])


class ProfilePackage(models.Model):
    """A package's PPPoE profile: a package belongs to at most one profile."""

    profile = models.ForeignKey(PppoeProfile, on_delete=models.CASCADE, related_name="links")
    package = models.OneToOneField(Package, on_delete=models.CASCADE, related_name="profile_link")

    def __str__(self) -> str:
        return f"{self.profile_id} → {self.package_id}"


class NetworkSettings(TenantOwned):
    """One per ISP (owned by its root operator): what authentication does with suspended
    customers, and the walled garden they land in."""

    access_area = "network"
    scope_shared_down = True

    class SuspendedAction(models.TextChoices):
        REJECT = "reject", _("Refuse the login")
        WALLED_GARDEN = "walled_garden", _("Accept into the walled garden")

    suspended_action = models.CharField(
        _("suspended customers"),
        max_length=14,
        choices=SuspendedAction.choices,
        default=SuspendedAction.REJECT,
    )
    suspended_pool = models.ForeignKey(
        IpPool,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("suspended pool"),
    )
    address_list = models.CharField(
        _("address list"),
        max_length=63,
        default="suspended",
        help_text=_("The MikroTik firewall address list the router puts suspended sessions in."),
    )
    walled_garden_rate = models.CharField(
        _("walled garden rate"), max_length=120, default="256k/256k"
    )

    class Meta:
        verbose_name = _("network settings")
        verbose_name_plural = _("network settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="network_settings_tenant")]

    def __str__(self) -> str:
        return str(_("Network settings (%(list)s)") % {"list": self.address_list})

    def get_absolute_url(self) -> str:
        return reverse("network:settings")

    @property
    def walled_garden(self) -> bool:
        return self.suspended_action == self.SuspendedAction.WALLED_GARDEN
