"""What a user may see and do: built once per request by tenancy, read by every scoped query."""

from dataclasses import dataclass, field
from typing import Any

ACTIONS = ("view", "add", "change", "delete", "export")


@dataclass(frozen=True)
class Access:
    """A user's reach: tenant, operator subtree, role and effective permissions."""

    user_id: int | None = None
    is_superadmin: bool = False
    tenant_id: int | None = None
    operator_id: int | None = None
    operator_path: str = ""
    tenant_wide: bool = False
    role: str = ""
    permissions: frozenset[str] = field(default_factory=frozenset)

    def can(self, permission: str) -> bool:
        """``area.action`` permission check; super admins may do everything."""
        return self.is_superadmin or permission in self.permissions

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None


NO_ACCESS = Access()


def access_of(subject: Any) -> Access:
    """The Access of a user (or an Access passed through); anonymous users get none."""
    if isinstance(subject, Access):
        return subject
    if subject is None or not getattr(subject, "is_authenticated", False):
        return NO_ACCESS
    access = getattr(subject, "access", None)
    return access if isinstance(access, Access) else NO_ACCESS
