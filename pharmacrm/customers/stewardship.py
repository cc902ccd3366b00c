"""The data steward's work (seed 003 二.3): approving new customers, change requests to locked
master fields with a deadline in working days, and merging duplicates — audited and reversible.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pharmacrm.core import policy
from pharmacrm.core.approvals import request_approval
from pharmacrm.core.audit import audited_bulk_update, audited_update, log_event
from pharmacrm.core.models import ApprovalRequest, AuditAction, AuditEntry, StoredFile
from pharmacrm.core.notifications import notify
from pharmacrm.core.workcalendar import add_working_days
from pharmacrm.customers import qualification, search
from pharmacrm.customers.choices import ReviewStatus
from pharmacrm.customers.models import ChangeRequest, Institution
from pharmacrm.org.roles import Role
from pharmacrm.org.scope import authorize

NEW_INSTITUTION_KIND = "customers.new_institution"
#: locked fields whose change is "major" (公司名称、法定代表人、经营范围: seed 003 二.3)
MAJOR_FIELDS = ("name", "legal_representative", "business_scope")

MAJOR_CHANGE_DAYS = policy.declare(
    "customers.major_change_working_days",
    default=3,
    label=gettext_lazy("Working days to handle a major customer change"),
    help_text=gettext_lazy("A change of name, legal representative or business scope."),
    field_factory=lambda: forms.IntegerField(validators=[MinValueValidator(1), MaxValueValidator(30)]),
)
CHANGE_DAYS = policy.declare(
    "customers.change_working_days",
    default=5,
    label=gettext_lazy("Working days to handle other customer changes"),
    help_text=gettext_lazy("USCC, address and district changes requested by reps."),
    field_factory=lambda: forms.IntegerField(validators=[MinValueValidator(1), MaxValueValidator(30)]),
)


# --- new institutions ---------------------------------------------------------------------------


def request_review(*, actor: Any, institution: Institution) -> ApprovalRequest:
    return request_approval(actor=actor, subject=institution, kind=NEW_INSTITUTION_KIND, roles=[Role.STEWARD],
                            title=_("New customer: %(name)s") % {"name": institution.name})


def on_new_institution_approved(approval: ApprovalRequest, actor: Any) -> None:
    institution = Institution.objects.select_for_update().get(pk=approval.subject_id)
    audited_update(institution, actor=actor, action=AuditAction.TRANSITION,
                   changes={"review_status": ReviewStatus.APPROVED})
    notify(institution.owner, _("Customer approved: %(name)s") % {"name": institution.name},
           url=institution.get_absolute_url())


def on_new_institution_rejected(approval: ApprovalRequest, actor: Any) -> None:
    institution = Institution.objects.select_for_update().get(pk=approval.subject_id)
    audited_update(institution, actor=actor, action=AuditAction.TRANSITION,
                   changes={"review_status": ReviewStatus.REJECTED})
    notify(institution.owner, _("Customer rejected by the data steward: %(name)s") % {"name": institution.name},
           url=institution.get_absolute_url())


def pending_review_approval(institution: Institution) -> ApprovalRequest | None:
    content_type = ContentType.objects.get_for_model(Institution)
    return (ApprovalRequest.objects.filter(kind=NEW_INSTITUTION_KIND, subject_type=content_type,
                                           subject_id=str(institution.pk)).order_by("-id").first())


# --- change requests ------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    return getattr(value, "pk", value)


def request_change(*, actor: Any, institution: Institution, changes: dict[str, Any], reason: str) -> ChangeRequest:
    """Park a change to locked fields for the steward; due in N working days (policy)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why these details changed (e.g. the new business licence).")]})
    open_request = institution.change_requests.filter(status=ReviewStatus.PENDING).first()
    if open_request is not None:
        raise ValidationError({"reason": [_("A change request for this customer is already waiting for the "
                                            "data steward (no. %(id)s).") % {"id": open_request.pk}]})
    diff = {key: [_jsonable(getattr(institution, key)), _jsonable(value)] for key, value in changes.items()}
    is_major = any(key in MAJOR_FIELDS for key in diff)
    days = policy.get((MAJOR_CHANGE_DAYS if is_major else CHANGE_DAYS).key)
    from pharmacrm.core.audit import audited_create

    change_request = audited_create(
        ChangeRequest, actor=actor, institution=institution, requested_by=actor, changes=diff, reason=reason,
        is_major=is_major, due_on=add_working_days(policy.today(), int(days)),
    )
    for steward in qualification.active_stewards():
        notify(steward, _("Change request for %(name)s") % {"name": institution.name},
               url=change_request.get_absolute_url())
    return change_request


