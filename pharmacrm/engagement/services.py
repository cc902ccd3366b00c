"""Engagement services (seed 000 三): plan a visit, check in and out, write and submit the call report, review and
amend it, log a contact, raise and close follow-ups. Pages, the API and demo data call these; nothing else writes
engagement records.

Rules (each refusal names its field):

* A visit is planned for a customer the rep may see, with people who work there. Only the rep who owns the visit
  checks in, writes and submits it; a check-in is one point (latitude, longitude, accuracy) and the time, never a
  track (PIPL 第六条 minimum necessary).
* Submitting needs a channel and something said (key messages, feedback or agreements). It locks the report;
  each problem raised becomes a ``FollowUp`` owned by the rep, due in ``engagement.follow_up_days`` unless given.
* The manager (``engagement.review_visit``, the visit in their scope, not their own) comments and marks it
  reviewed; the rep is told. After submission a change is an amendment: field, old and new value and a reason,
  audited.
* Notes containing any of ``engagement.flag_words`` (统方, 回扣, 带金 …) are flagged for compliance; nothing is
  refused — the words are recorded and compliance is told.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pharmacrm.core import policy
from pharmacrm.core.audit import Change, StaleVersion, append, audited_create, audited_update
from pharmacrm.core.models import AuditAction
from pharmacrm.core.notifications import notify
from pharmacrm.core.uploads import store_upload, validate_upload
from pharmacrm.core.validators import clean_text
from pharmacrm.core.workflow import TransitionNotAllowed, advance
from pharmacrm.customers.models import Contact, Institution
from pharmacrm.engagement.choices import OPEN_VISIT_STATUSES, Channel, Direction, TaskStatus, VisitKind, VisitStatus
from pharmacrm.engagement.models import MAX_NOTE, Communication, FollowUp, Visit, VisitAmendment
from pharmacrm.org.models import User
from pharmacrm.org.roles import Role
from pharmacrm.org.scope import authorize
from pharmacrm.sales.models import Product

#: the report's text fields, in the order the form shows them
REPORT_TEXT_FIELDS = ("key_messages", "feedback", "objections", "competitors", "agreements")
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}
#: what an amendment may change after submission
AMENDABLE_FIELDS = ("channel", *REPORT_TEXT_FIELDS)

__all__ = [
    "AMENDABLE_FIELDS",
    "REPORT_TEXT_FIELDS",
    "Problem",
    "StaleVersion",
    "TransitionNotAllowed",
    "amend_visit",
    "cancel_follow_up",
    "cancel_visit",
    "check_in",
    "check_out",
    "close_follow_up",
    "flagged_terms",
    "log_communication",
    "plan_visit",
    "raise_follow_up",
    "review_visit",
    "save_report",
    "submit_report",
]


# --- helpers -------------------------------------------------------------------------------------------------


def flagged_terms(*texts: str) -> list[str]:
    """The words of ``engagement.flag_words`` found in ``texts`` (in the policy's order, once each)."""
    words = [word.strip() for word in str(policy.get("engagement.flag_words")).replace("，", ",").split(",")]
    joined = "\n".join(text or "" for text in texts).casefold()
    return [word for word in words if word and word.casefold() in joined]


def _tell_compliance(record: Any, terms: list[str]) -> None:
    title = _("Flagged words in a note: %(words)s") % {"words": "、".join(terms)}
    for officer in User.objects.filter(role=Role.COMPLIANCE, is_active=True):
        notify(officer, title, body=str(record), url=record.get_absolute_url())


def _visible_institution(actor: Any, institution: Institution | None, field: str = "institution") -> Institution:
    if institution is None or not Institution.objects.visible_to(actor).filter(pk=institution.pk).exists():
        raise ValidationError({field: _("Not found.")})
    return institution


def _contacts_at(actor: Any, institution: Institution, contacts: Iterable[Contact], field: str) -> list[Contact]:
    """The contacts, each visible to the actor and working at the institution; else a refusal on ``field``."""
    contacts = list(contacts)
    ids = {contact.pk for contact in contacts}
    found = set(Contact.objects.visible_to(actor).filter(pk__in=ids).working_at(institution)
                .values_list("pk", flat=True))
    missing = [contact.name for contact in contacts if contact.pk not in found]
    if missing:
        raise ValidationError({field: _("Not working at %(institution)s: %(names)s.") % {
            "institution": institution.name, "names": "、".join(missing)}})
    return contacts


def _set_many(visit: Visit, *, actor: Any, name: str, objects: Sequence[Any]) -> None:
    """Set a many-to-many field of the visit and audit the change (the ids before and after)."""
    manager = getattr(visit, name)
    before = sorted(manager.values_list("pk", flat=True))
    after = sorted({obj.pk for obj in objects})
    if before != after:
        manager.set(after)
        append([Change(AuditAction.UPDATE, visit, {name: [before, after]})], actor=actor)


def _own_open_visit(actor: Any, visit: Visit) -> Visit:
    authorize(actor, "engagement.change_visit")
    if visit.rep_id != actor.pk:
        raise PermissionDenied(_("Only the rep who owns the visit can change it."))
    if visit.status not in OPEN_VISIT_STATUSES:
        raise TransitionNotAllowed(_("The report was submitted and is locked; record a correction as an amendment."))
    return visit


def _text(value: Any, field: str, *, required: bool = False, limit: int = MAX_NOTE) -> str:
    return clean_text(value, field, limit, required=required)


# --- visits --------------------------------------------------------------------------------------------------


def plan_visit(*, actor: Any, institution: Institution, planned_for: datetime.datetime, goal: str,
               content: str = "", contacts: Iterable[Contact] = (), kind: str = VisitKind.ROUTINE,
               reason: str = "") -> Visit:
    """Plan a visit of one's own (seed 000 三.1: goal, time, people, content)."""
    authorize(actor, "engagement.add_visit")
    _visible_institution(actor, institution)
    if kind not in VisitKind.values:
        raise ValidationError({"kind": _("Choose one of the kinds.")})
    contacts = _contacts_at(actor, institution, contacts, "contacts")
    with transaction.atomic():
        visit = audited_create(Visit, actor=actor, institution=institution, rep=actor, kind=kind,
                               planned_for=planned_for, goal=_text(goal, "goal", required=True, limit=300),
                               content=_text(content, "content"), reason=_text(reason, "reason", limit=300))
        _set_many(visit, actor=actor, name="planned_contacts", objects=contacts)
    return visit


@dataclass(frozen=True)
class Point:
    latitude: Decimal
    longitude: Decimal
    accuracy_m: int | None = None


def _point(latitude: Any, longitude: Any, accuracy: Any = None) -> Point:
    errors: dict[str, str] = {}
    values: dict[str, Decimal] = {}
    for field, value, limit in (("latitude", latitude, 90), ("longitude", longitude, 180)):
        try:
            number = Decimal(str(value)).quantize(Decimal("0.000001"))
        except (ArithmeticError, ValueError, TypeError):
            errors[field] = _("Enter a number.")
            continue
        if not number.is_finite() or abs(number) > limit:
            errors[field] = _("Must be between -%(limit)d and %(limit)d.") % {"limit": limit}
        values[field] = number
    accuracy_m = None
    if accuracy not in (None, ""):
        try:
            accuracy_m = max(0, min(100_000, round(float(accuracy))))
        except (ValueError, TypeError, OverflowError):
            errors["accuracy"] = _("Enter a number.")
    if errors:
        raise ValidationError(errors)
    return Point(values["latitude"], values["longitude"], accuracy_m)


def check_in(*, actor: Any, visit: Visit, latitude: Any, longitude: Any, accuracy: Any = None,
             photo: Any = None) -> Visit:
    """Start the visit: one point and the time (and an optional photo), never a track."""
    _own_open_visit(actor, visit)
    if visit.checked_in_at:
        raise TransitionNotAllowed(_("Already checked in at %(time)s.") % {
            "time": timezone.localtime(visit.checked_in_at, policy.CHINA).strftime("%H:%M")})
    point = _point(latitude, longitude, accuracy)
    with transaction.atomic():
        changes: dict[str, Any] = {"checked_in_at": timezone.now(), "check_in_latitude": point.latitude,
                                   "check_in_longitude": point.longitude, "check_in_accuracy_m": point.accuracy_m}
        if photo is not None:
            try:
                photo_type = validate_upload(photo)
            except ValidationError as error:
                raise ValidationError({"photo": error.message_dict["file"]}) from error
            if photo_type not in PHOTO_TYPES:
                raise ValidationError({"photo": _("Upload a photo (JPEG, PNG or WebP).")})
            changes["check_in_photo"] = store_upload(actor=actor, upload=photo, attach_to=visit,
                                                     description=_("Check-in photo"))
        visit = advance(visit, to=VisitStatus.IN_PROGRESS, actor=actor, changes=changes)
    return visit


def check_out(*, actor: Any, visit: Visit, latitude: Any, longitude: Any) -> Visit:
    """End the visit: one more point and the time."""
    _own_open_visit(actor, visit)
    if not visit.checked_in_at:
        raise TransitionNotAllowed(_("Check in first."))
    if visit.checked_out_at:
        raise TransitionNotAllowed(_("Already checked out."))
    point = _point(latitude, longitude)
    return audited_update(visit, actor=actor, changes={"checked_out_at": timezone.now(),
                                                       "check_out_latitude": point.latitude,
                                                       "check_out_longitude": point.longitude})


def save_report(*, actor: Any, visit: Visit, expected_version: int | None = None, channel: str = "",
                contacts: Iterable[Contact] | None = None, products: Iterable[Product] | None = None,
                **texts: str) -> Visit:
    """Save the report as it stands (a draft until submitted); flagged words are recorded."""
    _own_open_visit(actor, visit)
    unknown = set(texts) - set(REPORT_TEXT_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: _("Unknown field.")})
    if channel and channel not in Channel.values:
        raise ValidationError({"channel": _("Choose one of the channels.")})
    changes: dict[str, Any] = {name: _text(texts.get(name, getattr(visit, name)), name) for name in REPORT_TEXT_FIELDS}
    changes["channel"] = channel or visit.channel
    contacts = None if contacts is None else _contacts_at(actor, visit.institution, contacts, "contacts")
    terms = flagged_terms(*(changes[name] for name in REPORT_TEXT_FIELDS))
    with transaction.atomic():
        newly_flagged = [term for term in terms if term not in visit.flagged_terms]
        visit = audited_update(visit, actor=actor, changes={**changes, "flagged_terms": terms},
                               expected_version=expected_version)
        if contacts is not None:
            _set_many(visit, actor=actor, name="contacts_met", objects=contacts)
        if products is not None:
            _set_many(visit, actor=actor, name="products", objects=list(products))
        if newly_flagged:
            _tell_compliance(visit, terms)
    return visit


