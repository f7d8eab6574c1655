"""The only writers of tenants, operators, staff users, roles and login records."""

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.text import slugify
from django.utils.translation import gettext as _

from ispbills.core import audit, clock
from ispbills.core.access import access_of, require
from ispbills.core.errors import ConflictError, DomainError, NotAllowedError
from ispbills.core.money import to_money
from ispbills.core.phone import PhoneError, normalize_mobile
from ispbills.tenancy.models import (
    ApiToken,
    LoginAttempt,
    Membership,
    Operator,
    OperatorLogo,
    PermissionOverride,
    Tenant,
    User,
)
from ispbills.tenancy.roles import ALL_PERMISSIONS, Role

CHILD_KIND = {
    Operator.Kind.ROOT: Operator.Kind.OPERATOR,
    Operator.Kind.OPERATOR: Operator.Kind.SUB_OPERATOR,
}


def _clean_mobile(raw: str | None, field: str = "mobile") -> str | None:
    if not raw:
        return None
    try:
        return normalize_mobile(raw)
    except PhoneError as exc:
        raise DomainError(str(exc), fields={field: [str(exc)]}) from None


@transaction.atomic
def create_tenant(
    *,
    actor: Any,
    name: str,
    slug: str = "",
    timezone: str = "Asia/Dhaka",
    currency: str = "BDT",
    is_demo: bool = False,
) -> Tenant:
    """Create an ISP with its root operator node."""
    from ispbills.core.clock import is_valid_zone

    if actor is not None and not access_of(actor).is_superadmin:
        raise NotAllowedError(_("Only platform super admins create ISPs."))
    name = name.strip()
    if not name:
        raise DomainError(_("Give the ISP a name."), fields={"name": [_("Required.")]})
    slug = slugify(slug or name)
    if not is_valid_zone(timezone):
        raise DomainError(
            _("Unknown time zone %(zone)s.") % {"zone": timezone},
            fields={"timezone": [_("Use a zone name such as Asia/Dhaka.")]},
        )
    if Tenant.objects.filter(slug=slug).exists():
        raise ConflictError(
            _("An ISP with the slug %(slug)s exists.") % {"slug": slug},
            fields={"slug": [_("Already taken.")]},
        )
    tenant = Tenant.objects.create(
        name=name, slug=slug, timezone=timezone, currency=currency.upper(), is_demo=is_demo
    )
    root = Operator.objects.create(tenant=tenant, kind=Operator.Kind.ROOT, name=name)
    Operator.objects.filter(pk=root.pk).update(path=f"/{root.pk}/")
    audit.record(actor, "tenant.created", tenant, changes={"name": name, "slug": slug})
    return tenant


def root_operator(tenant: Tenant) -> Operator:
    return Operator.objects.get(tenant=tenant, parent=None)


@transaction.atomic
def create_operator(
    *,
    actor: Any,
    parent: Operator,
    name: str,
    account_type: str = Operator.AccountType.DEBIT,
    credit_limit: Any = "0",
    mobile: str = "",
    email: str = "",
    address: str = "",
    vat_registration: str = "",
) -> Operator:
    """Add a reseller (under the root) or a sub-operator (under a reseller)."""
    require(actor, "operators.add", parent)
    parent = Operator.objects.select_for_update().get(pk=parent.pk)
    kind = CHILD_KIND.get(Operator.Kind(parent.kind))
    if kind is None:
        raise DomainError(_("Sub-operators cannot have operators below them."))
    if not parent.is_active:
        raise DomainError(_("The parent operator is disabled."))
    name = name.strip()
    if not name:
        raise DomainError(_("Give the operator a name."), fields={"name": [_("Required.")]})
    if account_type not in Operator.AccountType.values:
        raise DomainError(_("Unknown account type."), fields={"account_type": [_("Invalid.")]})
    limit = to_money(credit_limit or "0")
    if limit < 0:
        raise DomainError(
            _("The credit limit cannot be negative."),
            fields={"credit_limit": [_("Must be zero or more.")]},
        )
    if Operator.objects.filter(parent=parent, name__iexact=name).exists():
        raise ConflictError(
            _("%(parent)s already has an operator named %(name)s.")
            % {"parent": parent.name, "name": name},
            fields={"name": [_("Already used under this parent.")]},
        )
    operator = Operator.objects.create(
        tenant_id=parent.tenant_id,
        parent=parent,
        kind=kind,
        name=name,
        account_type=account_type,
        credit_limit=limit,
        mobile=_clean_mobile(mobile) or "",
        email=email.strip(),
        address=address.strip(),
        vat_registration=vat_registration.strip(),
    )
    operator.path = f"{parent.path}{operator.pk}/"
    Operator.objects.filter(pk=operator.pk).update(path=operator.path)
    audit.record(
        actor,
        "operator.created",
        operator,
        changes={
            "name": name,
            "kind": kind,
            "account_type": account_type,
            "credit_limit": limit,
        },
    )
    return operator