def _resolve_value(key: str, value: Any) -> Any:
    field = Institution._meta.get_field(key)
    if isinstance(field, models.ForeignKey) and value not in (None, ""):
        return field.related_model._default_manager.get(pk=value)
    return value


def decide_change(*, actor: Any, change_request: ChangeRequest, approve: bool, comment: str = "",
                  uscc_override_reason: str = "", uscc_override_scan: StoredFile | None = None) -> ChangeRequest:
    """Approve (apply the proposed values) or reject (with a reason) a change request.

    Refused when the fields changed since the request was made: the steward would
    otherwise overwrite someone else's correction without seeing it.
    """
    from pharmacrm.customers import services

    authorize(actor, "customers.steward_institution")
    comment = (comment or "").strip()
    if not approve and not comment:
        raise ValidationError({"decision_comment": [_("Say why the change is rejected.")]})
    with transaction.atomic():
        change_request = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
        if change_request.status != ReviewStatus.PENDING:
            raise ValidationError(_("This change request was already decided."))
        institution = Institution.objects.get(pk=change_request.institution_id)
        if approve:
            moved = [key for key, (old, _new) in change_request.changes.items()
                     if (_jsonable(getattr(institution, key)) or "") != (old or "")]
            if moved:
                raise ValidationError(_("These fields changed since the request was made: %(fields)s. Reject it "
                                        "and ask for a new one.") % {"fields": ", ".join(moved)})
            services.update_institution(
                actor=actor, institution=institution, reason=_("Change request no. %(id)s: %(reason)s")
                % {"id": change_request.pk, "reason": change_request.reason},
                changes={key: _resolve_value(key, new) for key, (_old, new) in change_request.changes.items()},
                uscc_override_reason=uscc_override_reason, uscc_override_scan=uscc_override_scan)
        change_request = audited_update(change_request, actor=actor, action=AuditAction.TRANSITION, reason=comment,
                                        changes={"status": ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED,
                                                 "decided_by": actor, "decided_at": timezone.now(),
                                                 "decision_comment": comment})
    title = (_("Change approved: %(name)s") if approve else _("Change rejected: %(name)s")) % {"name": institution}
    notify(change_request.requested_by, title, body=comment, url=change_request.get_absolute_url())
    return change_request


def overdue_change_requests(on: datetime.date | None = None) -> models.QuerySet[ChangeRequest]:
    return ChangeRequest.objects.overdue(on or policy.today())


# --- merge ------------------------------------------------------------------------------------

MERGE_MARK = "merge"


def _relations() -> list[tuple[type[models.Model], str]]:
    """Every foreign key that points at an institution (this app's and later apps'), but the merge marker."""
    found = []
    for relation in Institution._meta.related_objects:
        if relation.many_to_many or relation.one_to_one or relation.related_model._meta.auto_created:
            continue  # tags (an auto-created M2M table) are merged as a set, below
        if relation.related_model is Institution and relation.field.name == "merged_into":
            continue
        found.append((relation.related_model, relation.field.name))
    return found


