"""Template helpers of the shell."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.contenttypes.models import ContentType

register = template.Library()


@register.filter
def content_type_id(obj: Any) -> int:
    return ContentType.objects.get_for_model(obj, for_concrete_model=False).pk


@register.filter
def masked_phone(value: str) -> str:
    """138****5678: personal numbers are masked on pages (unmasking comes with the customer-master issue)."""
    if not value:
        return "—"
    digits = str(value)
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"


@register.filter
def role_label(value: str) -> str:
    """The translated name of a role code (approval steps store the code)."""
    from pharmacrm.org.roles import Role

    try:
        return str(Role(value).label)
    except ValueError:
        return value


@register.filter
def as_change(value: Any) -> dict[str, Any]:
    """Audit changes are [old, new] pairs for field edits and plain values for events."""
    if isinstance(value, list) and len(value) == 2:
        return {"pair": True, "old": value[0], "new": value[1]}
    return {"pair": False, "new": value}


@register.filter
def yuan(value: int | None) -> str:
    """Whole fen as ``¥1,234.50``."""
    from pharmacrm.core.money import format_yuan

    return format_yuan(value)