@dataclass(frozen=True)
class Problem:
    """A problem raised during the visit: becomes a follow-up task (seed 000 三.3 解决问题)."""

    title: str
    due_on: datetime.date | None = None
    owner: Any = None


def submit_report(*, actor: Any, visit: Visit, problems: Iterable[Problem] = (),
                  expected_version: int | None = None) -> Visit:
    """Lock the report (反馈给上级) and turn each problem raised into a follow-up with an owner and a due date."""
    _own_open_visit(actor, visit)
    if expected_version is not None and visit.version != expected_version:
        raise StaleVersion(visit.version)
    errors: dict[str, str] = {}
    if not visit.channel:
        errors["channel"] = _("Say how the visit took place.")
    if not any(getattr(visit, name).strip() for name in ("key_messages", "feedback", "agreements")):
        errors["key_messages"] = _("Write the key messages, the customer's feedback or what was agreed.")
    problems = [problem for problem in problems if problem.title.strip()]
    for index, problem in enumerate(problems):
        if len(problem.title.strip()) > 300:
            errors["problems"] = _("Problem %(n)d: at most 300 characters.") % {"n": index + 1}
        if problem.due_on and problem.due_on < policy.today():
            errors["problems"] = _("Problem %(n)d: the due date is in the past.") % {"n": index + 1}
    if errors:
        raise ValidationError(errors)
    default_due = policy.today() + datetime.timedelta(days=int(policy.get("engagement.follow_up_days")))
    with transaction.atomic():
        visit = advance(visit, to=VisitStatus.SUBMITTED, actor=actor, changes={"submitted_at": timezone.now()})
        for problem in problems:
            audited_create(FollowUp, actor=actor, institution=visit.institution, visit=visit,
                           title=problem.title.strip(), owner=problem.owner or actor, created_by=actor,
                           due_on=problem.due_on or default_due)
        manager = visit.rep.team.manager if visit.rep.team_id and visit.rep.team.manager_id else None
        if manager is not None and manager.pk != actor.pk:
            notify(manager, _("Call report to review: %(customer)s") % {"customer": visit.institution.name},
                   body=visit.goal, url=visit.get_absolute_url())
    return visit


