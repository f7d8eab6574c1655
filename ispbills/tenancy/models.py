"""Tenants (ISPs), their operator trees, staff users, memberships and permissions."""

from functools import cached_property
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ispbills.core.access import NO_ACCESS, Access
from ispbills.core.money import money_field
from ispbills.core.scoping import Scoped, ScopedQuerySet
from ispbills.tenancy.roles import Role, effective_permissions


class Tenant(Scoped, models.Model):
    """One ISP using the platform, with its own zone, currency and operator tree."""

    access_area = "tenant"
    scope_tenant_field = "pk"
    scope_operator_field = None

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Dhaka")
    currency = models.CharField(_("currency"), max_length=3, default="BDT")
    is_active = models.BooleanField(_("active"), default=True)
    is_demo = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[Any] = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("tenancy:tenant_list")


class Operator(Scoped, models.Model):
    """A node of an ISP's reseller tree: the root (group admin), operators, sub-operators.

    ``path`` is the materialised chain of ids ("/1/4/9/") so a subtree is one prefix match.
    """

    access_area = "operators"
    scope_operator_field = ""

    class Kind(models.TextChoices):
        ROOT = "root", _("Group admin")
        OPERATOR = "operator", _("Operator")
        SUB_OPERATOR = "sub_operator", _("Sub-operator")

    class AccountType(models.TextChoices):
        CREDIT = "credit", _("Credit (postpaid)")
        DEBIT = "debit", _("Debit (prepaid)")

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="operators")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=120)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)
    email = models.EmailField(_("email"), blank=True)
    address = models.CharField(_("address"), max_length=250, blank=True)
    vat_registration = models.CharField(
        _("VAT registration (BIN)"),
        max_length=40,
        blank=True,
        help_text=_("Printed on bills; operators without one print the ISP's."),
    )
    account_type = models.CharField(
        _("account type"), max_length=8, choices=AccountType.choices, default=AccountType.DEBIT
    )
    credit_limit = money_field(verbose_name=_("credit limit"))
    balance = money_field(verbose_name=_("balance"), editable=False)
    # Since when the balance is below what the account type allows (zero, or minus the
    # credit limit): past the ISP's grace the operator is disabled until it settles.
    unsettled_since = models.DateTimeField(_("unsettled since"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=200, blank=True)
    path = models.CharField(max_length=255, editable=False, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[Any] = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(parent=None), name="one_root_per_tenant"
            ),
            models.UniqueConstraint(
                fields=["tenant", "parent", "name"], name="operator_name_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(credit_limit__gte=0), name="credit_limit_gte_0"
            ),
        ]
        # Subtree queries are ``path LIKE '/1/4/%'``: pattern ops make them index scans.
        indexes = [
            models.Index(
                fields=["tenant", "path"],
                name="operator_tenant_path",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("tenancy:operator_detail", args=[self.pk])

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2

    @classmethod
    def scope_rows(cls, queryset: Any, access: Access, action: str) -> Any:
        # An operator admin manages the nodes below it, never its own node's terms.
        if action in {"change", "delete"} and not access.tenant_wide and not access.is_superadmin:
            return queryset.exclude(pk=access.operator_id)
        return queryset

    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/") if part]


class OperatorLogo(models.Model):
    """An operator's logo for its bills (PNG or JPEG, checked on upload); apart from the
    operator so its bytes are read only when a bill is printed or the logo shown."""

    operator = models.OneToOneField(
        Operator, primary_key=True, on_delete=models.CASCADE, related_name="logo"
    )
    content_type = models.CharField(max_length=20)
    data = models.BinaryField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.operator_id}: {self.content_type}"


class StaffUserManager(UserManager["User"]):
    """User manager whose querysets can ``restrict()``."""

    def get_queryset(self) -> ScopedQuerySet:
        return ScopedQuerySet(self.model, using=self._db)

    def restrict(self, user: Any, action: str = "view") -> ScopedQuerySet:
        return self.get_queryset().restrict(user, action)


class User(Scoped, AbstractUser):
    """A staff user (or a platform super admin, ``is_superuser``) who logs into the panel."""

    access_area = "users"
    scope_tenant_field = "membership__operator__tenant"
    scope_operator_field = "membership__operator"

    mobile = models.CharField(_("mobile"), max_length=20, null=True, blank=True, unique=True)
    password_changed_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects: ClassVar[Any] = StaffUserManager()

    class Meta:
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(Lower("username"), name="username_unique_ci"),
        ]

    # Set per request by the middleware for super admins who picked a tenant.
    selected_tenant_id: int | None = None

    @cached_property
    def access(self) -> Access:
        """What this user may reach; computed once per request."""
        if not self.is_active or self.pk is None:
            return NO_ACCESS
        if self.is_superuser:
            return Access(
                user_id=self.pk,
                is_superadmin=True,
                tenant_id=self.selected_tenant_id,
                tenant_wide=True,
                role="superadmin",
            )
        membership = Membership.objects.select_related("operator__tenant").filter(user=self).first()
        if membership is None or not membership.is_usable():
            return NO_ACCESS
        operator = membership.operator
        overrides = dict(self.permission_overrides.values_list("permission", "granted"))
        grants = {perm for perm, granted in overrides.items() if granted}
        revokes = {perm for perm, granted in overrides.items() if not granted}
        return Access(
            user_id=self.pk,
            tenant_id=operator.tenant_id,
            operator_id=operator.pk,
            operator_path=operator.path,
            tenant_wide=operator.parent_id is None,
            role=membership.role,
            permissions=effective_permissions(membership.role, grants, revokes),
        )

    def get_absolute_url(self) -> str:
        return reverse("tenancy:user_detail", args=[self.pk])

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class Membership(Scoped, models.Model):
    """A staff user's place in one operator of one tenant, with a role."""

    access_area = "users"
    scope_tenant_field = "operator__tenant"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership")
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[Any] = ScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.user} @ {self.operator} ({self.get_role_display()})"

    def is_usable(self) -> bool:
        """False when the tenant or any operator up the tree is disabled."""
        operator = self.operator
        if not operator.tenant.is_active:
            return False
        return not Operator.objects.filter(pk__in=operator.ancestor_ids(), is_active=False).exists()


class PermissionOverride(models.Model):
    """A special permission granted to or revoked from one user on top of the role.

    Reached only through its user (whom the actor must already reach), so not scoped itself.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="permission_overrides")
    permission = models.CharField(max_length=60)
    granted = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "permission"], name="one_override_per_perm")
        ]

    def __str__(self) -> str:
        return f"{'+' if self.granted else '-'}{self.permission}"


class LoginAttempt(Scoped, models.Model):
    """One staff login attempt, kept for throttling and the failed-login log."""

    access_area = "audit"

    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    operator = models.ForeignKey(
        Operator, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(_("username"), max_length=150)
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    success = models.BooleanField(
        _("succeeded"),
    )
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    at = models.DateTimeField(_("when"), db_index=True)

    objects: ClassVar[Any] = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["username", "at"]),
            models.Index(fields=["ip", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.username} {'ok' if self.success else self.reason}"


class ApiToken(Scoped, models.Model):
    """A staff user's API bearer token; only its SHA-256 is stored, the value is shown once."""

    access_area = "users"
    scope_tenant_field = "user__membership__operator__tenant"
    scope_operator_field = "user__membership__operator"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=80)
    prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects: ClassVar[Any] = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
