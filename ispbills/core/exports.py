"""CSV exports of any registered list, run as a job with progress."""

import csv
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ispbills.core.access import access_of
from ispbills.core.errors import DomainError, NotAllowedError
from ispbills.core.filtersets import AuditEventFilterSet
from ispbills.core.jobs import Progress, start_job_run
from ispbills.core.models import AuditEvent, JobRun
from ispbills.core.registry import ExportSpec, registry

BATCH = 2000

AUDIT_EXPORT = registry.register_export(
    ExportSpec(
        name="audit_events",
        model=AuditEvent,
        filterset_class=AuditEventFilterSet,
        label=gettext_lazy("audit log"),
        columns=(
            ("at", "at"),
            ("actor", "actor_label"),
            ("action", "verb"),
            ("object_type", "object_type"),
            ("object_id", "object_id"),
            ("object", "object_label"),
            ("changes", "changes"),
            ("ip", "ip"),
            ("user_agent", "user_agent"),
        ),
    )
)


FORMATS = ("csv", "xlsx")
# What a job may leave for download: exports, and archives such as a run's PDF bills.
DOWNLOAD_FORMATS = (*FORMATS, "zip", "pdf")


def export_path(run_id: int, fmt: str = "csv") -> Path:
    return Path(settings.EXPORT_ROOT) / f"export-{run_id}.{fmt}"


def start_export(
    *,
    actor: Any,
    spec: ExportSpec,
    filters: dict[str, str],
    columns: list[str] | None = None,
    fmt: str = "csv",
) -> JobRun:
    """Queue an export (CSV or XLSX) of the list as the actor sees it, with the same filters
    and the columns chosen."""
    from ispbills.core.tasks import export_task

    access = access_of(actor)
    if not access.can(spec.model.permission("export")):
        raise NotAllowedError(_("You do not have permission to export this list."))
    if fmt not in FORMATS:
        raise DomainError(_("Export as CSV or XLSX."), fields={"format": [_("Unknown format.")]})
    if columns is not None and not spec.columns_for(access, columns):
        raise DomainError(_("Choose at least one column."), fields={"columns": [_("Required.")]})
    with transaction.atomic():
        return start_job_run(
            actor=actor,
            kind="export",
            label=_("Export of %(what)s") % {"what": spec.label or spec.name},
            job=export_task,
            tenant_id=access.tenant_id,
            operator_id=access.operator_id,
            result_permission=spec.model.permission("export"),
            export=spec.name,
            filters=filters,
            columns=columns or [],
            fmt=fmt,
            user_id=access.user_id,
            acting_tenant_id=access.tenant_id,
        )


def _related_paths(model: Any, accessors: list[str]) -> list[str]:
    """The foreign keys the columns follow (``customer__username`` → ``customer``), to be
    joined in the export's one query rather than fetched once a row."""
    paths = set()
    for accessor in accessors:
        current, path = model, []
        for part in accessor.split("__")[:-1]:
            try:
                field = current._meta.get_field(part)
            except FieldDoesNotExist:  # a property or method: nothing to join
                break
            if not (field.many_to_one or field.one_to_one) or field.auto_created:
                break
            path.append(part)
            current = field.related_model
        if path:
            paths.add("__".join(path))
    return sorted(paths)


def _value(row: Any, accessor: str) -> Any:
    value = row
    for part in accessor.split("__"):
        value = getattr(value, part, None) if value is not None else None
        if callable(value):
            value = value()
    return "" if value is None else value


class _CsvSheet:
    def __init__(self, path: Path) -> None:
        self.handle = path.open("w", newline="", encoding="utf-8-sig")
        self.writer = csv.writer(self.handle)

    def append(self, row: list[Any]) -> None:
        self.writer.writerow(row)

    def close(self) -> None:
        self.handle.close()


class _XlsxSheet:
    def __init__(self, path: Path) -> None:
        from openpyxl import Workbook

        self.path = path
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet("export")

    def append(self, row: list[Any]) -> None:
        self.sheet.append([_cell(value) for value in row])

    def close(self) -> None:
        self.book.save(self.path)


def _cell(value: Any) -> Any:
    """Excel takes numbers, text and naive datetimes; aware times become tenant-local text."""
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (dict, list)):
        return str(value)
    return value


def write_export(
    *,
    progress: Progress,
    export: str,
    filters: dict[str, str],
    user: Any,
    columns: list[str] | None = None,
    fmt: str = "csv",
) -> dict[str, Any]:
    """Write the file for ``user``'s view of the list; returns the result summary."""
    spec = registry.exports[export]
    chosen = spec.columns_for(access_of(user), columns)
    queryset = spec.model._default_manager.all().restrict(user, "export")
    filterset = spec.filterset_class(filters, queryset=queryset, user=user)
    rows = filterset.qs if filterset.is_valid() else queryset.none()
    rows = rows.select_related(*_related_paths(spec.model, [a for _h, a in chosen]))
    total = rows.count()
    path = export_path(progress.run_id, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet = _XlsxSheet(path) if fmt == "xlsx" else _CsvSheet(path)
    written = 0
    try:
        sheet.append([header for header, _accessor in chosen])
        for row in rows.iterator(chunk_size=BATCH):
            sheet.append([_value(row, accessor) for _header, accessor in chosen])
            written += 1
            if written % BATCH == 0:
                progress.update(
                    written, total, _("%(n)s of %(t)s rows") % {"n": written, "t": total}
                )
    finally:
        sheet.close()
    return {"rows": written, "file": path.name}