def review_visit(*, actor: Any, visit: Visit, comment: str) -> Visit:
    """The manager's comment on a submitted report (反馈给上级); the rep is told."""
    authorize(actor, "engagement.review_visit")
    if not Visit.objects.visible_to(actor).filter(pk=visit.pk).exists():
        raise PermissionDenied
    if visit.rep_id == actor.pk:
        raise PermissionDenied(_("A rep does not review their own report."))
    comment = _text(comment, "comment", required=True)
    visit = advance(visit, to=VisitStatus.REVIEWED, actor=actor, changes={
        "reviewed_by": actor, "reviewed_at": timezone.now(), "review_comment": comment})
    notify(visit.rep, _("Your call report was reviewed: %(customer)s") % {"customer": visit.institution.name},
           body=comment, url=visit.get_absolute_url())
    return visit


def amend_visit(*, actor: Any, visit: Visit, field: str, value: str, reason: str) -> VisitAmendment:
    """Correct a submitted report: the rep who wrote it changes one field, with a reason; both are kept."""
    authorize(actor, "engagement.change_visit")
    if visit.rep_id != actor.pk:
        raise PermissionDenied(_("Only the rep who wrote the report can amend it."))
    if visit.status not in (VisitStatus.SUBMITTED, VisitStatus.REVIEWED):
        raise TransitionNotAllowed(_("Only a submitted report is amended; edit the report instead."))
    if field not in AMENDABLE_FIELDS:
        raise ValidationError({"field": _("This field cannot be amended.")})
    reason = _text(reason, "reason", required=True, limit=500)
    value = _text(value, "value", required=field == "channel")
    if field == "channel" and value not in Channel.values:
        raise ValidationError({"value": _("Choose one of the channels.")})
    old = getattr(visit, field)
    if old == value:
        raise ValidationError({"value": _("This is what the report already says.")})
    terms = flagged_terms(*(value if name == field else getattr(visit, name) for name in REPORT_TEXT_FIELDS))
    with transaction.atomic():
        newly_flagged = [term for term in terms if term not in visit.flagged_terms]
        audited_update(visit, actor=actor, changes={field: value, "flagged_terms": terms}, reason=reason)
        amendment = audited_create(VisitAmendment, actor=actor, visit=visit, field=field, old=old, new=value,
                                   reason=reason, by=actor)
        if newly_flagged:
            _tell_compliance(visit, terms)
    return amendment


