"""What the panel and the API expose, so generic tests can walk all of it."""

from dataclasses import dataclass, field
from typing import Any

from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class ExportSpec:
    """A CSV export of a list: which model, which filters, which columns (header, accessor)."""

    name: str
    model: Any
    filterset_class: Any
    columns: tuple[tuple[str, str], ...]
    label: StrOrPromise = ""
    # Accessors shown only to users who hold money.view (prices, balances).
    money_columns: frozenset[str] = frozenset()

    def columns_for(self, access: Any, chosen: list[str] | None = None) -> list[tuple[str, str]]:
        """The columns this user may export, narrowed to the chosen headers when given."""
        allowed = [
            (header, accessor)
            for header, accessor in self.columns
            if accessor not in self.money_columns or access.can("money.view")
        ]
        if chosen:
            allowed = [column for column in allowed if column[0] in chosen]
        return allowed


@dataclass
class Registry:
    exports: dict[str, ExportSpec] = field(default_factory=dict)

    def register_export(self, spec: ExportSpec) -> ExportSpec:
        self.exports[spec.name] = spec
        return spec


registry = Registry()
