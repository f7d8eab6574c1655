"""The only writers of packages, billing profiles and VAT profiles."""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from ispbills.catalog.models import BillingProfile, Package, VatProfile
from ispbills.core import audit, events
from ispbills.core.access import require
from ispbills.core.errors import ConflictError, DomainError
from ispbills.core.money import MoneyError, to_money
from ispbills.tenancy.models import Operator


def _money(values: dict[str, Any], key: str) -> None:
    if key in values:
        try:
            values[key] = to_money(values[key] if values[key] not in (None, "") else "0")
        except MoneyError as exc:
            raise DomainError(str(exc), fields={key: [str(exc)]}) from None
        if values[key] < 0:
            raise DomainError(
                _("Amounts cannot be negative."), fields={key: [_("Must be zero or more.")]}
            )


def _unique_name(model: Any, operator: Operator, name: str, exclude: Any = None) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give it a name."), fields={"name": [_("Required.")]})
    clash = model.objects.filter(tenant_id=operator.tenant_id, operator=operator, name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise ConflictError(
            _("%(name)s already exists for this operator.") % {"name": name},
            fields={"name": [_("Already used.")]},
        )
    return name


def _save(actor: Any, item: Any, values: dict[str, Any], verb: str) -> Any:
    before = {key: getattr(item, key) for key in values} if item.pk else {}
    for key, value in values.items():
        setattr(item, key, value)
    item.full_clean(exclude=["tenant", "operator"], validate_constraints=False)
    item.save()
    changes = audit.diff(before, {key: getattr(item, key) for key in values})
    if changes or verb.endswith("created"):
        audit.record(actor, verb, item, changes=changes)
    return item


def _checked(errors_from: Any) -> Any:
    from django.core.exceptions import ValidationError

    try:
        return errors_from()
    except ValidationError as exc:
        fields = {key: [str(m) for m in msgs] for key, msgs in exc.message_dict.items()}
        raise DomainError(
            " ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()), fields=fields
        ) from None


PACKAGE_FIELDS = ("name", *Package.TECHNICAL_FIELDS, "price", "vat_profile", "is_active")


@transaction.atomic
def save_package(
    *,
    actor: Any,
    operator: Operator,
    package: Package | None = None,
    parent: Package | None = None,
    **values: Any,
) -> Package:
    """Create or change a package. A variant (``parent`` = a master package of an operator
    above) has its own name, price and VAT; its technical fields follow the master."""
    require(actor, "catalog.change" if package else "catalog.add", operator)
    unknown = set(values) - set(PACKAGE_FIELDS)
    if unknown:
        raise DomainError(_("These fields cannot be set: %s") % ", ".join(sorted(unknown)))
    if package is not None:
        package = Package.objects.select_for_update().get(pk=package.pk)
        parent = package.parent
    if parent is not None:
        if parent.parent_id is not None:
            raise DomainError(
                _("Variants are made from master packages, not from variants."),
                fields={"parent": [_("Choose a master package.")]},
            )
        if (
            parent.tenant_id != operator.tenant_id
            or not operator.path.startswith(parent.operator.path)
            or parent.operator_id == operator.pk
        ):
            raise DomainError(
                _("A variant belongs to an operator below the master's owner."),
                fields={"parent": [_("Not available here.")]},
            )
        if set(values) & set(Package.TECHNICAL_FIELDS):
            raise DomainError(_("A variant's speeds and rules follow its master package."))
        values.update(
            {key: getattr(parent, key) for key in Package.TECHNICAL_FIELDS}
            if package is None
            else {}
        )
    if "name" in values or package is None:
        values["name"] = _unique_name(Package, operator, values.get("name", ""), package)
    _money(values, "price")
    vat = values.get("vat_profile")
    if vat is not None and not operator.path.startswith(vat.operator.path):
        raise DomainError(
            _("That VAT profile is not available here."),
            fields={"vat_profile": [_("Not available.")]},
        )
    for key in ("download_kbps", "upload_kbps"):
        if package is None and parent is None and not values.get(key):
            raise DomainError(_("Give the package its speeds."), fields={key: [_("Required.")]})
    item = package or Package(tenant_id=operator.tenant_id, operator=operator, parent=parent)
    saved = _checked(
        lambda: _save(actor, item, values, "package.updated" if package else "package.created")
    )
    technical = {key: getattr(saved, key) for key in Package.TECHNICAL_FIELDS}
    if package is not None and parent is None and saved.variants.exists():
        saved.variants.update(**technical)  # variants follow their master's speeds and rules
    # -- RADIUS: the radius app (a layer above) rewrites the packages' group rows on this event.
    variants = list(saved.variants.values_list("pk", flat=True)) if parent is None else []
    events.emit("package.saved", package_ids=[saved.pk, *variants])
    # -- end RADIUS
    return saved


PROFILE_FIELDS = (
    "name",
    "term",
    "due_day",
    "auto_bill",
    "grace_days",
    "min_validity_days",
    "discount_kind",
    "discount_value",
    "is_active",
)


@transaction.atomic
def save_billing_profile(
    *, actor: Any, operator: Operator, profile: BillingProfile | None = None, **values: Any
) -> BillingProfile:
    """Create or change a billing profile."""
    require(actor, "catalog.change" if profile else "catalog.add", operator)
    unknown = set(values) - set(PROFILE_FIELDS)
    if unknown:
        raise DomainError(_("These fields cannot be set: %s") % ", ".join(sorted(unknown)))
    if "name" in values or profile is None:
        values["name"] = _unique_name(BillingProfile, operator, values.get("name", ""), profile)
    _money(values, "discount_value")
    merged = {key: getattr(profile, key) for key in PROFILE_FIELDS} if profile else {}
    merged.update(values)
    term = merged.get("term") or BillingProfile.Term.MONTHLY
    if term == BillingProfile.Term.MONTHLY and not merged.get("due_day"):
        raise DomainError(
            _("Monthly billing needs a due day (1 to 31)."),
            fields={"due_day": [_("Required for monthly billing.")]},
        )
    kind = merged.get("discount_kind") or BillingProfile.Discount.NONE
    amount = merged.get("discount_value") or 0
    if kind == BillingProfile.Discount.PERCENT and amount > 100:
        raise DomainError(
            _("A percent discount cannot exceed 100."),
            fields={"discount_value": [_("At most 100.")]},
        )
    item = profile or BillingProfile(tenant_id=operator.tenant_id, operator=operator)
    return _checked(
        lambda: _save(
            actor, item, values, "billing_profile.updated" if profile else "billing_profile.created"
        )
    )


@transaction.atomic
def save_vat_profile(
    *, actor: Any, operator: Operator, profile: VatProfile | None = None, **values: Any
) -> VatProfile:
    """Create or change a VAT profile."""
    require(actor, "catalog.change" if profile else "catalog.add", operator)
    unknown = set(values) - {"name", "rate", "inclusive", "is_active"}
    if unknown:
        raise DomainError(_("These fields cannot be set: %s") % ", ".join(sorted(unknown)))
    if "name" in values or profile is None:
        values["name"] = _unique_name(VatProfile, operator, values.get("name", ""), profile)
    if "rate" in values:
        _money(values, "rate")
        if values["rate"] > 100:
            raise DomainError(
                _("A VAT rate is at most 100%."), fields={"rate": [_("At most 100.")]}
            )
    item = profile or VatProfile(tenant_id=operator.tenant_id, operator=operator)
    return _checked(
        lambda: _save(
            actor, item, values, "vat_profile.updated" if profile else "vat_profile.created"
        )
    )
