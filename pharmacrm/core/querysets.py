"""Scoped, audit-guarded querysets: the one read mechanism and the bulk-write guard.

Every business model's manager is built from ``ScopedQuerySet``. Its
``visible_to(user)`` decides which rows a user may see; base views and API
viewsets refuse to serve a model whose queryset does not implement it.

Bulk writes (``update()``, ``delete()``, ``bulk_create``, ``bulk_update``) skip
``save()`` and so would skip the audit trail (RELIABILITY.md pitfall 12). They
are refused unless they run inside ``core.audit`` helpers, which write one audit
entry per changed row in the same transaction.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Self

from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

_bulk_allowed: contextvars.ContextVar[bool] = contextvars.ContextVar("bulk_allowed", default=False)


class UnauditedBulkWrite(RuntimeError):
    """Raised when code bypasses the audited write helpers."""


@contextlib.contextmanager
def allow_bulk_writes() -> Iterator[None]:
    """Only for core.audit helpers (and tests that set up raw fixtures)."""
    token = _bulk_allowed.set(True)
    try:
        yield
    finally:
        _bulk_allowed.reset(token)


def _refuse(operation: str) -> None:
    if not _bulk_allowed.get():
        raise UnauditedBulkWrite(
            f"{operation}() bypasses the audit trail; use pharmacrm.core.audit "
            "(audited_create / audited_update / audited_delete / audited_bulk_*) instead."
        )


def refuse_unaudited(operation: str) -> None:
    """Raise UnauditedBulkWrite unless the caller runs inside a core.audit helper (allow_bulk_writes)."""
    _refuse(operation)


class AuditedQuerySet(models.QuerySet):
    """Refuses bulk writes outside the audited helpers."""

    def update(self, **kwargs: Any) -> int:
        _refuse("update")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        _refuse("delete")
        return super().delete()

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        _refuse("bulk_create")
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        _refuse("bulk_update")
        return super().bulk_update(objs, fields, *args, **kwargs)

    def update_derived(self, **values: Any) -> int:
        """Write columns the system derives from audited data (a status badge, a search key).

        They are recomputable, so they are not audited; only fields the model lists in
        ``derived_fields`` are accepted, so this cannot become a back door for edits.
        """
        unknown = set(values) - set(getattr(self.model, "derived_fields", ()))
        if unknown:
            raise UnauditedBulkWrite(f"{self.model.__name__}: {sorted(unknown)} are not derived fields")
        return super().update(**values)


class ScopedQuerySet(AuditedQuerySet):
    """Base for every business model's queryset; subclasses implement visible_to."""

    #: set to True by subclasses that implement visible_to
    scoped = False

    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> Self:
        raise NotImplementedError(f"{self.model.__name__} has no visible_to(user); it cannot be served.")

    def history_visible_to(self, user: AbstractBaseUser | AnonymousUser) -> Self:
        """Records whose History tab (audit entries) the user may read; by default the visible ones."""
        return self.visible_to(user)


def is_scoped(model: type[models.Model]) -> bool:
    """True when the model's default manager implements visible_to."""
    queryset = model._default_manager.get_queryset()
    return bool(getattr(type(queryset), "scoped", False)) and callable(getattr(queryset, "visible_to", None))
