"""The only writers of customers, zones, custom fields and notes.

Every change records an audit row whose ``changes`` hold ``{field: [before, after]}``; the
customer's change log is read from those rows. Lifecycle changes emit
``customer.status_changed`` so RADIUS, notifications and webhooks react through jobs.
"""

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_ipv46_address
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from ispbills.catalog.models import BillingProfile, Package
from ispbills.core import audit, clock, events
from ispbills.core.access import access_of, require
from ispbills.core.errors import ConflictError, DomainError, NotAllowedError
from ispbills.core.mac import MacError, normalize_mac
from ispbills.core.money import MoneyError, to_money
from ispbills.core.phone import PhoneError, normalize_mobile
from ispbills.customers.models import Customer, CustomerNote, CustomField, Zone, claimant_id
from ispbills.network.addresses import static_address_problem
from ispbills.radius import accounting, disconnect
from ispbills.radius import services as radius_services
from ispbills.radius.models import Disconnect, RadAcct
from ispbills.radius.provisioning import provision_customers
from ispbills.tenancy.models import Operator, User
from ispbills.tenancy.roles import Role

Status = Customer.Status

# Allowed lifecycle moves; "deleted" is left only through restore_customer().
TRANSITIONS: dict[str, set[str]] = {
    Status.ACTIVE: {Status.SUSPENDED, Status.DISABLED, Status.FUP, Status.DELETED},
    Status.SUSPENDED: {Status.ACTIVE, Status.DISABLED, Status.DELETED},
    Status.DISABLED: {Status.ACTIVE, Status.DELETED},
    Status.FUP: {Status.ACTIVE, Status.SUSPENDED, Status.DISABLED, Status.DELETED},
    Status.DELETED: set(),
}
VERBS = {
    Status.ACTIVE: "activated",
    Status.SUSPENDED: "suspended",
    Status.DISABLED: "disabled",
    Status.FUP: "fup_applied",
    Status.DELETED: "deleted",
}

EDITABLE = (
    "username",
    "service_password",
    "name",
    "mobile",
    "email",
    "national_id",
    "address",
    "house",
    "road",
    "zone",
    "service_model",
    "package",
    "billing_profile",
    "custom_price",
    "mac_address",
    "static_ipv4",
    "static_ipv6",
    "expires_at",
    "parent",
    "manager",
    "sales_notes",
    "custom_fields",
    "is_trial",
    "trial_ends_at",
)
REQUIRED = ("username", "name", "mobile", "package")
NEEDS_PASSWORD = {Customer.ServiceModel.PPPOE, Customer.ServiceModel.HOTSPOT}
MONEY_FIELDS = {"custom_price"}
SECRET_FIELDS = {"service_password"}


class CustomerInvalidError(DomainError):
    """The customer's data breaks one or more rules; ``fields`` says which."""


def _visible(actor: Any, queryset: Any) -> Any:
    """Rows the actor may see (the system sees all)."""
    return queryset if actor is None else queryset.restrict(actor, "view")


def _usable_by(item: Any, operator: Operator) -> bool:
    """A catalog row is usable by an operator when owned by it or by one of its ancestors."""
    return item.tenant_id == operator.tenant_id and operator.path.startswith(item.operator.path)


def describe(customer: Customer, actor: Any) -> str:
    """How to name a clashing customer: in full when the actor may see it."""
    if actor is None or Customer.objects.restrict(actor).filter(pk=customer.pk).exists():
        return _("customer %(name)s (#%(id)s)") % {"name": str(customer), "id": customer.pk}
    return _("another customer of this ISP")


# ---- validation ---------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def raise_if_any(self, conflict: bool = False) -> None:
        if not self.fields:
            return
        summary = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in self.fields.items())
        error = ConflictError if conflict else CustomerInvalidError
        raise error(
            _("The customer was not saved. %(problems)s") % {"problems": summary},
            fields=self.fields,
        )


def _clean_values(data: dict[str, Any], errors: _Errors) -> dict[str, Any]:
    """Normalise what is unambiguous (mobile, MAC, money, text); record what is wrong."""
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, str) and key not in SECRET_FIELDS:
            value = value.strip()
        try:
            if key == "mobile" and value:
                value = normalize_mobile(value)
            elif key == "mac_address" and value:
                value = normalize_mac(value)
            elif key in MONEY_FIELDS:
                value = None if value in (None, "") else to_money(value)
                if value is not None and value < 0:
                    raise ValueError(_("Must be zero or more."))
            elif key == "email" and value:
                validate_email(value)
            elif key in {"static_ipv4", "static_ipv6"}:
                value = value or None
                if value:
                    validate_ipv46_address(value)
                    is_v6 = ":" in value
                    if is_v6 != (key == "static_ipv6"):
                        raise ValueError(
                            _("Not an IPv6 address.")
                            if key == "static_ipv6"
                            else _("Not an IPv4 address.")
                        )
            elif (
                key == "username"
                and value
                and not all(ch.isalnum() or ch in "._-@" for ch in value)
            ):
                raise ValueError(_("Use letters, digits and . _ - @ only."))
            elif key == "service_model" and value not in Customer.ServiceModel.values:
                raise ValueError(_("Unknown service model."))
        except (PhoneError, MacError, MoneyError, ValueError, ValidationError) as exc:
            message = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
            errors.add(key, message)
            continue
        clean[key] = value
    return clean


