"""Case archives: a complaint or quality record with everything that makes it a GxP record, as one JSON document
(21 CFR 11.10(b) accurate and complete copies; Annex 11 §8/§9/§17).

``export_case(case)`` gathers the record, its notes and clocks, every audit entry about them (with the chain
hashes), the electronic signatures on it (manifest: printed name, meaning, UTC time, content hash), and whether it
changed since its original entry; ``document_hash`` seals the whole. ``audit_csv`` is the audit trail as CSV, one
line per changed field. ``import_archive`` checks an archive (its hash, each audit entry's hash, the signatures'
hashes) and keeps it read-only as a ``CaseArchive`` (see there why not in the live tables).
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from pharmacrm.core.audit import Change, append, compute_hash, snapshot, to_jsonable
from pharmacrm.core.exports import safe_cell
from pharmacrm.core.models import AuditAction, AuditEntry, Signature
from pharmacrm.org.scope import authorize
from pharmacrm.service.models import Case, CaseArchive, CaseNote, SlaClock

FORMAT = "pharmacrm.case-archive/1"
#: audit actions that change a record after its creation: the "changed since original entry" flag
CHANGE_ACTIONS = (AuditAction.UPDATE, AuditAction.TRANSITION, AuditAction.DELETE)


def _content_type(model: type) -> ContentType:
    return ContentType.objects.get_for_model(model, for_concrete_model=False)


def audit_entries(case: Case) -> Any:
    """Every audit entry about the case, its notes, clocks and signatures, in chain order."""
    case_type, note_type, clock_type, signature_type = (_content_type(model) for model in
                                                        (Case, CaseNote, SlaClock, Signature))
    signature_ids = [str(pk) for pk in signatures(case).values_list("pk", flat=True)]
    return AuditEntry.objects.filter(
        Q(content_type=case_type, object_id=str(case.pk))
        | Q(content_type=note_type, object_id__in=[str(pk) for pk in case.notes.values_list("pk", flat=True)])
        | Q(content_type=clock_type, object_id__in=[str(pk) for pk in case.clocks.values_list("pk", flat=True)])
        | Q(content_type=signature_type, object_id__in=signature_ids)
    ).select_related("content_type").order_by("id")


def signatures(case: Case) -> Any:
    return Signature.objects.filter(content_type=_content_type(Case), object_id=str(case.pk)).order_by("id")


def changes_since_entry(case: Case) -> int:
    """How many times the record was changed after it was first entered (0: as originally entered)."""
    return AuditEntry.objects.for_object(case).filter(action__in=CHANGE_ACTIONS).count()


def with_changed_flag(cases: Any) -> Any:
    """Cases annotated with ``changed_since_entry`` (bool), in the same query (the audit object index)."""
    from django.db.models import CharField, Exists, OuterRef
    from django.db.models.functions import Cast

    changes = AuditEntry.objects.filter(content_type=_content_type(Case), action__in=CHANGE_ACTIONS,
                                        object_id=Cast(OuterRef("pk"), output_field=CharField()))
    return cases.annotate(changed_since_entry=Exists(changes))


def _record(obj: Any) -> dict[str, Any]:
    return {"model": obj._meta.label_lower, "pk": obj.pk,
            "fields": {**snapshot(obj), "created_at": to_jsonable(obj.created_at),
                       "updated_at": to_jsonable(obj.updated_at),
                       **{name: to_jsonable(getattr(obj, name)) for name in getattr(obj, "derived_fields", ())}}}


def _entry(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.pk, "created_at": to_jsonable(entry.created_at), "actor_id": entry.actor_id,
        "actor_username": entry.actor_username, "action": entry.action, "content_type_id": entry.content_type_id,
        "model": entry.content_type.model_class()._meta.label_lower if entry.content_type else "",
        "object_id": entry.object_id, "object_repr": entry.object_repr, "changes": entry.changes,
        "reason": entry.reason, "request_id": entry.request_id, "ip_address": entry.ip_address,
        "previous_hash": entry.previous_hash, "entry_hash": entry.entry_hash,
    }


def _signature(signature: Signature, case: Case) -> dict[str, Any]:
    from pharmacrm.core.approvals import signature_is_valid

    return {
        "id": signature.pk, "signer_id": signature.signer_id, "signer_username": signature.signer.get_username(),
        "printed_name": signature.printed_name, "meaning": signature.meaning,
        "meaning_label": str(signature.get_meaning_display()),
        "signed_at": to_jsonable(signature.signed_at), "content_hash": signature.content_hash,
        "valid_at_export": signature_is_valid(signature, case),
    }


def seal(document: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the document without its own hash."""
    body = {key: value for key, value in document.items() if key != "document_hash"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def export_case(case: Case, *, actor: Any = None) -> dict[str, Any]:
    """The case's archive document (see the module). With ``actor``, the export is audited."""
    if actor is not None:
        authorize(actor, "service.archive_case")
        if not Case.objects.visible_to(actor).filter(pk=case.pk).exists():
            raise PermissionDenied
    changes = changes_since_entry(case)
    document: dict[str, Any] = {
        "format": FORMAT,
        "record": {**_record(case), "number": case.number},
        "changed_since_original_entry": changes > 0,
        "changes_since_original_entry": changes,
        "notes": [_record(note) for note in case.notes.order_by("id")],
        "clocks": [_record(clock) for clock in case.clocks.order_by("id")],
        "audit_trail": [_entry(entry) for entry in audit_entries(case)],
        "signatures": [_signature(signature, case) for signature in signatures(case).select_related("signer")],
    }
    document["document_hash"] = seal(document)
    if actor is not None:
        with transaction.atomic():
            append([Change(AuditAction.EXPORT, case, {"document_hash": document["document_hash"]},
                           object_repr=str(case))], actor=actor)
    return document


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)


