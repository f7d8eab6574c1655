"""Roles and their default permissions; special permissions grant or revoke on top.

A permission is ``area.action``. Areas are listed here once, including those later apps fill.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from ispbills.core.access import ACTIONS


class Role(models.TextChoices):
    GROUP_ADMIN = "group_admin", _("Group admin")
    OPERATOR_ADMIN = "operator_admin", _("Operator admin")
    MANAGER = "manager", _("Manager")
    NOC = "noc", _("NOC")
    CARD_DISTRIBUTOR = "card_distributor", _("Card distributor")
    ACCOUNTANT = "accountant", _("Accountant")


AREAS: dict[str, StrOrPromise] = {
    "tenant": _("ISP settings"),
    "operators": _("Operators and resellers"),
    "users": _("Staff users"),
    "audit": _("Audit log"),
    "jobs": _("Background jobs"),
    "customers": _("Customers"),
    "catalog": _("Packages and profiles"),
    "network": _("Network and RADIUS"),
    "money": _("Prices, balances and amounts"),
    "billing": _("Bills"),
    "payments": _("Payments"),
    "cards": _("Recharge cards"),
    "accounting": _("Accounting"),
    "expenses": _("Expenses"),
    "reports": _("Reports"),
    "complaints": _("Complaints"),
    "monitoring": _("Monitoring"),
}

ALL_PERMISSIONS: frozenset[str] = frozenset(f"{a}.{x}" for a in AREAS for x in ACTIONS)


def _perms(spec: dict[str, str]) -> frozenset[str]:
    """``{"customers": "view add"}`` → {"customers.view", "customers.add"}; "*" = all actions."""
    result = set()
    for area, actions in spec.items():
        for action in ACTIONS if actions == "*" else actions.split():
            result.add(f"{area}.{action}")
    return frozenset(result)


ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.GROUP_ADMIN: ALL_PERMISSIONS,
    Role.OPERATOR_ADMIN: _perms(
        {
            "tenant": "view",
            "operators": "*",
            "users": "*",
            "audit": "view export",
            "jobs": "view add",
            "customers": "*",
            "catalog": "view add change",
            "network": "view add change",
            "money": "view",
            "billing": "*",
            "payments": "*",
            "cards": "*",
            # Its own books: funds its sub-operators pay, its collectors' cash handovers, its
            # cash taken to the bank.
            "accounting": "view add change export",
            "expenses": "*",
            "reports": "view export",
            "complaints": "*",
            "monitoring": "view",
        }
    ),
    Role.MANAGER: _perms(
        {
            "tenant": "view",
            "jobs": "view",
            "customers": "view add change",
            "catalog": "view",
            "money": "view",
            "billing": "view",
            "payments": "view add",
            "complaints": "*",
        }
    ),
    Role.NOC: _perms(
        {
            "tenant": "view",
            "jobs": "view",
            "customers": "view",
            "catalog": "view",
            "network": "*",
            "complaints": "view change",
            "monitoring": "*",
        }
    ),
    Role.CARD_DISTRIBUTOR: _perms(
        {
            "tenant": "view",
            # The job page of its voucher sheets (large batches are printed by a job).
            "jobs": "view",
            "customers": "view",
            "money": "view",
            "payments": "view add",
            "cards": "view change",
        }
    ),
    Role.ACCOUNTANT: _perms(
        {
            "tenant": "view",
            "operators": "view",
            "audit": "view export",
            "jobs": "view add",
            "customers": "view",
            "catalog": "view",
            "money": "view",
            "billing": "view export",
            "payments": "*",
            # Distributors' commissions and settlements (recorded with accounting.add).
            "cards": "view export",
            "accounting": "*",
            "expenses": "*",
            "reports": "view export",
        }
    ),
}


def effective_permissions(role: str, grants: set[str], revokes: set[str]) -> frozenset[str]:
    """Role defaults plus granted minus revoked special permissions."""
    return frozenset((ROLE_PERMISSIONS.get(role, frozenset()) | grants) - revokes)
