"""CSV exports of any registered list, run as a job with progress."""

import csv
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ispbills.core.access import access_of
from ispbills.core.errors import NotAllowedError
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


def export_path(run_id: int) -> Path:
    return Path(settings.EXPORT_ROOT) / f"export-{run_id}.csv"


def start_export(*, actor: Any, spec: ExportSpec, filters: dict[str, str]) -> JobRun:
    """Queue a CSV export of the list as the actor sees it, with the same filters."""
    from ispbills.core.tasks import export_csv_task

    access = access_of(actor)
    if not access.can(spec.model.permission("export")):
        raise NotAllowedError(_("You do not have permission to export this list."))
    with transaction.atomic():
        return start_job_run(
            actor=actor,
            kind="export",
            label=_("Export of %(what)s") % {"what": spec.label or spec.name},
            job=export_csv_task,
            tenant_id=access.tenant_id,
            operator_id=access.operator_id,
            result_permission=spec.model.permission("export"),
            export=spec.name,
            filters=filters,
            user_id=access.user_id,
            acting_tenant_id=access.tenant_id,
        )


def _value(row: Any, accessor: str) -> Any:
    value = row
    for part in accessor.split("__"):
        value = getattr(value, part, None) if value is not None else None
        if callable(value):
            value = value()
    return "" if value is None else value


def write_export(
    *, progress: Progress, export: str, filters: dict[str, str], user: Any
) -> dict[str, Any]:
    """Write the CSV for ``user``'s view of the list; returns the result summary."""
    spec = registry.exports[export]
    queryset = spec.model._default_manager.all().restrict(user, "export")
    filterset = spec.filterset_class(filters, queryset=queryset, user=user)
    rows = filterset.qs if filterset.is_valid() else queryset.none()
    total = rows.count()
    path = export_path(progress.run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow([header for header, _accessor in spec.columns])
        for row in rows.iterator(chunk_size=BATCH):
            writer.writerow([_value(row, accessor) for _header, accessor in spec.columns])
            written += 1
            if written % BATCH == 0:
                progress.update(
                    written, total, _("%(n)s of %(t)s rows") % {"n": written, "t": total}
                )
    return {"rows": written, "file": path.name}