def _clean_custom_fields(tenant_id: int, values: Any, errors: _Errors) -> dict[str, Any]:
    definitions = {
        d.key: d for d in CustomField.objects.filter(tenant_id=tenant_id, is_active=True)
    }
    values = dict(values or {})
    result: dict[str, Any] = {}
    for key in sorted(set(values) - set(definitions)):
        errors.add("custom_fields", _("Unknown custom field %(key)s.") % {"key": key})
    for key, definition in definitions.items():
        raw = values.get(key)
        raw = raw.strip() if isinstance(raw, str) else raw
        if raw in (None, ""):
            if definition.required:
                errors.add(
                    "custom_fields", _("%(label)s is required.") % {"label": definition.label}
                )
            continue
        try:
            if definition.kind == CustomField.Kind.NUMBER:
                result[key] = str(Decimal(str(raw).replace(",", "")))
            elif definition.kind == CustomField.Kind.DATE:
                result[key] = dt.date.fromisoformat(str(raw)).isoformat()
            elif definition.kind == CustomField.Kind.CHOICE:
                if raw not in definition.choices:
                    raise ValueError
                result[key] = raw
            else:
                result[key] = str(raw)[:500]
        except (InvalidOperation, ValueError):
            errors.add(
                "custom_fields",
                _("%(label)s: %(value)s is not a valid %(kind)s.")
                % {"label": definition.label, "value": raw, "kind": definition.get_kind_display()},
            )
    return result


def _check_references(
    actor: Any, operator: Operator, values: dict[str, Any], errors: _Errors
) -> None:
    for key, model in (("zone", Zone), ("package", Package), ("billing_profile", BillingProfile)):
        item = values.get(key)
        if item is None:
            continue
        if not _visible(actor, model.objects.filter(pk=item.pk)).exists() or not _usable_by(
            item, operator
        ):
            errors.add(key, _("Not available to this operator."))
        elif getattr(item, "is_active", True) is False:
            errors.add(key, _("This one is no longer active."))
    parent = values.get("parent")
    if parent is not None and (
        parent.tenant_id != operator.tenant_id
        or not _visible(actor, Customer.objects.filter(pk=parent.pk)).exists()
    ):
        errors.add("parent", _("Not a customer you can link to."))
    manager = values.get("manager")
    if manager is not None:
        membership = getattr(manager, "membership", None)
        if (
            membership is None
            or membership.role != Role.MANAGER
            or not operator.path.startswith(membership.operator.path)
        ):
            errors.add("manager", _("Choose a manager of this operator or above it."))


def _check_duplicates(
    actor: Any, tenant_id: int, values: dict[str, Any], customer: Customer | None, errors: _Errors
) -> None:
    others = Customer.objects.filter(tenant_id=tenant_id)
    if customer is not None:
        others = others.exclude(pk=customer.pk)
    live = others.exclude(status=Status.DELETED)
    checks: list[tuple[str, Any]] = []
    if values.get("username"):
        checks.append(("username", others.filter(username__iexact=values["username"])))
    for key in ("mac_address", "static_ipv4", "static_ipv6"):
        if values.get(key):
            checks.append((key, live.filter(**{key: values[key]})))
    mobile = values.get("mobile")
    if mobile:
        family = Q()
        parent = values.get("parent") or (customer.parent if customer else None)
        if parent is not None:
            family |= Q(pk=parent.pk) | Q(parent=parent)
        if customer is not None:
            family |= Q(parent=customer)
        checks.append(
            (
                "mobile",
                live.filter(mobile=mobile).exclude(family)
                if family
                else live.filter(mobile=mobile),
            )
        )
    for field, clash_query in checks:
        clash = clash_query.first()
        if clash is not None:
            note = _(" (deleted; restore it instead)") if clash.status == Status.DELETED else ""
            errors.add(
                field,
                _("Already used by %(who)s%(note)s.")
                % {"who": describe(clash, actor), "note": note},
            )


def _check_static_addresses(tenant_id: int, values: dict[str, Any], errors: _Errors) -> None:
    """A static address fits the ISP's pools: inside a static pool (when it has any), never
    in a dynamic or suspended pool, never a network, broadcast or excluded address."""
    for key in ("static_ipv4", "static_ipv6"):
        if values.get(key) and key not in errors.fields:
            problem = static_address_problem(tenant_id, values[key])
            if problem:
                errors.add(key, problem)


