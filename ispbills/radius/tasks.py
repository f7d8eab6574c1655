"""Jobs of the radius app."""

from ispbills.core import jobs
from ispbills.core.events import subscribe


@subscribe("package.saved")
@jobs.task(queue="default")
def provision_packages_task(event: str, package_ids: list[int]) -> int:
    """Rewrite the group reply rows of packages whose speeds may have changed."""
    from ispbills.radius.provisioning import provision_packages

    return provision_packages(package_ids)
