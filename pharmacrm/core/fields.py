"""Model fields for Chinese identifiers: they normalise on ``full_clean``, so every
path that validates (forms, API, imports, services) stores one canonical form."""

from __future__ import annotations

from typing import Any

from django.db import models

from pharmacrm.core.validators import normalize_phone


class PhoneField(models.CharField):
    """A mainland China phone number, stored as ``13812345678`` or ``010-65281234-8001``.

    ``kind`` (``validators.MOBILE`` / ``validators.LANDLINE``) restricts what is
    accepted; without it any valid number is.
    """

    def __init__(self, *args: Any, kind: str | None = None, **kwargs: Any) -> None:
        self.kind = kind
        kwargs.setdefault("max_length", 30)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        if self.kind:
            kwargs["kind"] = self.kind
        if kwargs.get("max_length") == 30:
            del kwargs["max_length"]
        return name, path, args, kwargs

    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        if value in self.empty_values:
            return ""
        return normalize_phone(value, self.kind)
