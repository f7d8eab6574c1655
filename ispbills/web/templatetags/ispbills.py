"""Panel template helpers: money, times in the tenant's zone, permissions."""

from typing import Any

from django import template

from ispbills.core.access import access_of
from ispbills.core.clock import format_local
from ispbills.core.money import format_money

register = template.Library()


@register.filter
def money(value: Any, currency: str = "BDT") -> str:
    """``{{ amount|money }}`` → ৳ 1,234.50"""
    return format_money(value, currency or "BDT")


@register.filter
def tenant_time(value: Any, fmt: str = "Y-m-d H:i") -> str:
    """An aware datetime shown in the active (tenant's) zone, e.g. 2026-11-26 18:10."""
    return format_local(value, fmt)


@register.simple_tag(takes_context=True)
def can(context: Any, permission: str) -> bool:
    """``{% can "operators.add" as may_add %}``"""
    return access_of(context["request"].user).can(permission)


@register.filter
def bs(bound_field: Any, size: str = "") -> Any:
    """Render a form field with Bootstrap classes (and is-invalid when it has errors)."""
    widget = bound_field.field.widget
    input_type = getattr(widget, "input_type", "")
    if input_type == "checkbox":
        css = "form-check-input"
    elif input_type == "select" or widget.__class__.__name__.endswith("Select"):
        css = "form-select" + (f" form-select-{size}" if size else "")
    else:
        css = "form-control" + (f" form-control-{size}" if size else "")
    if bound_field.errors:
        css += " is-invalid"
    existing = widget.attrs.get("class", "")
    return bound_field.as_widget(attrs={"class": f"{existing} {css}".strip()})