OPERATOR_EDITABLE = (
    "name",
    "mobile",
    "email",
    "address",
    "vat_registration",
    "account_type",
    "credit_limit",
)


@transaction.atomic
def update_operator(*, actor: Any, operator: Operator, **changes: Any) -> Operator:
    """Change an operator's name, contacts or account terms (not its own, unless group admin)."""
    require(actor, "operators.change", operator)
    access = access_of(actor)
    if actor is not None and not access.tenant_wide and operator.pk == access.operator_id:
        raise NotAllowedError(_("You cannot change your own operator's terms."))
    unknown = set(changes) - set(OPERATOR_EDITABLE)
    if unknown:
        raise DomainError(_("These fields cannot be changed: %s") % ", ".join(sorted(unknown)))
    operator = Operator.objects.select_for_update().get(pk=operator.pk)
    before = {key: getattr(operator, key) for key in changes}
    if "credit_limit" in changes:
        changes["credit_limit"] = to_money(changes["credit_limit"])
        if changes["credit_limit"] < 0:
            raise DomainError(
                _("The credit limit cannot be negative."),
                fields={"credit_limit": [_("Must be zero or more.")]},
            )
    if "mobile" in changes:
        changes["mobile"] = _clean_mobile(changes["mobile"]) or ""
    if "vat_registration" in changes:
        changes["vat_registration"] = str(changes["vat_registration"] or "").strip()
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        if not changes["name"]:
            raise DomainError(_("Give the operator a name."), fields={"name": [_("Required.")]})
        clash = Operator.objects.filter(
            tenant_id=operator.tenant_id,
            parent_id=operator.parent_id,
            name__iexact=changes["name"],
        ).exclude(pk=operator.pk)
        if clash.exists():
            raise ConflictError(
                _("Another operator here has that name."),
                fields={"name": [_("Already used under this parent.")]},
            )
    for key, value in changes.items():
        setattr(operator, key, value)
    operator.save()
    delta = audit.diff(before, {key: getattr(operator, key) for key in changes})
    if delta:
        audit.record(actor, "operator.updated", operator, changes=delta)
    return operator


LOGO_MAX_BYTES = 512 * 1024
LOGO_MAX_SIDE = 2000
LOGO_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}


@transaction.atomic
def set_operator_logo(*, actor: Any, operator: Operator, data: bytes | None) -> Operator:
    """Set (PNG or JPEG, at most 512 KB and 2000 px a side) or, with ``None``, remove the
    logo printed on the operator's bills; same rights as editing the operator."""
    require(actor, "operators.change", operator)
    access = access_of(actor)
    if actor is not None and not access.tenant_wide and operator.pk == access.operator_id:
        raise NotAllowedError(_("You cannot change your own operator's terms."))
    if data is None:
        removed, _rows = OperatorLogo.objects.filter(operator=operator).delete()
        if removed:
            audit.record(actor, "operator.logo_removed", operator)
        return operator
    if len(data) > LOGO_MAX_BYTES:
        raise DomainError(
            _("The logo is larger than 512 KB."), fields={"logo": [_("At most 512 KB.")]}
        )
    content_type = _image_type(data)
    OperatorLogo.objects.update_or_create(
        operator=operator, defaults={"content_type": content_type, "data": data}
    )
    audit.record(actor, "operator.logo_set", operator, changes={"bytes": [None, len(data)]})
    return operator


