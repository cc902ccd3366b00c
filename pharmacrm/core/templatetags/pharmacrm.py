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
