"""The sidebar: each entry shows only when the user holds its permission."""

from collections.abc import Callable
from dataclasses import dataclass, replace

from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from ispbills.accounting.models import TransferRequest
from ispbills.core.access import Access
from ispbills.radius.models import Disconnect


@dataclass(frozen=True)
class NavItem:
    label: StrOrPromise
    url_name: str
    icon: str
    permission: str = ""
    superadmin_only: bool = False
    # Pages of the whole ISP (its settings), for the staff of its root operator.
    tenant_wide_only: bool = False
    # An alert count shown next to the entry, linking to the entry's page with ``badge_query``.
    badge: Callable[[Access], int] | None = None
    badge_query: str = ""
    count: int = 0

    def visible_to(self, access: Access) -> bool:
        if self.superadmin_only:
            return access.is_superadmin
        if self.tenant_wide_only and not (access.tenant_wide or access.is_superadmin):
            return False
        return not self.permission or access.can(self.permission)


@dataclass(frozen=True)
class NavSection:
    label: StrOrPromise
    items: tuple[NavItem, ...]


def pending_transfers(access: Access) -> int:
    """Transfer requests in the user's reach waiting for a decision."""
    if not access.can("accounting.view"):
        return 0
    return TransferRequest.objects.restrict(access, "view").filter(status="pending").count()


def unresolved_disconnects(access: Access) -> int:
    """Disconnects that accounting never confirmed: sessions the router may still serve."""
    if not access.can("network.view"):
        return 0
    return int(
        Disconnect.objects.restrict(access, "view")
        .filter(status=Disconnect.Status.UNRESOLVED)
        .count()
    )


MENU: tuple[NavSection, ...] = (
    NavSection(_("Overview"), (NavItem(_("Dashboard"), "web:dashboard", "speedometer2"),)),
    NavSection(
        _("Customers"),
        (
            NavItem(_("Customers"), "customers:customer_list", "person-vcard", "customers.view"),
            NavItem(
                _("Deleted customers"), "customers:customer_archive", "archive", "customers.delete"
            ),
            NavItem(_("Zones"), "customers:zone_list", "geo-alt", "customers.view"),
        ),
    ),
    NavSection(
        _("Catalog"),
        (
            NavItem(_("Packages"), "catalog:package_list", "box-seam", "catalog.view"),
            NavItem(
                _("Billing profiles"),
                "catalog:billingprofile_list",
                "calendar-check",
                "catalog.view",
            ),
            NavItem(_("VAT profiles"), "catalog:vatprofile_list", "percent", "catalog.view"),
            NavItem(_("Custom fields"), "customers:customfield_list", "ui-checks", "catalog.view"),
        ),
    ),
    NavSection(
        _("Billing"),
        (
            NavItem(_("Bills"), "billing:bill_list", "receipt", "billing.view"),
            NavItem(_("Payments"), "payments:payment_list", "cash-coin", "payments.view"),
            NavItem(_("Online payments"), "payments:attempt_list", "phone", "payments.view"),
            NavItem(
                _("Needs attention"),
                "payments:attention_list",
                "exclamation-triangle",
                "payments.change",
            ),
            NavItem(
                _("Payment gateways"), "payments:gateway_list", "credit-card", "payments.change"
            ),
            NavItem(_("Billing runs"), "billing:billingrun_list", "arrow-repeat", "billing.view"),
            NavItem(_("Reminders"), "reminders:reminder_list", "bell", "billing.view"),
            NavItem(_("VAT report"), "billing:vat_report", "percent", "billing.view"),
            NavItem(
                _("Billing settings"),
                "billing:settings",
                "gear",
                "billing.change",
                tenant_wide_only=True,
            ),
        ),
    ),
    NavSection(
        _("Recharge cards"),
        (
            NavItem(_("Cards dashboard"), "cards:dashboard", "speedometer", "cards.view"),
            NavItem(_("Card batches"), "cards:cardbatch_list", "credit-card-2-front", "cards.view"),
            NavItem(_("Cards"), "cards:card_list", "credit-card", "cards.view"),
            NavItem(_("Card usage"), "cards:usage", "pie-chart", "cards.view"),
            NavItem(_("Commissions"), "cards:commission_list", "percent", "cards.view"),
            NavItem(
                _("Distributor payments"),
                "cards:distributorpayment_list",
                "cash-stack",
                "cards.view",
            ),
            NavItem(
                _("Redemption log"),
                "cards:redemptionattempt_list",
                "shield-exclamation",
                "cards.view",
            ),
        ),
    ),
    NavSection(
        _("Accounting"),
        (
            NavItem(_("Accounts"), "accounting:account_list", "wallet2", "accounting.view"),
            NavItem(
                _("Journal"), "accounting:journalentry_list", "journal-bookmark", "accounting.view"
            ),
            NavItem(
                _("Transfer requests"),
                "accounting:transferrequest_list",
                "arrow-left-right",
                "accounting.view",
                badge=pending_transfers,
                badge_query="?status=pending",
            ),
            NavItem(_("Expenses"), "expenses:expense_list", "cart-dash", "expenses.view"),
            NavItem(
                _("Expense categories"), "expenses:expensecategory_list", "tags", "expenses.view"
            ),
            NavItem(_("Reports"), "reports:report_list", "bar-chart-line", "reports.view"),
        ),
    ),
    NavSection(
        _("Network"),
        (
            NavItem(_("Online sessions"), "customers:session_list", "broadcast", "customers.view"),
            NavItem(_("NAS devices"), "radius:nasdevice_list", "router", "network.view"),
            NavItem(_("IP pools"), "network:ippool_list", "hdd-network", "network.view"),
            NavItem(_("PPPoE profiles"), "network:pppoeprofile_list", "sliders", "network.view"),
            NavItem(_("Authentication log"), "customers:authattempt_list", "key", "network.view"),
            NavItem(
                _("Disconnect log"),
                "radius:disconnect_list",
                "plug",
                "network.view",
                badge=unresolved_disconnects,
                badge_query="?status=unresolved",
            ),
            NavItem(
                _("Network settings"),
                "network:settings",
                "gear",
                "network.change",
                tenant_wide_only=True,
            ),
        ),
    ),
    NavSection(
        _("Organisation"),
        (
            NavItem(_("Operators"), "tenancy:operator_list", "diagram-3", "operators.view"),
            NavItem(_("Staff users"), "tenancy:user_list", "people", "users.view"),
        ),
    ),
    NavSection(
        _("System"),
        (
            NavItem(_("Background jobs"), "web:job_list", "hourglass-split", "jobs.view"),
            NavItem(_("Audit log"), "web:audit_list", "journal-text", "audit.view"),
            NavItem(_("Login log"), "tenancy:login_attempt_list", "shield-lock", "audit.view"),
            NavItem(_("API docs"), "api-docs", "braces"),
        ),
    ),
    NavSection(
        _("Platform"),
        (NavItem(_("ISPs"), "tenancy:tenant_list", "buildings", superadmin_only=True),),
    ),
)


def menu_for(access: Access) -> list[tuple[str, list[NavItem]]]:
    """The sections and entries this user may use; empty sections are dropped."""
    sections = []
    for section in MENU:
        items = [
            replace(item, count=item.badge(access)) if item.badge else item
            for item in section.items
            if item.visible_to(access)
        ]
        if items:
            sections.append((str(section.label), items))
    return sections
