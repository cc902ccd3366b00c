"""The audit trail: append-only, hash-chained, written in the same transaction as the change.

Writes to business records go through ``audited_create``, ``audited_update``,
``audited_delete`` and the bulk variants here; each appends one entry per
changed row with actor, time, action, object, old and new values, reason,
request id and IP (seed 000 二.2; seed 002 三.(二) traceable ledgers).
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pharmacrm.core import bulkinsert
from pharmacrm.core.models import AuditAction, AuditChainHead, AuditEntry, BaseModel
from pharmacrm.core.querysets import allow_bulk_writes
from pharmacrm.core.request_context import current_request_meta

M = TypeVar("M", bound=models.Model)
GENESIS_HASH = "0" * 64


class StaleVersion(Exception):
    """The record changed since the user loaded it (optimistic locking → 409/412)."""

    def __init__(self, current_version: int):
        super().__init__(_("This record was changed by someone else. Reload it and try again."))
        self.current_version = current_version


# --- canonical form and hashing ------------------------------------------------------


_NATIVE = frozenset({str, int, bool, type(None)})


def to_jsonable(value: Any) -> Any:
    """Stable JSON form of a field value (for changes and for hashing)."""
    kind = type(value)
    if kind in _NATIVE:  # the common case first, by exact type: this runs for every audited value
        return value
    if kind is list:
        return [item if type(item) in _NATIVE else to_jsonable(item) for item in value]
    if kind is dict:
        return {str(key): item if type(item) in _NATIVE else to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if hasattr(value, "name") and hasattr(value, "storage"):  # FieldFile
        return value.name or None
    return str(value)


def entry_payload(entry: AuditEntry) -> dict[str, Any]:
    """The fields the hash covers, in canonical form."""
    return {
        "created_at": to_jsonable(entry.created_at),
        "actor_id": entry.actor_id,
        "actor_username": entry.actor_username,
        "action": entry.action,
        "content_type_id": entry.content_type_id,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "changes": entry.changes,  # already in JSON form: append() converted it, the database returns it so
        "reason": entry.reason,
        "request_id": entry.request_id,
        "ip_address": entry.ip_address,
    }


def compute_hash(previous_hash: str, entry: AuditEntry) -> str:
    canonical = json.dumps(entry_payload(entry), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((previous_hash + canonical).encode()).hexdigest()


# --- appending -----------------------------------------------------------------------


@dataclass
class Change:
    """One audit line to append."""

    action: str
    obj: models.Model | None = None
    changes: dict[str, Any] | None = None
    reason: str = ""
    object_repr: str = ""


def _lock_head() -> AuditChainHead:
    # select_for_update serialises appenders on PostgreSQL; on SQLite the
    # IMMEDIATE transaction already holds the write lock.
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        with allow_bulk_writes():
            AuditChainHead.objects.bulk_create([AuditChainHead(pk=1)], ignore_conflicts=True)
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def lock_chain_head() -> None:
    """Take the chain's lock now, inside the caller's transaction. A service that locks other rows and then
    audits calls it first, so every writer takes its locks in one order (chain head first) and none deadlocks."""
    _lock_head()


def append(changes: Sequence[Change], *, actor: Any = None) -> list[AuditEntry]:
    """Append entries to the chain. Must run inside the caller's transaction."""
    if not changes:
        return []
    meta = current_request_meta()
    now = timezone.now()
    actor_id = getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None
    username = getattr(actor, "get_username", lambda: "")() if actor_id else (meta.username or "")
    with transaction.atomic():
        head = _lock_head()
        previous = head.last_hash
        entries = []
        for change in changes:
            obj = change.obj
            entry = AuditEntry(
                created_at=now,
                actor_id=actor_id,
                actor_username=username or "",
                action=change.action,
                content_type_id=(
                    ContentType.objects.get_for_model(obj, for_concrete_model=False).pk if obj is not None else None
                ),
                object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
                object_repr=(change.object_repr or (str(obj) if obj is not None else ""))[:255],
                changes=to_jsonable(change.changes or {}),
                reason=change.reason or "",
                request_id=meta.request_id,
                ip_address=meta.ip_address,
                previous_hash=previous,
            )
            entry.entry_hash = compute_hash(previous, entry)
            previous = entry.entry_hash
            entries.append(entry)
        bulkinsert.insert(AuditEntry, entries)
        head.last_hash = previous
        head.entry_count += len(entries)
        head.save(update_fields=["last_hash", "entry_count"])
    return entries


def log_event(action: str, *, actor: Any = None, obj: models.Model | None = None,
              changes: dict[str, Any] | None = None, reason: str = "", object_repr: str = "") -> AuditEntry:
    """Audit an event that is not a field change: login, export, view of personal data…"""
    return append([Change(action, obj, changes, reason, object_repr)], actor=actor)[0]


# --- audited writes ------------------------------------------------------------------


