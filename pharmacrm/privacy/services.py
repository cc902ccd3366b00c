"""Personal-information protection: the access log, subject requests, anonymisation, bulk-export approval.

Every read of a person's data that the product serves writes one ``PersonalDataAccess`` row in the
same request (``log_access``); the DPO answers data-subject requests here; ``anonymise_contact`` is
the one deletion path (subject request and retention purge alike).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from pharmacrm.core import policy
from pharmacrm.core.audit import audited_create, audited_update, to_jsonable
from pharmacrm.core.crypto import seal
from pharmacrm.core.querysets import allow_bulk_writes
from pharmacrm.customers.models import Contact
from pharmacrm.org.roles import Role
from pharmacrm.org.scope import authorize
from pharmacrm.privacy import inventory
from pharmacrm.privacy.models import (
    ACCESS_LOG_MIN_DAYS,
    AccessPurpose,
    BulkExport,
    ExportStatus,
    PersonalDataAccess,
    RequestKind,
    RequestStatus,
    RetainedPersonalData,
    SubjectRequest,
)
from pharmacrm.privacy.policy import (
    ACCESS_LOG_RETENTION_DAYS,
    BULK_EXPORT_THRESHOLD,
    INACTIVE_CONTACT_YEARS,
    SUBJECT_REQUEST_DAYS,
    SUBJECT_REQUEST_MAX_DAYS,
)

BULK_EXPORT_APPROVAL = "privacy.bulk_export"
#: what a required text field holds once the person is erased from it
ANONYMISED_TEXT = "—"
#: case kinds that are GxP records: their person stays, restricted to quality assurance
GXP_CASE_KINDS = ("complaint", "quality")


# --- the access log --------------------------------------------------------------------------


def log_access(viewer: Any, subjects: Iterable[Any], purpose: str, *, path: str = "", approved_by: Any = None,
               detail: str = "") -> PersonalDataAccess | None:
    """One row ⟨viewer, subject ids, purpose, time⟩ for a read of persons' data; nothing when no person was shown."""
    ids = sorted({int(getattr(subject, "pk", subject)) for subject in subjects})
    if not ids:
        return None
    authenticated = getattr(viewer, "is_authenticated", False)
    return PersonalDataAccess.objects.create(
        viewer=viewer if authenticated else None,
        viewer_username=viewer.get_username() if authenticated else "",
        purpose=purpose, subject_ids="," + ",".join(map(str, ids)) + ",", subject_count=len(ids),
        path=(path or "")[:300], approved_by=approved_by, detail=(detail or "")[:300])


def purge_access_log(now: datetime.datetime | None = None) -> int:
    """Delete access-log rows older than the retention policy (never younger than 180 days: the database
    refuses those too). Returns the number deleted."""
    now = now or timezone.now()
    days = max(int(policy.get(ACCESS_LOG_RETENTION_DAYS.key)), ACCESS_LOG_MIN_DAYS)
    cutoff = now - datetime.timedelta(days=days)
    with transaction.atomic(), allow_bulk_writes():
        deleted, _detail = PersonalDataAccess.objects.filter(at__lt=cutoff).delete()
    return deleted


# --- sensitive personal data needs separate consent (PIPL Art.29) -----------------------------


def has_sensitive_consent(contact: Contact | None) -> bool:
    from pharmacrm.customers.choices import ConsentPurpose

    if contact is None or contact.pk is None:
        return False
    return contact.consents.filter(purpose=ConsentPurpose.SENSITIVE, withdrawn_on__isnull=True).exists()


def require_sensitive_consent(contact: Contact | None, fields: dict[str, Any]) -> None:
    """A resident ID is sensitive personal data: storing one needs the person's separate consent."""
    if (fields.get("id_number") or "").strip() and not has_sensitive_consent(contact):
        raise ValidationError({"id_number": [_(
            "A resident ID number is sensitive personal data: record the person's separate consent "
            "(purpose “sensitive personal data”) before saving it (PIPL Art.29).")]})


# --- subject requests ----------------------------------------------------------------------------


def due_date(received_on: datetime.date) -> datetime.date:
    days = min(int(policy.get(SUBJECT_REQUEST_DAYS.key, received_on)), SUBJECT_REQUEST_MAX_DAYS)
    return received_on + datetime.timedelta(days=days)


