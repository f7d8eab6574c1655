"""The customer list export (CSV or XLSX, columns chosen by the user)."""

from django.utils.translation import gettext_lazy as _

from ispbills.core.registry import ExportSpec, registry
from ispbills.customers.filtersets import AuthAttemptFilterSet, CustomerFilterSet
from ispbills.customers.models import AuthAttempt, Customer

CUSTOMER_EXPORT = registry.register_export(
    ExportSpec(
        name="customers",
        model=Customer,
        filterset_class=CustomerFilterSet,
        label=_("customers"),
        columns=(
            ("id", "pk"),
            ("username", "username"),
            ("name", "name"),
            ("mobile", "mobile"),
            ("email", "email"),
            ("national_id", "national_id"),
            ("address", "address"),
            ("house", "house"),
            ("road", "road"),
            ("zone", "zone__name"),
            ("service_model", "service_model"),
            ("package", "package__name"),
            ("billing_profile", "billing_profile__name"),
            ("custom_price", "custom_price"),
            ("mac_address", "mac_address"),
            ("static_ipv4", "static_ipv4"),
            ("static_ipv6", "static_ipv6"),
            ("expires_at", "expires_at"),
            ("advance_balance", "advance_balance"),
            ("status", "status"),
            ("operator", "operator__name"),
            ("manager", "manager__username"),
            ("is_trial", "is_trial"),
            ("created_at", "created_at"),
        ),
        money_columns=frozenset({"custom_price", "advance_balance"}),
    )
)

AUTH_LOG_EXPORT = registry.register_export(
    ExportSpec(
        name="auth_log",
        model=AuthAttempt,
        filterset_class=AuthAttemptFilterSet,
        label=_("authentication log"),
        columns=(
            ("when", "authdate"),
            ("username", "username"),
            ("customer_id", "claimant_id"),
            ("reply", "reply"),
            ("mac", "calling_station_id"),
            ("nas", "called_station_id"),
        ),
    )
)