def _field_value(obj: models.Model, field: models.Field) -> Any:
    value = getattr(obj, field.attname)
    if getattr(field, "sealed", False):  # sensitive personal data stays ciphertext in the trail (core.fields)
        value = field.audit_value(value)
    return to_jsonable(value)


def snapshot(obj: models.Model) -> dict[str, Any]:
    """The audited values of a record: everything but timestamps and derived columns (search keys,
    status badges), which are recomputed from the audited ones."""
    skipped = {"created_at", "updated_at", *getattr(obj, "derived_fields", ())}
    return {
        field.name: _field_value(obj, field)
        for field in obj._meta.concrete_fields
        if field.name not in skipped
    }


def creation_changes(values: dict[str, Any]) -> dict[str, Any]:
    """A creation entry: each value the record was created with; empty ones (None, "", []) are left out."""
    return {name: [None, value] for name, value in values.items() if value is not None and value != "" and value != []}


def _require_reason(model: type[models.Model], action: str, reason: str) -> None:
    required = getattr(model, "reason_required_for", ())
    if action in required and not (reason or "").strip():
        raise ValidationError({"reason": _("A reason is required for this change.")})


def audited_create(model: type[M], *, actor: Any, audit_reason: str = "",
                   complete: Callable[[M], dict[str, Any]] | None = None, **fields: Any) -> M:
    """Validate, insert and audit one record (create: old values are null).

    ``audit_reason`` is the why of the audit entry; it is not called ``reason`` so
    that models with a ``reason`` field can be created through here too.
    ``complete(obj)`` returns values that need the new row's id (a file attached to it); they are saved in the
    same transaction and the one creation entry records the finished record (RELIABILITY check 1: one write, one
    entry per object).
    """
    reason = audit_reason
    _require_reason(model, AuditAction.CREATE, reason)
    obj = model(**fields)
    obj.full_clean()
    with transaction.atomic(), allow_bulk_writes():
        obj.save(force_insert=True)
        if complete is not None:
            values = complete(obj)
            for name, value in values.items():
                setattr(obj, name, value)
            obj.save(update_fields=list(values))
        append([Change(AuditAction.CREATE, obj, creation_changes(snapshot(obj)), reason)],
               actor=actor)
    return obj


def audited_update(obj: M, *, actor: Any, changes: dict[str, Any], reason: str = "",
                   expected_version: int | None = None, action: str = AuditAction.UPDATE,
                   extra_changes: dict[str, list[Any]] | None = None) -> M:
    """Apply field changes with optimistic locking; audit only what really changed.

    ``extra_changes`` ({name: [old, new]}) are changes the caller applies itself (many-to-many links) that belong
    to the same entry: one change of a record is one audit entry (RELIABILITY check 1)."""
    obj = _unwrap(obj)
    model = obj._meta.model
    _require_reason(model, action, reason)
    with transaction.atomic():
        current = model._base_manager.select_for_update().get(pk=obj.pk)
        versioned = is_versioned(model)
        if expected_version is not None and versioned and current.version != expected_version:
            raise StaleVersion(current.version)
        before = snapshot(current)
        for name, value in changes.items():
            setattr(current, name, value)
        current.full_clean()
        after = snapshot(current)
        diff = {name: [before[name], after[name]] for name in after if before.get(name) != after[name]}
        extra = {name: to_jsonable(pair) for name, pair in (extra_changes or {}).items() if pair[0] != pair[1]}
        if not diff and not extra:
            return current
        update_fields = [model._meta.get_field(name).name for name in diff]
        update_fields += getattr(model, "derived_fields", ())  # clean() may have recomputed them
        if versioned:
            current.version += 1
            update_fields.append("version")
        if isinstance(current, BaseModel):
            update_fields.append("updated_at")
        with allow_bulk_writes():
            current.save(update_fields=update_fields)
        append([Change(action, current, {**diff, **extra}, reason)], actor=actor)
    obj.__dict__.update(current.__dict__)
    return obj


def is_versioned(model: type[models.Model]) -> bool:
    """Models with a ``version`` field take part in optimistic locking (BaseModel, User)."""
    return any(field.name == "version" for field in model._meta.concrete_fields)


def _unwrap(obj: Any) -> Any:
    """request.user is a lazy proxy; writes need the real instance."""
    from django.utils.functional import LazyObject, empty

    if isinstance(obj, LazyObject):
        if obj._wrapped is empty:
            obj._setup()
        return obj._wrapped
    return obj


def audited_delete(obj: models.Model, *, actor: Any, reason: str = "") -> None:
    """Delete one record and keep its last values in the audit trail."""
    _require_reason(type(obj), AuditAction.DELETE, reason)
    with transaction.atomic():
        repr_ = str(obj)
        pk = obj.pk
        changes = [Change(AuditAction.DELETE, row, {k: [v, None] for k, v in snapshot(row).items()}, reason, str(row))
                   for row in _cascaded(obj)]
        before = snapshot(obj)
        append([*changes, Change(AuditAction.DELETE, obj, {k: [v, None] for k, v in before.items()}, reason, repr_)],
               actor=actor)
        with allow_bulk_writes():
            obj.delete()
        obj.pk = pk