CORRECTABLE = ("name", "gender", "department", "title", "specialty", "mobile", "office_phone", "email",
               "wechat_id", "birthday", "birthday_calendar", "id_number", "notes")


def open_request(*, actor: Any, kind: str, contact: Contact, received_on: datetime.date, channel: str = "",
                 details: str = "", corrections: dict[str, Any] | None = None) -> SubjectRequest:
    authorize(actor, "privacy.add_subjectrequest")
    corrections = {key: value for key, value in (corrections or {}).items() if value not in (None,)}
    unknown = sorted(set(corrections) - set(CORRECTABLE))
    if unknown:
        raise ValidationError({"corrections": [_("These fields cannot be corrected here: %(fields)s")
                                               % {"fields": ", ".join(unknown)}]})
    if kind == RequestKind.CORRECTION and not corrections:
        raise ValidationError({"corrections": [_("Say which fields to correct and their correct values.")]})
    if received_on > policy.today():
        raise ValidationError({"received_on": [_("A request cannot be received in the future.")]})
    return audited_create(SubjectRequest, actor=actor, kind=kind, contact=contact, received_on=received_on,
                          due_on=due_date(received_on), channel=channel, details=details,
                          corrections={key: to_jsonable(value) for key, value in corrections.items()})


def _subject_rows(entry: inventory.Entry, contact: Contact) -> models.QuerySet:
    model = entry.model_class
    return model._base_manager.filter(**{entry.contact: contact.pk}).distinct().order_by("pk")


def subject_copy(*, actor: Any, contact: Contact, request: SubjectRequest | None = None) -> dict[str, Any]:
    """Every personal field of the person across the inventory's tables (PIPL Art.45), logged."""
    authorize(actor, "privacy.handle_subjectrequest")
    copy: dict[str, Any] = {"person": contact.pk, "made_at": to_jsonable(timezone.now()), "records": {}}
    for entry in inventory.entries():
        rows = []
        for row in _subject_rows(entry, contact):
            rows.append({"id": row.pk, **{name: to_jsonable(_value(row, name)) for name in entry.fields}})
        if rows:
            copy["records"][entry.model] = rows
    with transaction.atomic():
        log_access(actor, [contact], AccessPurpose.SUBJECT_ACCESS,
                   detail=f"subject request {request.pk}" if request else "")
    return copy


def _value(row: models.Model, name: str) -> Any:
    field = row._meta.get_field(name)
    if field.many_to_many:
        return list(getattr(row, name).values_list("pk", flat=True))
    return getattr(row, field.attname)


def _has_gxp_cases(contact: Contact) -> bool:
    from pharmacrm.service.models import Case

    return Case.objects.filter(contact=contact, kind__in=GXP_CASE_KINDS).exists()


def anonymise_contact(*, actor: Any, contact: Contact, reason: str, purpose: str = AccessPurpose.DELETION) -> Contact:
    """Erase the person from non-GxP data: the contact's own fields become placeholders, inventoried
    fields marked "blank" are cleared, the search index is rebuilt for the row. A person a GxP record
    must keep (complaint, quality case) is first copied, sealed, to ``RetainedPersonalData`` for QA and
    the contact marked restricted."""
    from pharmacrm.customers import search

    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        if contact.anonymised_at is not None:
            return contact
        gxp = _has_gxp_cases(contact)
        if gxp:
            identity = {name: to_jsonable(getattr(contact, name)) for name in Contact.subject_fields}
            audited_create(RetainedPersonalData, actor=actor, contact=contact,
                           sealed_identity=seal(json.dumps(identity, ensure_ascii=False)),
                           reason=_("Complaint or quality case (GxP record) of this person"))
        blank = {name: (None if Contact._meta.get_field(name).null else "") for name in Contact.subject_fields
                 if name not in ("birthday_calendar",)}
        blank["name"] = f"anon-{contact.pk}"
        blank.update(pi_restricted=gxp, anonymised_at=timezone.now(), is_key_contact=False)
        contact = audited_update(contact, actor=actor, changes=blank, reason=reason)
        for entry in inventory.entries():
            if entry.on_delete != "blank" or entry.model == "customers.Contact":
                continue
            for row in _subject_rows(entry, contact):
                changes = {}
                for name in entry.fields:
                    field = row._meta.get_field(name)
                    if isinstance(field, models.JSONField):
                        changes[name] = {}
                    elif field.null:
                        changes[name] = None
                    elif isinstance(field, (models.CharField, models.TextField)):
                        changes[name] = "" if field.blank else ANONYMISED_TEXT
                if changes:
                    audited_update(row, actor=actor, changes=changes, reason=reason)
        search.index_contacts([contact])
        log_access(actor, [contact], purpose, detail=reason)
    return contact


