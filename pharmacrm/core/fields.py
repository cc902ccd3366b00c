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


class SealedFieldMixin:
    """Stores the value AES-GCM sealed (``core.crypto``); Python code sees clear text.

    The column is ``text`` (ciphertext is longer than the value); ``max_length`` still
    limits the clear value. Only ``exact`` / ``isnull`` on "" make sense in SQL: look rows up
    by a blind-index column instead. The audit trail records the value sealed
    deterministically (``audit_value``), so a dump of the audit table holds no clear value either.
    """

    sealed = True

    def get_internal_type(self) -> str:
        return "TextField"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        from pharmacrm.core.crypto import open_value

        return open_value(value)

    def get_prep_value(self, value: Any) -> Any:
        from pharmacrm.core.crypto import seal

        value = super().get_prep_value(value)  # type: ignore[misc]
        return seal(value) if isinstance(value, str) else value

    def audit_value(self, value: Any) -> Any:
        from pharmacrm.core.crypto import seal_deterministic

        return seal_deterministic(value) if isinstance(value, str) else value


class SealedPhoneField(SealedFieldMixin, PhoneField):
    """A phone number (normalised like ``PhoneField``) stored sealed."""


class SealedCharField(SealedFieldMixin, models.CharField):
    """Short sensitive text (a resident ID, a bank account) stored sealed."""


class BlindIndexField(models.CharField):
    """HMAC of another (sealed) field's value, computed on every save, for exact lookups (``core.crypto``)."""

    def __init__(self, *args: Any, source: str = "", **kwargs: Any) -> None:
        self.source = source
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        for key, default in (("max_length", 64), ("blank", True), ("editable", False), ("db_index", True)):
            if kwargs.get(key) == default:
                kwargs.pop(key)
        return name, path, args, kwargs

    def pre_save(self, model_instance: Any, add: bool) -> str:
        from pharmacrm.core.crypto import blind_index

        value = blind_index(getattr(model_instance, self.source) or "")
        setattr(model_instance, self.attname, value)
        return value
