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


@dataclass
class Registry:
    exports: dict[str, ExportSpec] = field(default_factory=dict)

    def register_export(self, spec: ExportSpec) -> ExportSpec:
        self.exports[spec.name] = spec
        return spec


registry = Registry()