def check_rules(values: dict[str, Any], errors: _Errors) -> None:
    """The rules on a customer's values that need no database (imports use them too)."""
    for key in REQUIRED:
        if not values.get(key) and key not in errors.fields:
            errors.add(key, _("Required."))
    service_model = values.get("service_model") or Customer.ServiceModel.PPPOE
    if service_model in NEEDS_PASSWORD and not values.get("service_password"):
        errors.add("service_password", _("PPPoE and hotspot accounts need a password."))
    if (
        service_model == Customer.ServiceModel.STATIC
        and not values.get("static_ipv4")
        and not values.get("static_ipv6")
    ):
        errors.add("static_ipv4", _("Static IP customers need an address."))
    package = values.get("package")
    if package is not None and package.service_model != service_model:
        errors.add(
            "package",
            _("This package is for %(model)s customers.")
            % {"model": package.get_service_model_display()},
        )


def _validate(
    actor: Any, operator: Operator, data: dict[str, Any], customer: Customer | None
) -> dict[str, Any]:
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise CustomerInvalidError(_("These fields cannot be set: %s") % ", ".join(sorted(unknown)))
    errors = _Errors()
    values = _clean_values(data, errors)
    if "custom_fields" in values:
        values["custom_fields"] = _clean_custom_fields(
            operator.tenant_id, values["custom_fields"], errors
        )
    merged = {key: getattr(customer, key) for key in EDITABLE} if customer else {}
    merged.update(values)
    check_rules(merged, errors)
    if merged.get("is_trial") and not merged.get("trial_ends_at"):
        errors.add("trial_ends_at", _("A trial needs its end time."))
    if (
        customer is not None
        and merged.get("parent") is not None
        and (merged["parent"].pk == customer.pk or merged["parent"].parent_id == customer.pk)
    ):
        errors.add("parent", _("A customer cannot be its own parent or grandparent."))
    _check_references(actor, operator, values, errors)
    _check_static_addresses(operator.tenant_id, values, errors)
    errors.raise_if_any()
    _check_duplicates(
        actor, operator.tenant_id, merged if customer is None else values, customer, errors
    )
    errors.raise_if_any(conflict=True)
    return values


def _audit_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    changes = audit.diff(before, after)
    for key in SECRET_FIELDS & set(changes):
        changes[key] = ["•••", "•••"]  # that it changed, never what it is
    return changes


# ---- registration and edits ---------------------------------------------------------------


@transaction.atomic
def register_customer(*, actor: Any, operator: Operator, **data: Any) -> Customer:
    """Create a customer under an operator (staff form, API, import or portal sign-up)."""
    require(actor, "customers.add", operator)
    if not operator.is_active:
        raise DomainError(_("This operator is disabled."))
    if not data.get("manager") and access_of(actor).role == Role.MANAGER:
        data["manager"] = actor  # managers work only with assigned customers: keep what you add
    values = _validate(actor, operator, data, None)
    customer = Customer(tenant_id=operator.tenant_id, operator=operator, **values)
    customer.status_changed_at = clock.now()
    customer.save()
    changes = _audit_changes({}, {key: getattr(customer, key) for key in values})
    audit.record(actor, "customer.created", customer, changes=changes)
    provision_customers([customer.pk])  # RADIUS rows, same transaction
    events.emit("customer.created", customer_id=customer.pk)
    return customer


@transaction.atomic
def update_customer(*, actor: Any, customer: Customer, **data: Any) -> Customer:
    """Change a customer's details or service; only changed fields are logged."""
    customer = Customer.objects.select_for_update().select_related("operator").get(pk=customer.pk)
    require(actor, "customers.change", customer.operator)
    if customer.status == Status.DELETED:
        raise DomainError(_("Restore the customer before changing it."))
    values = _validate(actor, customer.operator, data, customer)
    before = {key: getattr(customer, key) for key in values}
    for key, value in values.items():
        setattr(customer, key, value)
    changes = _audit_changes(before, {key: getattr(customer, key) for key in values})
    if not changes:
        return customer
    customer.save()
    audit.record(actor, "customer.updated", customer, changes=changes)
    # RADIUS rows, same transaction; a previous username's rows go too.
    provision_customers([customer.pk], usernames=[before.get("username") or ""])
    events.emit("customer.updated", customer_id=customer.pk, fields=sorted(changes))
    if "package" in changes:
        _package_changed(actor, [customer.pk])
    return customer


def _package_changed(actor: Any, customer_ids: list[int]) -> None:
    """Billing adjusts the current period of customers moved to another package."""
    events.emit(
        "customer.package_changed",
        customer_ids=customer_ids,
        actor_id=getattr(actor, "pk", None),
    )