def _image_type(data: bytes) -> str:
    """The MIME type of a PNG or JPEG image of a sensible size; anything else is refused."""
    from io import BytesIO

    from PIL import Image, UnidentifiedImageError

    problem = DomainError(
        _("The logo must be a PNG or JPEG image, at most 2000 pixels a side."),
        fields={"logo": [_("Use a PNG or JPEG image.")]},
    )
    try:
        with Image.open(BytesIO(data)) as image:
            kind, size = image.format, image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise problem from None
    if kind not in LOGO_TYPES or max(size) > LOGO_MAX_SIDE:
        raise problem
    return LOGO_TYPES[kind]


def branding_of(operator: Operator) -> tuple[OperatorLogo | None, str]:
    """The logo and VAT registration a bill of ``operator`` carries: its own, else those of
    the nearest operator above it that has one."""
    chain = [operator.pk, *reversed(operator.ancestor_ids()[:-1])]
    with_logo = set(
        OperatorLogo.objects.filter(operator_id__in=chain).values_list("operator_id", flat=True)
    )
    nearest = next((pk for pk in chain if pk in with_logo), None)
    registrations = dict(
        Operator.objects.filter(pk__in=chain)
        .exclude(vat_registration="")
        .values_list("pk", "vat_registration")
    )
    registration = next((registrations[pk] for pk in chain if pk in registrations), "")
    logo = OperatorLogo.objects.get(operator_id=nearest) if nearest is not None else None
    return logo, registration


@transaction.atomic
def set_operator_active(
    *, actor: Any, operator: Operator, active: bool, reason: str = ""
) -> Operator:
    """Enable or disable an operator; a disabled operator's subtree loses access at once."""
    require(actor, "operators.change", operator)
    if operator.parent_id is None:
        raise DomainError(_("The group admin's own node cannot be disabled; disable the ISP."))
    access = access_of(actor)
    if actor is not None and operator.pk == access.operator_id:
        raise NotAllowedError(_("You cannot disable your own operator."))
    why = "" if active else (reason or "")[:200]
    updated = Operator.objects.filter(pk=operator.pk).update(is_active=active, disabled_reason=why)
    if updated:
        operator.is_active, operator.disabled_reason = active, why
        audit.record(
            actor,
            "operator.enabled" if active else "operator.disabled",
            operator,
            changes={"reason": reason},
        )
    return operator


@transaction.atomic
def set_tenant_active(*, actor: Any, tenant: Tenant, active: bool, reason: str = "") -> Tenant:
    """Enable or disable a whole ISP (platform super admins only)."""
    if actor is not None and not access_of(actor).is_superadmin:
        raise NotAllowedError(_("Only platform super admins enable or disable ISPs."))
    Tenant.objects.filter(pk=tenant.pk).update(is_active=active)
    tenant.is_active = active
    audit.record(
        actor, "tenant.enabled" if active else "tenant.disabled", tenant, changes={"reason": reason}
    )
    return tenant


def _validate_password(password: str, user: User | None = None) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), fields={"password": list(exc.messages)}) from None


def _check_role(actor: Any, operator: Operator, role: str) -> None:
    if role not in Role.values:
        raise DomainError(
            _("Unknown role %(role)s.") % {"role": role},
            fields={"role": [_("Choose a role from the list.")]},
        )
    if role == Role.GROUP_ADMIN and operator.parent_id is not None:
        raise DomainError(
            _("Group admins belong to the ISP's own node, not to a reseller."),
            fields={"role": [_("Not allowed for this operator.")]},
        )
    access = access_of(actor)
    if (
        actor is not None
        and role == Role.GROUP_ADMIN
        and not (access.is_superadmin or access.role == Role.GROUP_ADMIN)
    ):
        raise NotAllowedError(_("Only group admins can appoint group admins."))