def merge(*, actor: Any, survivor: Institution, duplicate: Institution, reason: str) -> Institution:
    """Merge ``duplicate`` into ``survivor``: every related record moves, the duplicate's names become
    aliases, and the duplicate stays (marked merged) so ``unmerge`` can put everything back."""
    authorize(actor, "customers.steward_institution")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why these are the same customer.")]})
    if survivor.pk == duplicate.pk:
        raise ValidationError(_("Choose two different institutions."))
    with transaction.atomic():
        survivor = Institution.objects.select_for_update().get(pk=survivor.pk)
        duplicate = Institution.objects.select_for_update().get(pk=duplicate.pk)
        if survivor.merged_into_id or duplicate.merged_into_id:
            raise ValidationError(_("One of these records was already merged."))
        moved: dict[str, list[int]] = {}
        for model, field_name in _relations():
            label = f"{model._meta.label_lower}.{field_name}"
            queryset = model._base_manager.filter(**{field_name: duplicate.pk})
            if model is Institution:
                queryset = queryset.exclude(pk=survivor.pk)
            ids = list(queryset.values_list("pk", flat=True))
            if ids:
                audited_bulk_update(model._base_manager.filter(pk__in=ids), actor=actor,
                                    reason=_("Merged into %(id)s") % {"id": survivor.pk}, **{field_name: survivor})
                moved[label] = ids
        files = StoredFile.objects.filter(content_type=ContentType.objects.get_for_model(Institution),
                                          object_id=str(duplicate.pk))
        file_ids = list(files.values_list("pk", flat=True))
        if file_ids:
            audited_bulk_update(files, actor=actor, reason=_("Merged into %(id)s") % {"id": survivor.pk},
                                object_id=str(survivor.pk))
            moved["core.storedfile.object_id"] = file_ids
        new_aliases = [name for name in (duplicate.name, duplicate.short_name, *duplicate.aliases)
                       if name and name not in (survivor.name, survivor.short_name, *survivor.aliases)]
        added_tags = sorted(set(duplicate.tags.values_list("name", flat=True))
                            - set(survivor.tags.values_list("name", flat=True)))
        survivor = audited_update(survivor, actor=actor, reason=reason,
                                  changes={"aliases": [*survivor.aliases, *new_aliases][:20]})
        if added_tags:
            survivor.tags.add(*duplicate.tags.filter(name__in=added_tags))
        audited_update(duplicate, actor=actor, reason=reason, action=AuditAction.TRANSITION,
                       changes={"merged_into": survivor})
        log_event(AuditAction.UPDATE, actor=actor, obj=survivor, reason=reason, changes={MERGE_MARK: {
            "duplicate": duplicate.pk, "moved": moved, "aliases_added": new_aliases, "tags_added": added_tags}})
        search.index_institutions([survivor])
        search.unindex_institutions([duplicate.pk])
        qualification.refresh(survivor)
    return survivor


def merge_entry(duplicate: Institution) -> AuditEntry | None:
    """The audit entry that recorded the merge of ``duplicate`` (the undo reads it)."""
    if not duplicate.merged_into_id:
        return None
    content_type = ContentType.objects.get_for_model(Institution)
    for entry in (AuditEntry.objects.filter(content_type=content_type, object_id=str(duplicate.merged_into_id))
                  .order_by("-id").iterator()):
        if isinstance(entry.changes, dict) and entry.changes.get(MERGE_MARK, {}).get("duplicate") == duplicate.pk:
            return entry
    return None


def unmerge(*, actor: Any, duplicate: Institution, reason: str) -> Institution:
    """Undo a merge from its audit entry: move back what moved, drop the aliases and tags it added."""
    authorize(actor, "customers.steward_institution")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the merge is undone.")]})
    entry = merge_entry(duplicate)
    if entry is None:
        raise ValidationError(_("This record is not merged, or its merge entry is missing."))
    record = entry.changes[MERGE_MARK]
    with transaction.atomic():
        survivor = Institution.objects.select_for_update().get(pk=duplicate.merged_into_id)
        for label, ids in record["moved"].items():
            model_label, field_name = label.rsplit(".", 1)
            model = _model(model_label)
            is_key = model._meta.get_field(field_name).is_relation
            queryset = model._base_manager.filter(pk__in=ids, **{field_name: survivor.pk if is_key else str(survivor.pk)})
            audited_bulk_update(queryset, actor=actor, reason=reason,
                                **{field_name: duplicate if is_key else str(duplicate.pk)})
        aliases = [alias for alias in survivor.aliases if alias not in record["aliases_added"]]
        survivor = audited_update(survivor, actor=actor, reason=reason, changes={"aliases": aliases})
        if record["tags_added"]:
            survivor.tags.remove(*survivor.tags.filter(name__in=record["tags_added"]))
        duplicate = audited_update(duplicate, actor=actor, reason=reason, action=AuditAction.TRANSITION,
                                   changes={"merged_into": None})
        log_event(AuditAction.UPDATE, actor=actor, obj=survivor, reason=reason,
                  changes={"unmerge": {"duplicate": duplicate.pk, "merge_entry": entry.pk}})
        search.index_institutions([survivor, duplicate])
        qualification.refresh(survivor)
        qualification.refresh(duplicate)
    return duplicate


def _model(label: str) -> type[models.Model]:
    from django.apps import apps

    return apps.get_model(label)
