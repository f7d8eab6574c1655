"""Base models and the platform-wide records every app writes: audit events and job runs."""

from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from ispbills.core.scoping import Scoped, ScopedQuerySet


class TenantOwned(Scoped, models.Model):
    """A row owned by one operator of one tenant; reachable only through ``restrict()``."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.PROTECT, related_name="+")
    operator = models.ForeignKey("tenancy.Operator", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[Any] = ScopedQuerySet.as_manager()

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        check_same_tenant(self)


def check_same_tenant(instance: models.Model) -> None:
    """Refuse references to rows of another tenant (openwisp's _validate_org_relation)."""
    tenant_id = getattr(instance, "tenant_id", None)
    if tenant_id is None:
        return
    errors: dict[str, str] = {}
    for field in instance._meta.concrete_fields:
        if not field.is_relation or field.name == "tenant":
            continue
        related = getattr(instance, field.name, None)
        if related is None:
            continue
        related_model = type(related)
        if related_model._meta.label == "tenancy.Tenant":
            continue
        related_tenant = getattr(related, "tenant_id", None)
        if related_tenant is not None and related_tenant != tenant_id:
            errors[field.name] = str(_("This belongs to another ISP."))
    if errors:
        raise ValidationError(errors)


class AuditEvent(Scoped, models.Model):
    """One state change: who did what to which object, with the changes and where from."""

    access_area = "audit"

    # Bulk work writes an audit row per customer: no index another covers (the tenant leads
    # the (tenant, -id) index, the object type the object index; verbs are filtered within a
    # tenant's rows).
    tenant = models.ForeignKey(
        "tenancy.Tenant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    operator = models.ForeignKey(
        "tenancy.Operator", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(_("by"), max_length=150, blank=True)
    verb = models.CharField(_("action"), max_length=80)
    object_type = models.CharField(_("object type"), max_length=80, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_label = models.CharField(_("object"), max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    at = models.DateTimeField(_("when"), db_index=True)

    objects: ClassVar[Any] = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["tenant", "-id"]),
            models.Index(fields=["object_type", "object_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.verb} {self.object_label}".strip()


class JobRun(Scoped, models.Model):
    """A long operator-visible job with progress (percent + message) and its outcome."""

    access_area = "jobs"

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    tenant = models.ForeignKey(
        "tenancy.Tenant", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    operator = models.ForeignKey(
        "tenancy.Operator", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=80)
    label = models.CharField(_("job"), max_length=200)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.QUEUED
    )
    percent = models.PositiveSmallIntegerField(_("percent"), default=0)
    message = models.CharField(_("message"), max_length=300, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    # The permission a viewer also needs to open the result (e.g. audit.export).
    result_permission = models.CharField(max_length=60, blank=True)
    # The language of whoever queued it: messages and reports are written in it.
    language = models.CharField(max_length=10, default="en")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[Any] = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["tenant", "-id"])]

    def __str__(self) -> str:
        return self.label

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED}