# ---- lifecycle ----------------------------------------------------------------------------


@transaction.atomic
def change_status(*, actor: Any, customer: Customer, to: str, reason: str = "") -> Customer:
    """Move a customer along the lifecycle; refuses moves the state machine does not allow."""
    customer = Customer.objects.select_for_update().select_related("operator").get(pk=customer.pk)
    require(
        actor, "customers.delete" if to == Status.DELETED else "customers.change", customer.operator
    )
    old = customer.status
    if to not in Status.values:
        raise DomainError(_("Unknown status %(s)s.") % {"s": to})
    if to == old:
        raise DomainError(
            _("The customer is already %(s)s.") % {"s": customer.get_status_display()}
        )
    if to not in TRANSITIONS[old]:
        raise DomainError(
            _("A %(old)s customer cannot become %(new)s.")
            % {"old": Status(old).label, "new": Status(to).label}
        )
    if to in {Status.ACTIVE, Status.FUP} and customer.package_id is None:
        raise DomainError(_("Give the customer a package before activating."))
    now = clock.now()
    customer.status, customer.status_reason, customer.status_changed_at = to, reason[:200], now
    fields = ["status", "status_reason", "status_changed_at", "updated_at"]
    if to == Status.DELETED:
        customer.status_before_delete, customer.deleted_at = old, now
        fields += ["status_before_delete", "deleted_at"]
    customer.save(update_fields=fields)
    audit.record(
        actor,
        f"customer.{VERBS[Status(to)]}",
        customer,
        changes={"status": [old, to], "reason": reason},
    )
    provision_customers([customer.pk])  # RADIUS rows, same transaction
    events.emit(
        "customer.status_changed",
        customer_id=customer.pk,
        old=old,
        new=to,
        actor_id=getattr(actor, "pk", None),
    )
    return customer


def suspend_customer(*, actor: Any, customer: Customer, reason: str = "") -> Customer:
    return change_status(actor=actor, customer=customer, to=Status.SUSPENDED, reason=reason)


def activate_customer(*, actor: Any, customer: Customer, reason: str = "") -> Customer:
    return change_status(actor=actor, customer=customer, to=Status.ACTIVE, reason=reason)


def disable_customer(*, actor: Any, customer: Customer, reason: str = "") -> Customer:
    return change_status(actor=actor, customer=customer, to=Status.DISABLED, reason=reason)


def delete_customer(*, actor: Any, customer: Customer, reason: str = "") -> Customer:
    """Soft delete: the customer moves to the archive with its history."""
    return change_status(actor=actor, customer=customer, to=Status.DELETED, reason=reason)


@transaction.atomic
def restore_customer(*, actor: Any, customer: Customer, reason: str = "") -> Customer:
    """Bring a deleted customer back to the status it had, if nothing clashes now."""
    customer = Customer.objects.select_for_update().select_related("operator").get(pk=customer.pk)
    require(actor, "customers.delete", customer.operator)
    if customer.status != Status.DELETED:
        raise DomainError(_("Only deleted customers can be restored."))
    errors = _Errors()
    _check_duplicates(
        actor,
        customer.tenant_id,
        {
            "mobile": customer.mobile,
            "mac_address": customer.mac_address,
            "static_ipv4": customer.static_ipv4,
            "static_ipv6": customer.static_ipv6,
        },
        customer,
        errors,
    )
    errors.raise_if_any(conflict=True)
    back_to = customer.status_before_delete or Status.DISABLED
    customer.status, customer.status_reason = back_to, reason[:200]
    customer.status_changed_at, customer.deleted_at = clock.now(), None
    customer.save(
        update_fields=["status", "status_reason", "status_changed_at", "deleted_at", "updated_at"]
    )
    audit.record(
        actor,
        "customer.restored",
        customer,
        changes={"status": [Status.DELETED, back_to], "reason": reason},
    )
    provision_customers([customer.pk])  # RADIUS rows, same transaction
    events.emit("customer.status_changed", customer_id=customer.pk, old=Status.DELETED, new=back_to)
    return customer


