"""Jobs of the radius app, and the handlers that keep RADIUS groups in step with the network
catalog inside the network change's own transaction."""

from typing import Any

from ispbills.core import jobs
from ispbills.core.events import handle, subscribe

# Above this many suspended customers, a change of the walled-garden choice re-provisions them
# in a job (committed batch by batch) instead of in the settings change's transaction.
INLINE_SUSPENDED_LIMIT = 5000
BATCH = 5000

# Statuses that end service: entering one disconnects the customer's sessions.
ENDS_SERVICE = ("suspended", "disabled", "deleted")
# Fields a live session was authenticated with: changing one makes the customer log in again.
REAUTHENTICATE = ("username", "service_model", "mac_address", "static_ipv4", "static_ipv6")


@subscribe("package.saved")
@jobs.task(queue="default")
def provision_packages_task(event: str, package_ids: list[int]) -> int:
    """Rewrite the group reply rows of packages whose speeds may have changed; live sessions
    of a package whose replies changed are re-rated by CoA."""
    from ispbills.radius.disconnect import rewrite_packages

    return rewrite_packages(package_ids, reason="package speed changed")


@jobs.task(queue="radius")
def process_disconnect_task(disconnect_id: int) -> str | None:
    """Send, verify or give up on one disconnect or CoA request."""
    from ispbills.radius.disconnect import process

    return process(disconnect_id)


@jobs.task(queue="radius")
def process_due_disconnects_task(timestamp: int) -> int:
    """Pick up pending disconnects whose job was lost (the periodic safety net)."""
    from ispbills.radius.disconnect import process_due

    return process_due()


@subscribe("customer.status_changed")
@jobs.task(queue="radius")
def status_changed_task(event: str, customer_id: int, old: str, new: str, **_: Any) -> int:
    """End the sessions of a customer whose service ended or left the walled garden; a move
    into or out of FUP changes the rate with a CoA (a new login when FUP has its own pool)."""
    from ispbills.radius.disconnect import fup_changes_pool, request_for_customers

    if new in ENDS_SERVICE or old == "suspended":
        reason = f"status {old} → {new}"
        return request_for_customers([customer_id], kind="disconnect", reason=reason)
    if "fup" in (old, new):
        kind = "disconnect" if fup_changes_pool(customer_id) else "coa"
        return request_for_customers([customer_id], kind=kind, reason=f"status {old} → {new}")
    return 0


@subscribe("customer.updated")
@jobs.task(queue="radius")
def customer_updated_task(event: str, customer_id: int, fields: list[str], **_: Any) -> int:
    """A package change applies the new speed to the live session by CoA; a change of what
    the session was authenticated with ends it, so the customer logs in again."""
    from ispbills.radius.disconnect import request_for_customers

    reauth = sorted(set(fields) & set(REAUTHENTICATE))
    if reauth:
        reason = f"{', '.join(reauth)} changed"
        return request_for_customers([customer_id], kind="disconnect", reason=reason)
    if "package" in fields:
        return request_for_customers([customer_id], kind="coa", reason="package changed")
    return 0


@jobs.task(queue="maintenance")
def settle_accounting_task(timestamp: int) -> dict[str, int]:
    """Close stale sessions, roll usage up, archive closed sessions."""
    from ispbills.radius.accounting import settle

    return settle()


@handle("network.packages_changed")
def rewrite_package_groups(event: str, package_ids: list[int]) -> None:
    """A PPPoE profile or pool changed: its packages' groups follow in the same transaction,
    and live sessions whose replies changed are re-rated by CoA after commit."""
    from ispbills.radius.disconnect import rewrite_packages

    rewrite_packages(package_ids, reason="PPPoE profile changed")


@handle("network.settings_changed")
def rewrite_suspended(event: str, tenant_id: int, customers: bool = True) -> None:
    """The ISP's suspended group follows its network settings; when the walled-garden choice
    changed, so do its suspended customers (in a job when there are many)."""
    from ispbills.radius.provisioning import (
        provision_customers,
        provision_suspended_groups,
        suspended_customer_ids,
    )

    provision_suspended_groups([tenant_id])
    if not customers:
        return
    ids = suspended_customer_ids(tenant_id)
    if len(ids) <= INLINE_SUSPENDED_LIMIT:
        provision_customers(ids)
    else:
        provision_suspended_customers_task.defer(tenant_id=tenant_id)


@jobs.task(queue="default")
def provision_suspended_customers_task(tenant_id: int) -> int:
    """Re-provision an ISP's suspended customers, one committed batch at a time."""
    from django.db import transaction

    from ispbills.radius.provisioning import provision_customers, suspended_customer_ids

    ids = suspended_customer_ids(tenant_id)
    written = 0
    for start in range(0, len(ids), BATCH):
        with transaction.atomic():
            written += provision_customers(ids[start : start + BATCH])
    return written
