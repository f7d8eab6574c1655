"""Writers of the FreeRADIUS check, reply, group and nas tables, and of NAS devices.

This app is the only writer of ``radcheck``, ``radreply``, ``radgroupcheck``,
``radgroupreply``, ``radusergroup`` and ``nas``; FreeRADIUS only reads them. Customers reach
the first five through ``ispbills.radius.provisioning``; NAS devices reach ``nas`` here.
"""

import ipaddress
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ispbills.core import audit
from ispbills.core.access import require
from ispbills.core.errors import ConflictError, DomainError
from ispbills.radius import disconnect
from ispbills.radius.models import Disconnect, Nas, NasDevice
from ispbills.tenancy.models import Operator

NAS_FIELDS = ("name", "address", "secret", "kind", "coa_port", "description", "is_active")
# Secrets shorter than this are refused: RADIUS hides passwords with the secret (RFC 2865 §3).
MIN_SECRET_LENGTH = 12


def expiration_value(when: datetime) -> str:
    """The value of an ``Expiration`` check item: seconds since the epoch.

    FreeRADIUS reads dates written as text ("26 Nov 2026 18:00:00") in its own process's
    time zone; a number of seconds means the same instant wherever it runs.
    """
    if when.tzinfo is None:
        raise ValueError("expiration_value() needs an aware datetime")
    return str(int(when.timestamp()))


def _clean_nas(values: dict[str, Any], device: NasDevice | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    values = {key: values[key] for key in NAS_FIELDS if key in values}
    if "name" in values:
        values["name"] = str(values["name"] or "").strip()
        if not values["name"]:
            errors["name"] = [_("Required.")]
    if "address" in values:
        try:
            values["address"] = str(ipaddress.ip_address(str(values["address"]).strip()))
        except ValueError:
            errors["address"] = [_("Enter a valid IPv4 or IPv6 address.")]
    if "secret" in values:
        secret = str(values["secret"] or "")
        if not secret and device is not None:
            del values["secret"]  # left empty on edit: keep the stored one
        elif len(secret) < MIN_SECRET_LENGTH or secret != secret.strip():
            errors["secret"] = [
                _("Use at least %(n)d characters, without spaces at either end.")
                % {"n": MIN_SECRET_LENGTH}
            ]
    if "kind" in values and values["kind"] not in NasDevice.Kind.values:
        errors["kind"] = [_("Choose a listed type.")]
    if "coa_port" in values:
        try:
            values["coa_port"] = int(values["coa_port"])
            if not 1 <= values["coa_port"] <= 65535:
                raise ValueError
        except (TypeError, ValueError):
            errors["coa_port"] = [_("A port from 1 to 65535.")]
    if device is None:
        for key in ("name", "address", "secret"):
            if key not in values and key not in errors:
                errors[key] = [_("Required.")]
    if errors:
        raise DomainError(_("Please correct the marked fields."), fields=errors)
    return values


def _mirror(device: NasDevice) -> None:
    """Write the device's ``nas`` row (FreeRADIUS's client), or remove it when inactive."""
    if not device.is_active:
        if device.client_id:
            client = device.client
            device.client = None
            device.save(update_fields=["client"])
            client.delete()  # type: ignore[union-attr]
        return
    client = device.client or Nas()
    client.nasname = device.address
    client.shortname = f"t{device.tenant_id}-{device.name}"[:64]
    client.type = device.kind if device.kind != NasDevice.Kind.MIKROTIK else "other"
    client.secret = device.secret
    client.description = device.description or None
    client.save()
    if device.client_id != client.pk:
        device.client = client
        device.save(update_fields=["client"])


@transaction.atomic
def save_nas_device(
    *, actor: Any, operator: Operator, device: NasDevice | None = None, **data: Any
) -> NasDevice:
    """Create or change a NAS device and its FreeRADIUS client row, audited (never the secret).

    New devices are served at once through FreeRADIUS's dynamic clients; a changed secret
    takes effect when the cached client expires (docs/radius.md, "NAS devices").
    """
    require(actor, "network.add" if device is None else "network.change", operator)
    values = _clean_nas(data, device)
    address = values.get("address")
    if (
        address
        and NasDevice.objects.filter(address=address)
        .exclude(pk=device.pk if device else None)
        .exists()
    ):
        raise ConflictError(
            _("Another NAS already uses %(address)s.") % {"address": address},
            fields={"address": [_("Already used.")]},
        )
    name = values.get("name")
    if (
        name
        and NasDevice.objects.filter(tenant_id=operator.tenant_id, name__iexact=name)
        .exclude(pk=device.pk if device else None)
        .exists()
    ):
        raise ConflictError(
            _("%(name)s already exists.") % {"name": name},
            fields={"name": [_("Already used.")]},
        )
    created = device is None
    if device is None:
        device = NasDevice(tenant_id=operator.tenant_id, operator=operator)
        before: dict[str, Any] = {}
    else:
        device = NasDevice.objects.select_for_update().get(pk=device.pk)
        before = {key: getattr(device, key) for key in values}
    for key, value in values.items():
        setattr(device, key, value)
    try:
        with transaction.atomic():  # two saves racing for one address or name
            device.save()
    except IntegrityError:
        raise ConflictError(
            _("Another NAS already uses this address or name."),
            fields={"address": [_("Already used.")]},
        ) from None
    _mirror(device)
    changes = audit.diff(before, {key: getattr(device, key) for key in values})
    if "secret" in changes:
        changes["secret"] = ["•••", "•••"]
    if changes or created:
        audit.record(actor, "nas.created" if created else "nas.updated", device, changes=changes)
    return device


@transaction.atomic
def delete_nas_device(*, actor: Any, device: NasDevice) -> None:
    """Remove a NAS device and its client row; its sessions' history stays."""
    require(actor, "network.delete", device.operator)
    device = NasDevice.objects.select_for_update().get(pk=device.pk)
    client = device.client
    audit.record(actor, "nas.deleted", device)
    device.delete()
    if client is not None:
        client.delete()


def disconnect_customer(*, actor: Any, customer: Any, reason: str = "") -> Disconnect | None:
    """Staff asked to end a customer's sessions now (the panel's disconnect button)."""
    require(actor, "customers.change", customer.operator)
    item = disconnect.request(
        tenant_id=customer.tenant_id,
        operator_id=customer.operator_id,
        customer_id=customer.pk,
        username=customer.username,
        kind=Disconnect.Kind.DISCONNECT,
        reason=reason or _("disconnected by staff"),
        actor=actor,
    )
    audit.record(actor, "customer.disconnected", customer, changes={"reason": reason or ""})
    return item