AUDIT_CSV_HEADER = ["entry", "time_utc", "user", "action", "model", "object_id", "object", "field", "old", "new",
                    "reason", "entry_hash"]


def audit_csv(document: dict[str, Any]) -> str:
    """The archive's audit trail as CSV: one line per changed field (one per entry when nothing changed)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(AUDIT_CSV_HEADER)
    for entry in document["audit_trail"]:
        fields = entry["changes"] if isinstance(entry["changes"], dict) else {}
        pairs = [(name, *(value if isinstance(value, list) and len(value) == 2 else [None, value]))
                 for name, value in sorted(fields.items())] or [("", None, None)]
        for name, old, new in pairs:
            writer.writerow([safe_cell(value) for value in (
                entry["id"], entry["created_at"], entry["actor_username"], entry["action"], entry["model"],
                entry["object_id"], entry["object_repr"], name,
                "" if old is None else json.dumps(old, ensure_ascii=False) if not isinstance(old, str) else old,
                "" if new is None else json.dumps(new, ensure_ascii=False) if not isinstance(new, str) else new,
                entry["reason"], entry["entry_hash"])])
    return out.getvalue()


# --- import ---------------------------------------------------------------------------------------------------


def verify(document: Any) -> list[str]:
    """What is wrong with an archive (empty: intact): its format, its seal, each audit entry's hash."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return [_("Not a case archive.")]
    problems = []
    if seal(document) != document.get("document_hash"):
        problems.append(_("The archive was changed after export: its hash does not match."))
    for item in document.get("audit_trail", []):
        entry = AuditEntry(
            created_at=item["created_at"], actor_id=item["actor_id"], actor_username=item["actor_username"],
            action=item["action"], content_type_id=item["content_type_id"], object_id=item["object_id"],
            object_repr=item["object_repr"], changes=item["changes"], reason=item["reason"],
            request_id=item["request_id"], ip_address=item["ip_address"])
        if compute_hash(item["previous_hash"], entry) != item["entry_hash"]:
            problems.append(_("Audit entry #%(id)s does not match its hash.") % {"id": item["id"]})
    return problems


def import_archive(document: Any, *, actor: Any = None) -> CaseArchive:
    """Check an archive and keep it, read-only; the import itself is audited in this instance's chain.

    ``actor`` None: the command line (the operator is the one running ``manage.py``)."""
    if actor is not None:
        authorize(actor, "service.archive_case")
    problems = verify(document)
    if problems:
        raise ValidationError({"archive": problems})
    record = document["record"]
    existing = CaseArchive.objects.filter(document_hash=document["document_hash"]).first()
    if existing is not None:  # importing the same archive twice keeps one copy
        return existing
    with transaction.atomic():
        archive = CaseArchive(case_number=record["number"], source_case_id=record["pk"], document=document,
                              document_hash=document["document_hash"], imported_at=timezone.now(),
                              imported_by=actor if getattr(actor, "is_authenticated", False) else None)
        archive.save(force_insert=True)
        append([Change(AuditAction.CREATE, archive, {"case_number": [None, archive.case_number],
                                                      "document_hash": [None, archive.document_hash],
                                                      "audit_entries": [None, len(document["audit_trail"])]})],
               actor=actor)
    return archive


def archive_for_download(case: Case, actor: Any) -> tuple[str, str]:
    """(file name, JSON text) of the case's archive, audited as an export."""
    document = export_case(case, actor=actor)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{case.number}-archive-{stamp}.json", dumps(document)
