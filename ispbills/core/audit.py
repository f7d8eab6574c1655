"""The one way services write audit rows."""

import datetime as dt
import decimal
import uuid
from typing import Any

from django.db import models

from ispbills.core import clock
from ispbills.core.context import request_info
from ispbills.core.models import AuditEvent


def _plain(value: Any) -> Any:
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields whose values differ."""
    return {
        key: [_plain(before.get(key)), _plain(after.get(key))]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def record(
    actor: Any,
    verb: str,
    obj: models.Model | None = None,
    *,
    tenant: Any = None,
    operator: Any = None,
    changes: dict[str, Any] | None = None,
    label: str | None = None,
) -> AuditEvent:
    """Write one audit row; tenant and operator default to the object's own."""
    request = request_info()
    if obj is not None:
        tenant = tenant if tenant is not None else owner_of(obj, "scope_tenant_field")
        operator = operator if operator is not None else owner_of(obj, "scope_operator_field")
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        tenant_id=getattr(tenant, "pk", tenant),
        operator_id=getattr(operator, "pk", operator),
        actor=actor_obj,
        actor_label=actor_obj.get_username() if actor_obj else "system",
        verb=verb,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_label=(label if label is not None else str(obj) if obj is not None else "")[:200],
        changes=_plain(changes or {}),
        ip=request.ip,
        user_agent=request.user_agent[:300],
        at=clock.now(),
    )


def record_many(actor: Any, verb: str, object_type: str, rows: list[dict[str, Any]]) -> None:
    """One audit row for each of many objects, in one bulk insert; each row gives
    ``tenant_id``, ``operator_id``, ``object_id``, ``label`` and ``changes``."""
    request = request_info()
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    now = clock.now()
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                tenant_id=row["tenant_id"],
                operator_id=row["operator_id"],
                actor=actor_obj,
                actor_label=actor_obj.get_username() if actor_obj else "system",
                verb=verb,
                object_type=object_type,
                object_id=str(row["object_id"]),
                object_label=str(row["label"])[:200],
                changes=_plain(row["changes"]),
                ip=request.ip,
                user_agent=request.user_agent[:300],
                at=now,
            )
            for row in rows
        ],
        batch_size=2_000,
    )


def owner_of(obj: models.Model, scope_attribute: str) -> Any:
    """The tenant or operator owning a scoped row, by its scope path ("" or "pk" = itself)."""
    path = getattr(obj, scope_attribute, None)
    if path is None:
        return None
    value: Any = obj
    for part in path.split("__") if path not in ("", "pk") else []:
        value = getattr(value, part, None)
        if value is None:
            return None
    return value
