"""Jobs of the radius app, and the handlers that keep RADIUS groups in step with the network
catalog inside the network change's own transaction."""

from ispbills.core import jobs
from ispbills.core.events import handle, subscribe

# Above this many suspended customers, a change of the walled-garden choice re-provisions them
# in a job (committed batch by batch) instead of in the settings change's transaction.
INLINE_SUSPENDED_LIMIT = 5000
BATCH = 5000


@subscribe("package.saved")
@jobs.task(queue="default")
def provision_packages_task(event: str, package_ids: list[int]) -> int:
    """Rewrite the group reply rows of packages whose speeds may have changed."""
    from ispbills.radius.provisioning import provision_packages

    return provision_packages(package_ids)


@handle("network.packages_changed")
def rewrite_package_groups(event: str, package_ids: list[int]) -> None:
    """A PPPoE profile or pool changed: its packages' groups follow in the same transaction."""
    from ispbills.radius.provisioning import provision_packages

    provision_packages(package_ids)


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