@transaction.atomic
def create_staff_user(
    *,
    actor: Any,
    operator: Operator,
    username: str,
    password: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    mobile: str = "",
) -> User:
    """Create a staff login at an operator with a role."""
    require(actor, "users.add", operator)
    _check_role(actor, operator, role)
    username = username.strip()
    if not username:
        raise DomainError(_("Choose a username."), fields={"username": [_("Required.")]})
    if User.objects.filter(username__iexact=username).exists():
        raise ConflictError(
            _("The username %(name)s is taken.") % {"name": username},
            fields={"username": [_("Already taken.")]},
        )
    clean_mobile = _clean_mobile(mobile)
    if clean_mobile and User.objects.filter(mobile=clean_mobile).exists():
        raise ConflictError(
            _("Another staff user has the mobile %(m)s.") % {"m": clean_mobile},
            fields={"mobile": [_("Already used.")]},
        )
    candidate = User(username=username, first_name=first_name, last_name=last_name, email=email)
    _validate_password(password, candidate)
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=username,
                password=password,
                first_name=first_name.strip(),
                last_name=last_name.strip(),
                email=email.strip(),
                mobile=clean_mobile,
            )
    except IntegrityError:
        raise ConflictError(_("The username or mobile is already used.")) from None
    Membership.objects.create(user=user, operator=operator, role=role)
    audit.record(
        actor,
        "user.created",
        user,
        changes={"role": role, "operator": operator.name},
    )
    return user


def _membership(user: User) -> Membership:
    try:
        return Membership.objects.select_related("operator").get(user=user)
    except Membership.DoesNotExist:
        raise DomainError(_("This user is a platform admin, not ISP staff.")) from None


STAFF_EDITABLE = ("first_name", "last_name", "email", "mobile", "role", "is_active")


@transaction.atomic
def update_staff_user(*, actor: Any, user: User, **changes: Any) -> User:
    """Change a staff user's details, role or active flag."""
    membership = _membership(user)
    require(actor, "users.change", membership.operator)
    unknown = set(changes) - set(STAFF_EDITABLE)
    if unknown:
        raise DomainError(_("These fields cannot be changed: %s") % ", ".join(sorted(unknown)))
    if (
        actor is not None
        and getattr(actor, "pk", None) == user.pk
        and ("role" in changes or changes.get("is_active") is False)
    ):
        raise NotAllowedError(_("You cannot change your own role or disable yourself."))
    before = {key: (membership.role if key == "role" else getattr(user, key)) for key in changes}
    if "role" in changes:
        _check_role(actor, membership.operator, changes["role"])
        membership.role = changes.pop("role")
        membership.save(update_fields=["role"])
    if "mobile" in changes:
        changes["mobile"] = _clean_mobile(changes["mobile"])
        if (
            changes["mobile"]
            and User.objects.filter(mobile=changes["mobile"]).exclude(pk=user.pk).exists()
        ):
            raise ConflictError(
                _("Another staff user has that mobile."), fields={"mobile": [_("Already used.")]}
            )
    for key, value in changes.items():
        setattr(user, key, value)
    user.save()
    after = {key: (membership.role if key == "role" else getattr(user, key)) for key in before}
    delta = audit.diff(before, after)
    if delta:
        audit.record(
            actor,
            "user.updated",
            user,
            changes=delta,
        )
    return user


@transaction.atomic
def set_special_permission(
    *, actor: Any, user: User, permission: str, granted: bool | None
) -> None:
    """Grant (True), revoke (False) or reset to the role default (None) one permission."""
    membership = _membership(user)
    require(actor, "users.change", membership.operator)
    if permission not in ALL_PERMISSIONS:
        raise DomainError(
            _("Unknown permission %(p)s.") % {"p": permission},
            fields={"permission": [_("Unknown.")]},
        )
    access = access_of(actor)
    if actor is not None and granted and not access.can(permission):
        raise NotAllowedError(_("You cannot grant a permission you do not hold."))
    if granted is None:
        PermissionOverride.objects.filter(user=user, permission=permission).delete()
    else:
        PermissionOverride.objects.update_or_create(
            user=user, permission=permission, defaults={"granted": granted}
        )
    audit.record(
        actor,
        "user.permission_changed",
        user,
        changes={"permission": permission, "granted": granted},
    )


@transaction.atomic
def change_password(
    *, actor: Any, user: User, new_password: str, old_password: str | None = None
) -> User:
    """Set a new password; every other session of the user ends (their auth hash changes)."""
    if actor is None or getattr(actor, "pk", None) != user.pk:
        membership = Membership.objects.select_related("operator").filter(user=user).first()
        require(actor, "users.change", membership.operator if membership else None)
        if membership is None and actor is not None and not access_of(actor).is_superadmin:
            raise NotAllowedError(_("You cannot change this user's password."))
    elif old_password is None or not user.check_password(old_password):
        raise DomainError(
            _("Your current password is not right."),
            fields={"old_password": [_("Wrong password.")]},
        )
    _validate_password(new_password, user)
    user.set_password(new_password)
    user.password_changed_at = clock.now()
    user.save(update_fields=["password", "password_changed_at"])
    audit.record(actor, "user.password_changed", user)
    return user