def complete_request(*, actor: Any, subject_request: SubjectRequest, outcome: str = "",
                     refuse: bool = False) -> tuple[SubjectRequest, dict[str, Any] | None]:
    """Carry out a request (or refuse it with a reason) and close it. Returns the copy for an access request."""
    authorize(actor, "privacy.handle_subjectrequest")
    if not subject_request.is_open:
        raise ValidationError({"status": [_("This request is already closed.")]})
    if refuse and not (outcome or "").strip():
        raise ValidationError({"outcome": [_("Say why the request is refused.")]})
    reason = _("Data-subject request %(number)s") % {"number": str(subject_request)}
    copy = None
    with transaction.atomic():
        contact = subject_request.contact
        if not refuse:
            if subject_request.kind == RequestKind.ACCESS:
                copy = subject_copy(actor=actor, contact=contact, request=subject_request)
            elif subject_request.kind == RequestKind.CORRECTION:
                correct_contact(actor=actor, contact=contact, changes=subject_request.corrections, reason=reason)
            elif subject_request.kind == RequestKind.DELETION:
                anonymise_contact(actor=actor, contact=contact, reason=reason)
        subject_request = audited_update(subject_request, actor=actor, changes={
            "status": RequestStatus.REFUSED if refuse else RequestStatus.DONE, "handled_by": actor,
            "closed_at": timezone.now(), "outcome": (outcome or "").strip()}, reason=reason)
    return subject_request, copy


def correct_contact(*, actor: Any, contact: Contact, changes: dict[str, Any], reason: str) -> Contact:
    """A correction the person asked for, through the audited update (old and new values kept)."""
    from pharmacrm.customers import search

    allowed = {key: value for key, value in changes.items() if key in CORRECTABLE}
    if "birthday" in allowed and isinstance(allowed["birthday"], str):
        allowed["birthday"] = datetime.date.fromisoformat(allowed["birthday"]) if allowed["birthday"] else None
    with transaction.atomic():
        require_sensitive_consent(contact, allowed)
        contact = audited_update(contact, actor=actor, changes=allowed, reason=reason)
        search.index_contacts([contact])
        log_access(actor, [contact], AccessPurpose.CORRECTION, detail=reason)
    return contact


# --- retention -------------------------------------------------------------------------------------


def inactive_contacts(on: datetime.date | None = None) -> list[int]:
    """Ids of contacts to anonymise for retention: no active consent, nothing recorded about them for
    ``privacy.inactive_contact_years`` (visits met, calls, greetings, samples, cases, deliveries, edits),
    no GxP case (those follow the GxP record's retention), not yet anonymised."""
    from pharmacrm.content.models import ContentDelivery
    from pharmacrm.engagement.models import Communication, Greeting, Visit
    from pharmacrm.samples.models import Disbursement
    from pharmacrm.service.models import Case

    on = on or policy.today()
    years = int(policy.get(INACTIVE_CONTACT_YEARS.key, on))
    cutoff = timezone.make_aware(datetime.datetime.combine(on.replace(year=on.year - years), datetime.time()))
    recent = (
        models.Q(consents__withdrawn_on__isnull=True, consents__isnull=False)
        | models.Q(pk__in=Communication.objects.filter(occurred_at__gte=cutoff).values("contact_id"))
        | models.Q(pk__in=Greeting.objects.filter(created_at__gte=cutoff).values("contact_id"))
        | models.Q(pk__in=Disbursement.objects.filter(created_at__gte=cutoff).values("contact_id"))
        | models.Q(pk__in=Case.objects.filter(received_at__gte=cutoff).values("contact_id"))
        | models.Q(pk__in=Case.objects.filter(kind__in=GXP_CASE_KINDS).values("contact_id"))
        | models.Q(pk__in=ContentDelivery.objects.filter(delivered_at__gte=cutoff).values("contact_id"))
        | models.Q(pk__in=Visit.contacts_met.through.objects.filter(
            visit__created_at__gte=cutoff).values("contact_id"))
    )
    candidates = Contact._base_manager.filter(anonymised_at__isnull=True, updated_at__lt=cutoff).exclude(recent)
    return list(candidates.order_by("pk").values_list("pk", flat=True))


