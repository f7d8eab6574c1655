"""The card list export (never a PIN)."""

from django.utils.translation import gettext_lazy as _

from ispbills.cards.filtersets import CardFilterSet
from ispbills.cards.models import Card
from ispbills.core.registry import ExportSpec, registry

CARD_EXPORT = registry.register_export(
    ExportSpec(
        name="cards",
        model=Card,
        filterset_class=CardFilterSet,
        label=_("recharge cards"),
        columns=(
            ("id", "pk"),
            ("serial", "serial"),
            ("batch", "batch__name"),
            ("package", "package__name"),
            ("value", "value"),
            ("state", "state"),
            ("distributor", "distributor__username"),
            ("issued_at", "issued_at"),
            ("expires_at", "expires_at"),
            ("used_at", "used_at"),
            ("customer", "customer__username"),
            ("operator", "operator__name"),
        ),
        money_columns=frozenset({"value"}),
    )
)