def _cascaded(obj: models.Model) -> list[models.Model]:
    """The audited records a delete of ``obj`` takes with it (``on_delete=CASCADE``: an order's lines), so each
    leaves its last values in the trail too."""
    from django.db import router
    from django.db.models.deletion import Collector, ProtectedError, RestrictedError

    collector = Collector(using=router.db_for_write(type(obj), instance=obj))
    try:
        collector.collect([obj])
    except (ProtectedError, RestrictedError):
        return []  # the delete itself refuses, with the same error (or the model's own guard first)
    rows: list[models.Model] = [row for instances in collector.data.values() for row in instances]
    for queryset in collector.fast_deletes:
        rows.extend(queryset)
    itself = (obj._meta.concrete_model, obj.pk)
    return sorted((row for row in rows if isinstance(row, BaseModel) and (row._meta.concrete_model, row.pk) != itself),
                  key=lambda row: (row._meta.label, row.pk))


def audited_bulk_create(model: type[M], objs: Iterable[M], *, actor: Any, reason: str = "",
                        batch_size: int = 2000, extra: Callable[[M], dict[str, Any]] | None = None) -> list[M]:
    """Insert many rows (imports, seeding) with one audit entry per row, atomically.

    ``extra(row)`` adds values the row's entry should record beyond its columns (an
    import's tags), so one entry tells the whole creation.
    """
    created: list[M] = []
    with transaction.atomic(), allow_bulk_writes():
        batch: list[M] = []
        for obj in objs:
            batch.append(obj)
            if len(batch) >= batch_size:
                created += _insert_batch(model, batch, actor, reason, extra)
                batch = []
        if batch:
            created += _insert_batch(model, batch, actor, reason, extra)
    return created


def _insert_batch(model: type[M], batch: list[M], actor: Any, reason: str,
                  extra: Callable[[M], dict[str, Any]] | None) -> list[M]:
    rows = bulkinsert.insert(model, batch)
    changes = []
    for row in rows:
        values = snapshot(row)
        if extra is not None:
            values.update(extra(row))
        changes.append(Change(AuditAction.CREATE, row, creation_changes(values), reason))
    append(changes, actor=actor)
    return rows


def audited_bulk_update(queryset: models.QuerySet, *, actor: Any, reason: str, **values: Any) -> int:
    """Set the same values on many rows, one audit entry per row that really changed."""
    model = queryset.model
    names = list(values)
    with transaction.atomic(), allow_bulk_writes():
        ids = list(queryset.values_list("pk", flat=True))  # materialised: RELIABILITY pitfall 8
        changes: list[Change] = []
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]
            for row in model._base_manager.filter(pk__in=chunk).only("pk", *names):
                diff = {
                    name: [to_jsonable(getattr(row, model._meta.get_field(name).attname)), to_jsonable(values[name])]
                    for name in names
                }
                diff = {name: pair for name, pair in diff.items() if pair[0] != pair[1]}
                if diff:
                    changes.append(Change(AuditAction.UPDATE, row, diff, reason, object_repr=f"{model.__name__} #{row.pk}"))
        changed_ids = [change.obj.pk for change in changes if change.obj is not None]
        extra = {"version": models.F("version") + 1} if issubclass(model, BaseModel) else {}
        for start in range(0, len(changed_ids), 1000):
            model._base_manager.filter(pk__in=changed_ids[start:start + 1000]).update(
                **values, **extra, **({"updated_at": timezone.now()} if extra else {})
            )
        append(changes, actor=actor)
    return len(changes)


# --- verification ----------------------------------------------------------------------


@dataclass
class ChainReport:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str = ""


def verify_chain(batch_size: int = 5000) -> ChainReport:
    """Walk the chain in id order; name the first entry that does not fit."""
    previous = GENESIS_HASH
    checked = 0
    last_id = 0
    while True:
        batch = list(AuditEntry.objects.filter(pk__gt=last_id).order_by("pk")[:batch_size])
        if not batch:
            break
        for entry in batch:
            if entry.previous_hash != previous:
                return ChainReport(False, checked, entry.pk,
                                   "previous hash does not match: an entry before it was removed, inserted or reordered")
            if compute_hash(previous, entry) != entry.entry_hash:
                return ChainReport(False, checked, entry.pk, "content does not match its hash: the entry was altered")
            previous = entry.entry_hash
            checked += 1
            last_id = entry.pk
    head = AuditChainHead.objects.filter(pk=1).first()
    expected_hash = head.last_hash if head else GENESIS_HASH
    expected_count = head.entry_count if head else 0
    if expected_hash != previous or expected_count != checked:
        return ChainReport(False, checked, last_id or None,
                           f"chain ends at a different entry than recorded ({checked} entries, {expected_count} recorded): "
                           "entries after it were removed")
    return ChainReport(True, checked)