def cancel_visit(*, actor: Any, visit: Visit, reason: str) -> Visit:
    authorize(actor, "engagement.change_visit")
    if visit.rep_id != actor.pk:
        raise PermissionDenied(_("Only the rep who owns the visit can cancel it."))
    return advance(visit, to=VisitStatus.CANCELLED, actor=actor, reason=_text(reason, "reason", limit=500))


# --- communications ------------------------------------------------------------------------------------------


def log_communication(*, actor: Any, institution: Institution, channel: str, summary: str,
                      occurred_at: datetime.datetime | None = None, contact: Contact | None = None,
                      direction: str = Direction.OUTBOUND) -> Communication:
    """A quick log of any contact with the customer (seed 000 三.4), from the customer page in a few taps."""
    authorize(actor, "engagement.add_communication")
    _visible_institution(actor, institution)
    if contact is not None:
        _contacts_at(actor, institution, [contact], "contact")
    now = timezone.now()
    occurred_at = occurred_at or now
    if occurred_at > now + datetime.timedelta(minutes=5):
        raise ValidationError({"occurred_at": _("The time cannot be in the future.")})
    summary = _text(summary, "summary", required=True)
    terms = flagged_terms(summary)
    with transaction.atomic():
        communication = audited_create(Communication, actor=actor, institution=institution, contact=contact,
                                       by=actor, channel=channel, direction=direction, occurred_at=occurred_at,
                                       summary=summary, flagged_terms=terms)
        if terms:
            _tell_compliance(communication, terms)
    return communication


# --- follow-ups ----------------------------------------------------------------------------------------------


def raise_follow_up(*, actor: Any, institution: Institution, title: str, due_on: datetime.date,
                    owner: Any = None, visit: Visit | None = None) -> FollowUp:
    authorize(actor, "engagement.add_followup")
    _visible_institution(actor, institution)
    if due_on < policy.today():
        raise ValidationError({"due_on": _("The due date is in the past.")})
    return audited_create(FollowUp, actor=actor, institution=institution, visit=visit,
                          title=_text(title, "title", required=True, limit=300), owner=owner or actor,
                          created_by=actor, due_on=due_on)


def _may_close(actor: Any, task: FollowUp) -> None:
    authorize(actor, "engagement.change_followup")
    if not FollowUp.objects.visible_to(actor).filter(pk=task.pk).exists():
        raise PermissionDenied


def close_follow_up(*, actor: Any, task: FollowUp, outcome: str, customer_informed: bool) -> FollowUp:
    """Done: what was done, and whether the customer has been told (seed 000 三.3)."""
    _may_close(actor, task)
    return advance(task, to=TaskStatus.DONE, actor=actor, changes={
        "outcome": _text(outcome, "outcome", required=True), "customer_informed": bool(customer_informed),
        "closed_at": timezone.now()})


def cancel_follow_up(*, actor: Any, task: FollowUp, reason: str) -> FollowUp:
    _may_close(actor, task)
    return advance(task, to=TaskStatus.CANCELLED, actor=actor, reason=_text(reason, "reason", limit=500),
                   changes={"closed_at": timezone.now()})