@transaction.atomic
def transfer_customer(
    *, actor: Any, customer: Customer, to_operator: Operator, reason: str = ""
) -> Customer:
    """Move a customer to another operator of the same ISP, keeping its history."""
    customer = Customer.objects.select_for_update().select_related("operator").get(pk=customer.pk)
    require(actor, "customers.change", customer.operator)
    require(actor, "customers.add", to_operator)
    if to_operator.tenant_id != customer.tenant_id:
        raise NotAllowedError(_("Customers move only between operators of the same ISP."))
    if to_operator.pk == customer.operator_id:
        raise DomainError(_("The customer already belongs to %(op)s.") % {"op": to_operator})
    if not to_operator.is_active:
        raise DomainError(_("%(op)s is disabled.") % {"op": to_operator})
    errors = _Errors()
    for key in ("zone", "package", "billing_profile"):
        item = getattr(customer, key)
        if item is not None and not _usable_by(item, to_operator):
            errors.add(
                key,
                _("%(item)s is not available to %(op)s; change it first.")
                % {"item": item, "op": to_operator},
            )
    manager = customer.manager
    membership = getattr(manager, "membership", None) if manager is not None else None
    if manager is not None and (
        membership is None or not to_operator.path.startswith(membership.operator.path)
    ):
        errors.add(
            "manager",
            _("%(who)s does not manage customers of %(op)s; change it first.")
            % {"who": manager, "op": to_operator},
        )
    errors.raise_if_any()
    old = customer.operator
    customer.operator = to_operator
    customer.save(update_fields=["operator", "updated_at"])
    audit.record(
        actor,
        "customer.transferred",
        customer,
        changes={"operator": [old.name, to_operator.name], "reason": reason},
    )
    provision_customers([customer.pk])  # RADIUS rows, same transaction
    events.emit(
        "customer.transferred",
        customer_id=customer.pk,
        old_operator_id=old.pk,
        new_operator_id=to_operator.pk,
    )
    return customer


@transaction.atomic
def add_note(*, actor: Any, customer: Customer, text: str) -> CustomerNote:
    """Attach a note to a customer."""
    require(actor, "customers.change", customer.operator)
    text = text.strip()
    if not text:
        raise DomainError(_("Write the note first."), fields={"text": [_("Required.")]})
    note = CustomerNote.objects.create(
        tenant_id=customer.tenant_id,
        operator_id=customer.operator_id,
        customer=customer,
        author=actor if getattr(actor, "pk", None) else None,
        text=text,
    )
    audit.record(actor, "customer.note_added", customer, changes={"note": text[:200]})
    return note


