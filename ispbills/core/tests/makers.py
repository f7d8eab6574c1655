"""Isolation-kit makers for the core models."""

from typing import Any

from ispbills.core import audit
from ispbills.core.models import AuditEvent, JobRun
from ispbills.core.testing.isolation import maker


@maker(AuditEvent)
def make_audit_event(operator: Any, marker: str) -> AuditEvent:
    return audit.record(None, "test.event", tenant=operator.tenant, operator=operator, label=marker)


@maker(JobRun)
def make_job_run(operator: Any, marker: str) -> JobRun:
    return JobRun.objects.create(
        tenant=operator.tenant, operator=operator, kind="test", label=marker
    )