def purge_inactive_contacts(on: datetime.date | None = None) -> int:
    """The retention job: anonymise each inactive contact (idempotent: anonymised ones are skipped)."""
    ids = inactive_contacts(on)
    for contact_id in ids:  # materialised ids, one short transaction each (RELIABILITY pitfalls 8, 13)
        contact = Contact._base_manager.get(pk=contact_id)
        anonymise_contact(actor=None, contact=contact, reason=_("End of retention (inactive, no consent)"),
                          purpose=AccessPurpose.RETENTION)
    return len(ids)


# --- bulk exports ------------------------------------------------------------------------------------


class ExportNeedsApproval(PermissionDenied):
    """An export of more persons than the policy allows without the DPO's approval (→ 403)."""

    def __init__(self, count: int, threshold: int, request_url: str):
        self.count, self.threshold, self.request_url = count, threshold, request_url
        super().__init__(_(
            "This export holds %(count)s persons; more than %(threshold)s need the approval of the "
            "personal-information protection officer. Request it at %(url)s (say why you need the list), "
            "then export again once it is approved.") % {"count": count, "threshold": threshold,
                                                         "url": request_url})


def export_allowance(*, actor: Any, list_name: str, query: str, count: int) -> BulkExport | None:
    """None when the export is small enough; the approved ``BulkExport`` for a large one; else refuse."""
    threshold = int(policy.get(BULK_EXPORT_THRESHOLD.key))
    if count <= threshold:
        return None
    approved = (BulkExport.objects.filter(requested_by=actor, list_name=list_name, query=query,
                                          status=ExportStatus.APPROVED, person_count__gte=count)
                .order_by("-id").first())
    if approved is None:
        from urllib.parse import urlencode

        url = reverse("privacy:export_request") + "?" + urlencode({"list": list_name, "query": query,
                                                                   "count": count})
        raise ExportNeedsApproval(count, threshold, url)
    return approved


def mark_export_used(bulk_export: BulkExport) -> None:
    audited_update(bulk_export, actor=bulk_export.requested_by, changes={"status": ExportStatus.USED,
                                                                         "used_at": timezone.now()})


def request_export(*, actor: Any, list_name: str, query: str, count: int, purpose: str) -> BulkExport:
    from pharmacrm.core.approvals import request_approval

    if not (purpose or "").strip():
        raise ValidationError({"purpose": [_("Say what the list is for.")]})
    if count < 1:
        raise ValidationError({"count": [_("An export holds at least one person.")]})
    if not _is_list_page(list_name):
        raise ValidationError({"list": [_("Not a list of this system that exports persons.")]})
    with transaction.atomic():
        bulk_export = audited_create(BulkExport, actor=actor, requested_by=actor, list_name=list_name[:64],
                                     query=query[:1000], person_count=count, purpose=purpose.strip()[:300])
        request_approval(actor=actor, subject=bulk_export, kind=BULK_EXPORT_APPROVAL,
                         title=str(bulk_export), roles=[Role.DPO])
    return bulk_export


def _is_list_page(path: str) -> bool:
    from django.urls import Resolver404, resolve

    if not path.startswith("/") or path.startswith("//") or len(path) > 64:
        return False
    try:
        match = resolve(path)
    except Resolver404:
        return False
    view_class = getattr(match.func, "view_class", None)
    return bool(getattr(view_class, "export_persons", None))


def export_approved(approval: Any, actor: Any) -> None:
    bulk_export = approval.subject
    audited_update(bulk_export, actor=actor, changes={"status": ExportStatus.APPROVED, "approved_by": actor})


def export_rejected(approval: Any, actor: Any) -> None:
    audited_update(approval.subject, actor=actor, changes={"status": ExportStatus.REJECTED})