@transaction.atomic
def create_superadmin(*, username: str, password: str, email: str = "") -> User:
    """A platform super admin (runs the platform across ISPs)."""
    if User.objects.filter(username__iexact=username).exists():
        raise ConflictError(
            _("The username %(name)s is taken.") % {"name": username},
            fields={"username": [_("Already taken.")]},
        )
    _validate_password(password, User(username=username, email=email))
    user = User.objects.create_superuser(username=username, password=password, email=email)
    audit.record(None, "user.superadmin_created", user)
    return user


# ---- login throttling -------------------------------------------------------------------


def login_blocked(username: str, ip: str | None, user: User | None = None) -> bool:
    """True while too many recent failures came for this login (any spelling of the account)
    or from this address."""
    since = clock.now() - dt.timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS)
    recent = LoginAttempt.objects.filter(at__gte=since, success=False)
    same_login = Q(username__iexact=username) | (Q(user=user) if user is not None else Q())
    if recent.filter(same_login).count() >= settings.LOGIN_THROTTLE_ATTEMPTS:
        return True
    return bool(ip) and recent.filter(ip=ip).count() >= settings.LOGIN_THROTTLE_IP_ATTEMPTS


def record_login_attempt(
    *,
    username: str,
    user: User | None,
    success: bool,
    reason: str = "",
    ip: str | None = None,
    user_agent: str = "",
) -> LoginAttempt:
    """Log an attempt (and, on success, an audit row) for throttling and review."""
    membership = Membership.objects.filter(user=user).select_related("operator").first()
    operator = membership.operator if membership else None
    attempt = LoginAttempt.objects.create(
        tenant_id=operator.tenant_id if operator else None,
        operator=operator,
        user=user,
        username=username[:150],
        ip=ip,
        user_agent=user_agent[:300],
        success=success,
        reason=reason,
        at=clock.now(),
    )
    if success and user is not None:
        audit.record(user, "user.logged_in", user)
    return attempt


def purge_login_attempts(*, older_than_days: int) -> int:
    """Delete login attempts older than the given days; returns how many."""
    cutoff = clock.now() - dt.timedelta(days=older_than_days)
    deleted, _rows = LoginAttempt.objects.filter(at__lt=cutoff).delete()
    return deleted


# ---- API tokens -------------------------------------------------------------------------

TOKEN_PREFIX = "isp_"


def hash_token(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


@transaction.atomic
def create_api_token(*, actor: Any, user: User, name: str) -> tuple[ApiToken, str]:
    """A new bearer token for the user; the plain value is returned once and never stored."""
    if actor is not None and getattr(actor, "pk", None) != user.pk:
        membership = _membership(user)
        require(actor, "users.change", membership.operator)
    name = name.strip()
    if not name:
        raise DomainError(
            _("Name the token (e.g. the system that will use it)."),
            fields={"name": [_("Required.")]},
        )
    if not user.is_active:
        raise DomainError(_("The user is disabled."))
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:80], prefix=plain[: len(TOKEN_PREFIX) + 6], key_hash=hash_token(plain)
    )
    audit.record(actor, "api_token.created", token)
    return token, plain


@transaction.atomic
def revoke_api_token(*, actor: Any, token: ApiToken) -> ApiToken:
    """Revoke a token at once; requests with it get 401 from now on."""
    if actor is not None and getattr(actor, "pk", None) != token.user_id:
        require(actor, "users.change", _membership(token.user).operator)
    ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(revoked_at=clock.now())
    token.refresh_from_db()
    audit.record(actor, "api_token.revoked", token)
    return token


def user_for_token(plain: str) -> User | None:
    """The active user behind an active token; records when it was last used."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_token(plain), revoked_at=None)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    moment = clock.now()
    if token.last_used_at is None or moment - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=moment)
    return token.user