def expire_trials(*, now: dt.datetime | None = None) -> int:
    """Disable every trial account whose time is up (set-based, with one audit row each)."""
    now = now or clock.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            WITH expired AS (
                UPDATE customers_customer
                   SET status = 'disabled', status_reason = 'trial ended',
                       status_changed_at = %(now)s, updated_at = %(now)s
                 WHERE is_trial AND trial_ends_at <= %(now)s
                   AND status IN ('active', 'suspended', 'fup')
             RETURNING id, tenant_id, operator_id, username, name, status
            )
            INSERT INTO core_auditevent (tenant_id, operator_id, actor_label, verb, object_type,
                                         object_id, object_label, changes, user_agent, at)
            SELECT tenant_id, operator_id, 'system', 'customer.disabled', 'customers.customer',
                   id::text, left(username || ' · ' || name, 200),
                   '{"status": ["trial", "disabled"], "reason": "trial ended"}'::jsonb, '',
                   %(now)s
              FROM expired
            RETURNING object_id::bigint
            """,
            {"now": now},
        )
        ids = [row[0] for row in cursor.fetchall()]
        provision_customers(ids)  # RADIUS rows, same transaction
        disconnect.request_for_customers(ids, kind="disconnect", reason="trial ended")
        return len(ids)


def apply_fair_usage() -> dict[str, int]:
    """Move customers past their package's data limit this cycle to FUP, and customers back
    under it (a new cycle, a bigger package) to active; set-based, audited, re-provisioned,
    and the live sessions re-rated by CoA (after commit)."""
    with transaction.atomic():
        due = accounting.fup_changes()
        if not due:
            return {"fup": 0, "restored": 0}
        used = {pk: bytes_used for pk, _, bytes_used in due}
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE customers_customer c
                   SET status = d.status, status_changed_at = now(), updated_at = now(),
                       status_reason = CASE WHEN d.status = 'fup'
                                            THEN 'data limit reached' ELSE '' END
                  FROM unnest(%s::bigint[], %s::text[]) AS d(id, status)
                 WHERE c.id = d.id AND c.status IN ('active', 'fup') AND c.status <> d.status
                RETURNING c.id, c.tenant_id, c.operator_id, c.username, c.name, c.status
                """,
                [[pk for pk, _, _ in due], [to for _, to, _ in due]],
            )
            columns = [col.name for col in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        for to in (Status.FUP, Status.ACTIVE):
            moved = [row for row in rows if row["status"] == to]
            old = Status.ACTIVE if to == Status.FUP else Status.FUP
            _bulk_audit(
                None,
                "customer.fup" if to == Status.FUP else "customer.fup_ended",
                moved,
                lambda row, old=old: {
                    "status": [old, row["status"]],
                    "used_mb": used[row["id"]] // accounting.MB,
                },
            )
        ids = [row["id"] for row in rows]
        provision_customers(ids)  # RADIUS rows, same transaction
        for row in rows:
            old = Status.ACTIVE if row["status"] == Status.FUP else Status.FUP
            events.emit(
                "customer.status_changed", customer_id=row["id"], old=old, new=row["status"]
            )
        fup = sum(1 for row in rows if row["status"] == Status.FUP)
        return {"fup": fup, "restored": len(rows) - fup}


def is_online(customer: Customer) -> bool:
    """Whether the customer has an open session: one of its username, which it claims."""
    return (
        customer.status != Customer.Status.DELETED
        and RadAcct.objects.filter(username=customer.username, stop_time__isnull=True).exists()
        and claimant_id(customer.username) == customer.pk
    )


@transaction.atomic
def disconnect_sessions(*, actor: Any, customer: Customer, reason: str = "") -> Disconnect | None:
    """End the customer's live sessions now (the disconnect button); None when not online.

    Returns the pending request (a new one, or the one already pending). A customer whose
    username another ISP's customer claims has no sessions of its own: nothing is sent.
    """
    require(actor, "customers.change", customer.operator)
    if not is_online(customer):
        return None
    created = radius_services.disconnect_customer(actor=actor, customer=customer, reason=reason)
    return created or (
        Disconnect.objects.filter(
            customer_id=customer.pk,
            kind=Disconnect.Kind.DISCONNECT,
            status=Disconnect.Status.PENDING,
        )
        .order_by("-id")
        .first()
    )


# ---- zones and custom fields ----------------------------------------------------------------


@transaction.atomic
def save_zone(
    *,
    actor: Any,
    operator: Operator,
    name: str,
    kind: str = Zone.Kind.AREA,
    parent: Zone | None = None,
    zone: Zone | None = None,
) -> Zone:
    """Create (or rename/move) a zone owned by an operator."""
    require(actor, "customers.change" if zone else "customers.add", operator)
    name = name.strip()
    if not name:
        raise DomainError(_("Name the zone."), fields={"name": [_("Required.")]})
    if parent is not None and (
        parent.tenant_id != operator.tenant_id or not _usable_by(parent, operator)
    ):
        raise DomainError(
            _("The parent zone is not available here."), fields={"parent": [_("Not available.")]}
        )
    if zone is not None and parent is not None and (parent.pk == zone.pk):
        raise DomainError(_("A zone cannot be inside itself."), fields={"parent": [_("Invalid.")]})
    clash = Zone.objects.filter(tenant_id=operator.tenant_id, parent=parent, name__iexact=name)
    if zone is not None:
        clash = clash.exclude(pk=zone.pk)
    if clash.exists():
        raise ConflictError(
            _("A zone %(name)s exists there already.") % {"name": name},
            fields={"name": [_("Already used.")]},
        )
    target = zone or Zone(tenant_id=operator.tenant_id, operator=operator)
    before = {"name": target.name, "kind": target.kind, "parent": target.parent} if zone else {}
    target.name, target.kind, target.parent = name, kind, parent
    target.save()
    audit.record(
        actor,
        "zone.updated" if zone else "zone.created",
        target,
        changes=audit.diff(before, {"name": name, "kind": kind, "parent": parent}),
    )
    return target


@transaction.atomic
def save_custom_field(
    *,
    actor: Any,
    operator: Operator,
    key: str,
    label: str,
    kind: str = CustomField.Kind.TEXT,
    choices: list[str] | None = None,
    required: bool = False,
    position: int = 0,
    field: CustomField | None = None,
) -> CustomField:
    """Define (or change) one of the ISP's custom customer fields."""
    require(actor, "catalog.change" if field else "catalog.add", operator)
    if operator.parent_id is not None:
        raise NotAllowedError(
            _("Custom fields belong to the whole ISP; the group admin sets them.")
        )
    key, label = key.strip().lower(), label.strip()
    if not key or not label:
        raise DomainError(_("Give the field a key and a label."))
    if kind == CustomField.Kind.CHOICE and not choices:
        raise DomainError(
            _("A choice field needs its choices."), fields={"choices": [_("Required.")]}
        )
    clash = CustomField.objects.filter(tenant_id=operator.tenant_id, key=key)
    if field is not None:
        clash = clash.exclude(pk=field.pk)
    if clash.exists():
        raise ConflictError(
            _("The key %(key)s is used.") % {"key": key}, fields={"key": [_("Already used.")]}
        )
    target = field or CustomField(tenant_id=operator.tenant_id, operator=operator)
    target.key, target.label, target.kind = key, label, kind
    target.choices, target.required, target.position = list(choices or []), required, position
    target.save()
    audit.record(
        actor,
        "custom_field.saved",
        target,
        changes={"key": key, "kind": kind, "required": required},
    )
    return target


def visible_managers(actor: Any, operator: Operator | None = None) -> Any:
    """Managers the actor may assign (optionally those usable for an operator)."""
    queryset = _visible(actor, User.objects.filter(membership__role=Role.MANAGER, is_active=True))
    if operator is not None:
        ancestors = operator.ancestor_ids()
        queryset = queryset.filter(membership__operator_id__in=ancestors)
    return queryset


# ---- bulk work ------------------------------------------------------------------------------

BULK_FIELDS: dict[str, Any] = {
    "zone": Zone,
    "package": Package,
    "billing_profile": BillingProfile,
    "manager": User,
    "expires_at": None,
}


def _bulk_audit(actor: Any, verb: str, rows: list[dict[str, Any]], changes_of: Any) -> None:
    """Audit rows for many customers at once (one bulk insert, not one query each)."""
    audit.record_many(
        actor,
        verb,
        "customers.customer",
        [
            {
                "tenant_id": row["tenant_id"],
                "operator_id": row["operator_id"],
                "object_id": row["id"],
                "label": f"{row['username']} · {row['name']}",
                "changes": changes_of(row),
            }
            for row in rows
        ],
    )


@transaction.atomic
def bulk_update_customers(*, actor: Any, customers: Any, changes: dict[str, Any]) -> int:
    """Set the same zone, package, billing profile, manager or expiry on many customers.

    ``customers`` is a queryset already narrowed by the caller (selected ids or the filtered
    list); it is restricted again here. Set-based: a few statements whatever the count.
    """
    unknown = set(changes) - set(BULK_FIELDS)
    if unknown or not changes:
        raise DomainError(
            _("Choose what to change (zone, package, billing profile, manager, expiry).")
        )
    require(actor, "customers.change")
    targets = _visible_for(actor, customers, "change").exclude(status=Status.DELETED)
    rows = list(
        targets.select_for_update(of=("self",))
        .order_by("pk")
        .values(
            "id",
            "tenant_id",
            "operator_id",
            "username",
            "name",
            "service_model",
            "operator__path",
            *[f"{key}_id" if BULK_FIELDS[key] else key for key in changes],
        )
    )
    if not rows:
        raise DomainError(_("No customers to change."))
    errors = _Errors()
    paths = {row["operator__path"] for row in rows}
    for key, value in changes.items():
        model = BULK_FIELDS[key]
        if model is None or value is None:
            continue
        owner_path = value.membership.operator.path if key == "manager" else value.operator.path
        if not _visible(actor, model.objects.filter(pk=value.pk)).exists() or not all(
            path.startswith(owner_path) for path in paths
        ):
            errors.add(key, _("Not available to every selected customer's operator."))
        if key == "package":
            wrong = sum(1 for row in rows if row["service_model"] != value.service_model)
            if wrong:
                errors.add(
                    key, _("%(n)s selected customers use another service model.") % {"n": wrong}
                )
    errors.raise_if_any()
    columns = {
        f"{key}_id" if BULK_FIELDS[key] else key: (
            value.pk if BULK_FIELDS[key] and value is not None else value
        )
        for key, value in changes.items()
    }
    Customer.objects.filter(pk__in=[row["id"] for row in rows]).update(
        **columns, updated_at=clock.now()
    )
    _bulk_audit(
        actor,
        "customer.updated",
        rows,
        lambda row: {
            key: [audit._plain(row[column]), audit._plain(value)]
            for column, value in columns.items()
            for key in [column.removesuffix("_id")]
            if row[column] != value
        },
    )
    provision_customers([row["id"] for row in rows])  # RADIUS rows, same transaction
    if "package_id" in columns:
        _package_changed(
            actor, [row["id"] for row in rows if row["package_id"] != columns["package_id"]]
        )
    return len(rows)


def _visible_for(actor: Any, queryset: Any, action: str) -> Any:
    return queryset if actor is None else queryset.restrict(actor, action)


@transaction.atomic
def bind_macs(*, actor: Any, tenant_id: int, pairs: list[tuple[str, str]]) -> int:
    """Bind MAC addresses to customers by username; all or nothing, every problem reported."""
    require(actor, "customers.change")
    errors = _Errors()
    wanted: dict[str, str] = {}
    seen_macs: dict[str, str] = {}
    for number, (username, raw_mac) in enumerate(pairs, start=1):
        try:
            mac = normalize_mac(raw_mac)
        except MacError as exc:
            errors.add(_("line %(n)s") % {"n": number}, str(exc))
            continue
        key = username.strip().lower()
        if key in wanted:
            errors.add(_("line %(n)s") % {"n": number}, _("%(u)s appears twice.") % {"u": username})
        elif mac in seen_macs:
            errors.add(
                _("line %(n)s") % {"n": number},
                _("%(mac)s is also given to %(u)s.") % {"mac": mac, "u": seen_macs[mac]},
            )
        wanted[key], seen_macs[mac] = mac, username
    candidates = _visible_for(actor, Customer.objects.filter(tenant_id=tenant_id), "change")
    found = {
        c.username.lower(): c
        for c in candidates.exclude(status=Status.DELETED)
        .annotate(lower_username=Lower("username"))
        .filter(lower_username__in=list(wanted))
        .order_by("pk")
        .select_for_update(of=("self",))
    }
    for username in sorted(set(wanted) - set(found)):
        errors.add(username, _("No customer you can change has this username."))
    clashes = (
        Customer.objects.filter(tenant_id=tenant_id, mac_address__in=list(seen_macs))
        .exclude(status=Status.DELETED)
        .exclude(pk__in=[c.pk for c in found.values()])
    )
    for clash in clashes:
        errors.add(
            clash.mac_address, _("Already bound to %(who)s.") % {"who": describe(clash, actor)}
        )
    errors.raise_if_any()
    rows = [
        {
            "id": c.pk,
            "tenant_id": c.tenant_id,
            "operator_id": c.operator_id,
            "username": c.username,
            "name": c.name,
            "old": c.mac_address,
        }
        for c in found.values()
    ]
    for customer in found.values():
        customer.mac_address = wanted[customer.username.lower()]
    Customer.objects.bulk_update(list(found.values()), ["mac_address"], batch_size=2000)
    _bulk_audit(
        actor,
        "customer.mac_bound",
        rows,
        lambda row: {"mac_address": [row["old"], wanted[row["username"].lower()]]},
    )
    provision_customers([row["id"] for row in rows])  # RADIUS rows, same transaction
    return len(rows)


REPLACEABLE: dict[str, Any] = {"package": Package, "billing_profile": BillingProfile}


def start_replacement(*, actor: Any, field: str, old: Any, new: Any) -> Any:
    """Queue the replacement of a package or billing profile on all its customers (a job)."""
    from ispbills.core.jobs import start_job_run
    from ispbills.customers.tasks import replace_reference_task

    access = access_of(actor)
    require(actor, "customers.change")
    if (
        field not in REPLACEABLE
        or not isinstance(old, REPLACEABLE[field])
        or not isinstance(new, REPLACEABLE[field])
    ):
        raise DomainError(_("Only packages and billing profiles can be replaced."))
    if old.pk == new.pk:
        raise DomainError(_("Choose a different replacement."), fields={"new": [_("Same one.")]})
    if field == "package" and old.service_model != new.service_model:
        raise DomainError(
            _("The replacement package is for another service model."),
            fields={"new": [_("Different service model.")]},
        )
    if (
        actor is not None
        and not REPLACEABLE[field].objects.restrict(actor).filter(pk__in=[old.pk, new.pk]).count()
        == 2
    ):
        raise NotAllowedError(_("One of these is outside your reach."))
    return start_job_run(
        actor=actor,
        kind="replace",
        tenant_id=old.tenant_id,
        operator_id=access.operator_id,
        label=_("Replace %(old)s with %(new)s") % {"old": old, "new": new},
        job=replace_reference_task,
        field=field,
        old_id=old.pk,
        new_id=new.pk,
        user_id=access.user_id,
        acting_tenant_id=access.tenant_id,
    )


def replace_reference(
    *, actor: Any, field: str, old_id: int, new_id: int, progress: Any, batch: int = 5000
) -> dict[str, int]:
    """Move every customer the actor may change from ``old`` to ``new``, batch by batch
    (each batch one UPDATE plus one audit insert, committed, so a rerun resumes)."""
    model = REPLACEABLE[field]
    new = model.objects.get(pk=new_id)
    base = _visible_for(actor, Customer.objects.filter(**{f"{field}_id": old_id}), "change")
    total = base.count()
    done = skipped = last = 0
    while True:
        with transaction.atomic():
            ids = list(base.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch])
            if not ids:
                break
            last = ids[-1]
            rows = list(
                Customer.objects.filter(pk__in=ids)
                .select_for_update()
                .values("id", "tenant_id", "operator_id", "username", "name", "operator__path")
            )
            usable = [row for row in rows if row["operator__path"].startswith(new.operator.path)]
            skipped += len(rows) - len(usable)
            Customer.objects.filter(pk__in=[row["id"] for row in usable]).update(
                **{f"{field}_id": new_id}, updated_at=clock.now()
            )
            _bulk_audit(actor, "customer.updated", usable, lambda row: {field: [old_id, new_id]})
            provision_customers([row["id"] for row in usable])  # RADIUS rows, same transaction
            if field == "package":
                _package_changed(actor, [row["id"] for row in usable])
            done += len(usable)
        progress.update(
            done + skipped, total, _("%(n)s of %(t)s customers") % {"n": done + skipped, "t": total}
        )
    return {"replaced": done, "skipped": skipped}
