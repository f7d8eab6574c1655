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

    def reaches(self, operator: Any) -> bool:
        """Whether an operator lies in this user's tenant and subtree (a super admin reaches
        the ISP it acts for, or every ISP)."""
        if self.is_superadmin:
            return self.tenant_id in (None, operator.tenant_id)
        return operator.tenant_id == self.tenant_id and operator.path.startswith(self.operator_path)


NO_ACCESS = Access()


def access_of(subject: Any) -> Access:
    """The Access of a user (or an Access passed through); anonymous users get none."""
    if isinstance(subject, Access):
        return subject
    if subject is None or not getattr(subject, "is_authenticated", False):
        return NO_ACCESS
    access = getattr(subject, "access", None)
    return access if isinstance(access, Access) else NO_ACCESS


def require(actor: Any, permission: str, operator: Any = None) -> None:
    """Refuse unless the actor holds the permission and reaches the operator; services call
    it first. ``actor=None`` is the system itself (jobs, imports, the demo)."""
    from django.utils.translation import gettext as _

    from ispbills.core.errors import NotAllowedError

    if actor is None:
        return
    access = access_of(actor)
    if not access.can(permission):
        raise NotAllowedError(_("You do not have permission to do this."))
    if operator is not None and not access.reaches(operator):
        raise NotAllowedError(_("This operator is outside your reach."))
