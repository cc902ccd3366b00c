"""Service desk services (seed 000 四, seed 003 四.3): log a case, respond, work it through its lifecycle, pause
its clocks while waiting on the customer, reassign it, flag it for pharmacovigilance and record the report. Pages,
the API and demo data call these; nothing else writes cases.

Rules (each refusal names its field):

* A case is logged for a customer the actor may see; its owner comes from the assignment rules (kind, product,
  province), else medical staff for clinical inquiries and medication guidance, the customer's rep for a
  consultation, the service desk for the rest. Medical questions are never owned by sales (DOMAIN.md: medication
  guidance by medical staff).
* Clocks start with the case (``service.clocks``): first response within ``service.first_response_hours`` for
  clinical inquiries and complaints; contact within ``service.contact_working_days`` for complaints, quality
  feedback and returns; resolution within ``service.resolution_days_<severity>`` working days for all.
  Responding stops the first two; resolving the third; reopening restarts it.
* A complaint plans a special visit (问题客户) for the customer's rep, once.
* Closing a complaint or a quality case needs a root cause and a corrective action; a complaint is closed after
  its follow-up visit (seed 003 回访).
* A possible adverse reaction or quality defect starts the pharmacovigilance clock from the awareness date
  (``service.pv_days_<seriousness>``) and tells every pharmacovigilance officer; recording the report stops it.
* Who works a case: its owner, or whoever holds ``service.work_case`` and sees it.
* 签名关闭: a complaint or quality case (a GxP record, 21 CFR 211.198) is closed under an electronic signature by
  quality assurance or the service desk (``sign_case``, through ``core.signatures``); an edit after signing shows
  the signature invalid and the case asks to be signed again.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pharmacrm.core import policy, signatures
from pharmacrm.core.audit import StaleVersion, audited_create, audited_update
from pharmacrm.core.models import SignatureMeaning
from pharmacrm.core.notifications import notify
from pharmacrm.core.uploads import store_upload
from pharmacrm.core.validators import clean_text
from pharmacrm.core.workflow import TransitionNotAllowed, advance
from pharmacrm.customers.models import Contact, Institution
from pharmacrm.org.models import User
from pharmacrm.org.roles import Role
from pharmacrm.org.scope import authorize
from pharmacrm.sales.models import Order, Product
from pharmacrm.service import clocks
from pharmacrm.service.choices import (
    MEDICAL_KINDS,
    ROOT_CAUSE_KINDS,
    CaseChannel,
    CaseKind,
    CaseStatus,
    ClockBasis,
    ClockKind,
    PvKind,
    PvSeriousness,
    ReturnKind,
    RootCause,
    Severity,
)
from pharmacrm.service.models import MAX_TEXT, AssignmentRule, Case, CaseNote

__all__ = ["StaleVersion", "TransitionNotAllowed"]

#: clocks that responding to the customer meets
RESPONSE_CLOCKS = (ClockKind.FIRST_RESPONSE, ClockKind.CONTACT)
#: kinds with a first-response clock (seed 002: 24 hours) and with a contact clock (seed 003: N working days)
FIRST_RESPONSE_KINDS = (CaseKind.CLINICAL, CaseKind.COMPLAINT)
CONTACT_KINDS = (CaseKind.COMPLAINT, CaseKind.QUALITY, CaseKind.RETURN)
#: roles that may own a clinical inquiry or medication guidance
MEDICAL_ROLES = (Role.MEDICAL, Role.PHARMACOVIGILANCE)
#: roles that own what no rule assigns
SERVICE_ROLES = (Role.SERVICE,)
#: roles that sign the closure of a complaint or quality case: QA reviews it, the service desk answers for it
CLOSURE_SIGNING_ROLES = (Role.QA, Role.SERVICE)


def _choice(value: str, choices: Any, field: str, *, blank: bool = False) -> str:
    if (blank and not value) or value in choices.values:
        return value
    raise ValidationError({field: _("Choose one of the options.")})


# --- assignment ----------------------------------------------------------------------------------------------


def _first_active(roles: tuple[str, ...]) -> User | None:
    return User.objects.filter(role__in=roles, is_active=True).order_by("id").first()


def assignee_for(kind: str, institution: Institution, product: Product | None, actor: Any) -> Any:
    """The owner a new case gets: the first matching rule, else by kind (see the module's rules)."""
    for rule in AssignmentRule.objects.filter(active=True, assignee__is_active=True).select_related("assignee"):
        if ((not rule.kind or rule.kind == kind) and (rule.product_id is None or (product and rule.product_id ==
                                                                                     product.pk))
                and (not rule.province_code or rule.province_code == institution.province_code)):
            if kind in MEDICAL_KINDS and rule.assignee.role not in MEDICAL_ROLES:
                continue
            return rule.assignee
    if kind in MEDICAL_KINDS:  # medical affairs first; pharmacovigilance only when there is nobody in it
        return _first_active((Role.MEDICAL,)) or _first_active(MEDICAL_ROLES)
    if kind == CaseKind.CONSULTATION and institution.owner_id and institution.owner.is_active:
        return institution.owner
    return _first_active(SERVICE_ROLES) or actor


def _check_owner(kind: str, owner: Any, field: str = "owner") -> None:
    if owner is None or not owner.is_active:
        raise ValidationError({field: _("Choose an active user.")})
    if kind in MEDICAL_KINDS and owner.role not in MEDICAL_ROLES:
        raise ValidationError({field: _("Clinical questions and medication guidance are handled by medical staff, "
                                        "not sales.")})
    if not owner.has_perm("service.view_case"):
        raise ValidationError({field: _("This user cannot work service cases.")})


# --- logging a case ------------------------------------------------------------------------------------------


def _start_clocks(case: Case, actor: Any) -> None:
    at = case.received_at
    if case.kind in FIRST_RESPONSE_KINDS:
        clocks.start(case, ClockKind.FIRST_RESPONSE, ClockBasis.HOURS, int(policy.get("service.first_response_hours")),
                     started_at=at, actor=actor)
    if case.kind in CONTACT_KINDS:
        clocks.start(case, ClockKind.CONTACT, ClockBasis.WORKING_DAYS,
                     int(policy.get("service.contact_working_days")), started_at=at, actor=actor)
    _start_resolution(case, at, actor)


def _start_resolution(case: Case, at: datetime.datetime, actor: Any) -> None:
    clocks.start(case, ClockKind.RESOLUTION, ClockBasis.WORKING_DAYS,
                 int(policy.get(f"service.resolution_days_{case.severity}")), started_at=at, actor=actor)


def open_case(*, actor: Any, institution: Institution, kind: str, title: str, description: str,
              contact: Contact | None = None, channel: str = CaseChannel.HOTLINE, severity: str = Severity.MEDIUM,
              product: Product | None = None, batch_number: str = "", order: Order | None = None,
              return_kind: str = "", visit: Any = None, received_at: datetime.datetime | None = None,
              pv_kind: str = "", pv_seriousness: str = "", pv_aware_on: datetime.date | None = None,
              owner: Any = None, evidence: Any = None) -> Case:
    """Log a customer request; it gets an owner and its clocks, and a complaint a special visit. ``evidence`` is an
    uploaded file (photo of the pack, a PDF) kept with it under the upload rules."""
    authorize(actor, "service.add_case")
    if institution is None or not Institution.objects.visible_to(actor).filter(pk=institution.pk).exists():
        raise ValidationError({"institution": _("Not found.")})
    errors: dict[str, str] = {}
    for field, value, choices, blank in (("kind", kind, CaseKind, False), ("channel", channel, CaseChannel, False),
                                         ("severity", severity, Severity, False),
                                         ("return_kind", return_kind, ReturnKind, True)):
        try:
            _choice(value, choices, field, blank=blank)
        except ValidationError as error:
            errors.update({field: error.message_dict[field][0]})
    if contact is not None and not Contact.objects.visible_to(actor).filter(pk=contact.pk).working_at(
            institution).exists():
        errors["contact"] = _("Not working at this customer.")
    if order is not None and order.institution_id != institution.pk:
        errors["order"] = _("Not an order of this customer.")
    if kind == CaseKind.QUALITY and product is None:
        errors["product"] = _("Say which product.")
    if kind == CaseKind.RETURN and not (order and return_kind):
        errors["order" if order is None else "return_kind"] = _("A return names the order and what is asked.")
    now = timezone.now()
    received_at = received_at or now
    if received_at > now + datetime.timedelta(minutes=5):
        errors["received_at"] = _("The time cannot be in the future.")
    elif received_at < now - datetime.timedelta(days=int(policy.get("service.received_backdate_days"))):
        errors["received_at"] = _("This is too long ago to log now; ask quality assurance.")
    if errors:
        raise ValidationError(errors)
    title = clean_text(title, "title", 200, required=True)
    description = clean_text(description, "description", MAX_TEXT, required=True)
    batch_number = clean_text(batch_number, "batch_number", 40)
    owner = owner or assignee_for(kind, institution, product, actor)
    _check_owner(kind, owner)
    with transaction.atomic():
        case = audited_create(Case, actor=actor, institution=institution, contact=contact, kind=kind, channel=channel,
                              severity=severity, title=title, description=description, product=product,
                              batch_number=batch_number, order=order, return_kind=return_kind, visit=visit,
                              owner=owner, created_by=actor, received_at=received_at)
        _start_clocks(case, actor)
        if evidence is not None:
            try:
                store_upload(actor=actor, upload=evidence, attach_to=case, description=_("Evidence"))
            except ValidationError as error:
                raise ValidationError({"evidence": error.messages}) from error
        if owner.pk != actor.pk:
            notify(owner, _("New case for you: %(case)s") % {"case": case.reference}, url=case.get_absolute_url())
        if kind == CaseKind.COMPLAINT:
            _plan_problem_visit(case, actor)
        if pv_kind:
            flag_pv(actor=actor, case=case, kind=pv_kind, seriousness=pv_seriousness, aware_on=pv_aware_on)
    return case


def _plan_problem_visit(case: Case, actor: Any = None) -> None:
    """A complaint calls for a visit to the customer (seed 000 三.1 问题客户), planned for its rep once."""
    from pharmacrm.engagement.choices import VisitKind
    from pharmacrm.engagement.triggers import Event, raise_for

    raise_for([Event(case.institution_id, f"complaint:{case.pk}", VisitKind.PROBLEM,
                     _("Complaint %(number)s") % {"number": case.number})],
              actor=actor)


# --- working it ----------------------------------------------------------------------------------------------


def _may_work(actor: Any, case: Case) -> None:
    if case.owner_id == getattr(actor, "pk", None) and actor.has_perm("service.view_case"):
        return
    authorize(actor, "service.work_case")
    if not Case.objects.visible_to(actor).filter(pk=case.pk).exists():
        raise PermissionDenied


def _check_version(case: Case, expected_version: int | None) -> None:
    if expected_version is not None and case.version != expected_version:
        raise StaleVersion(case.version)


def add_note(*, actor: Any, case: Case, body: str, internal: bool = True, attachment: Any = None) -> CaseNote:
    """An internal note, or a reply given to the customer (which also counts as the first response); a file sent
    later (evidence, a test report) is kept with the case under the upload rules."""
    if internal:  # whoever sees the case adds what they know (a rep, from the customer)
        authorize(actor, "service.add_casenote")
        if not Case.objects.visible_to(actor).filter(pk=case.pk).exists():
            raise PermissionDenied
    else:  # what the customer is told comes from those working the case
        _may_work(actor, case)
    body = clean_text(body, "body", MAX_TEXT, required=True)
    with transaction.atomic():
        note = audited_create(CaseNote, actor=actor, case=case, by=actor, internal=bool(internal), body=body)
        if attachment is not None:
            try:
                store_upload(actor=actor, upload=attachment, attach_to=case, description=body[:200])
            except ValidationError as error:
                raise ValidationError({"attachment": error.messages}) from error
        if not internal and case.status == CaseStatus.RECEIVED:
            respond(actor=actor, case=case)
    return note


def respond(*, actor: Any, case: Case, expected_version: int | None = None) -> Case:
    """The first response (acknowledged): meets the first-response and contact clocks."""
    _may_work(actor, case)
    _check_version(case, expected_version)
    now = timezone.now()
    with transaction.atomic():
        case = advance(case, to=CaseStatus.ACKNOWLEDGED, actor=actor, changes={"acknowledged_at": now})
        clocks.stop(case, RESPONSE_CLOCKS, at=now, actor=actor)
    return case


def move(*, actor: Any, case: Case, to: str, solution: str = "", root_cause: str = "", corrective_action: str = "",
         follow_up_visit: Any = None, reason: str = "", expected_version: int | None = None) -> Case:
    """Move the case on: investigating, solution proposed, resolved, confirmed by the customer, follow-up visit
    done, closed — or back to investigating (reopened, with a reason)."""
    _may_work(actor, case)
    _check_version(case, expected_version)
    if to not in CaseStatus.values or to in (CaseStatus.RECEIVED, CaseStatus.ACKNOWLEDGED, CaseStatus.VOIDED):
        raise ValidationError({"to": _("Choose the next step.")})
    if Case.workflow.find(case.status, to) is None:
        raise TransitionNotAllowed(_("A case %(status)s cannot become %(to)s.") % {
            "status": case.get_status_display(), "to": CaseStatus(to).label})
    now = timezone.now()
    changes: dict[str, Any] = {}
    solution = clean_text(solution, "solution", MAX_TEXT)
    if solution:
        changes["solution"] = solution
    if to in (CaseStatus.PROPOSED, CaseStatus.RESOLVED) and not (solution or case.solution):
        raise ValidationError({"solution": _("Say what the solution is.")})
    if to == CaseStatus.RESOLVED:
        changes["resolved_at"] = now
    if to == CaseStatus.FOLLOWED_UP:
        if follow_up_visit is not None and follow_up_visit.institution_id != case.institution_id:
            raise ValidationError({"follow_up_visit": _("Not a visit to this customer.")})
        changes["follow_up_visit"] = follow_up_visit
    if to == CaseStatus.CLOSED:
        _choice(root_cause, RootCause, "root_cause", blank=True)
        corrective_action = clean_text(corrective_action, "corrective_action", MAX_TEXT)
        root_cause, corrective_action = root_cause or case.root_cause, corrective_action or case.corrective_action
        errors = {}
        if case.kind in ROOT_CAUSE_KINDS and not root_cause:
            errors["root_cause"] = _("A complaint or quality case needs its root cause to close.")
        if case.kind in ROOT_CAUSE_KINDS and not corrective_action:
            errors["corrective_action"] = _("A complaint or quality case needs its corrective action to close.")
        if case.kind == CaseKind.COMPLAINT and case.status != CaseStatus.FOLLOWED_UP:
            errors["to"] = _("A complaint is closed after its follow-up visit.")
        if errors:
            raise ValidationError(errors)
        changes.update(root_cause=root_cause, corrective_action=corrective_action, closed_at=now)
    reopening = to == CaseStatus.INVESTIGATING and case.status in (
        CaseStatus.RESOLVED, CaseStatus.CONFIRMED, CaseStatus.FOLLOWED_UP, CaseStatus.CLOSED)
    if reopening:
        reason = clean_text(reason, "reason", 500, required=True)
        changes.update(resolved_at=None, closed_at=None)
    with transaction.atomic():
        case = advance(case, to=to, actor=actor, changes=changes, reason=reason)
        if to == CaseStatus.RESOLVED:
            clocks.stop(case, (ClockKind.RESOLUTION,), at=now, actor=actor)
        if reopening:
            _start_resolution(case, now, actor)
        if to == CaseStatus.CLOSED:
            _after_close(case)
    return case


def may_sign(actor: Any, case: Case) -> bool:
    """Whether the case page offers the signed closure: QA signs a closed case, the desk also closes one."""
    if getattr(actor, "role", None) not in CLOSURE_SIGNING_ROLES or case.kind not in ROOT_CAUSE_KINDS:
        return False
    if case.status == CaseStatus.CLOSED:
        return True
    closable = Case.workflow.find(case.status, CaseStatus.CLOSED) is not None
    return closable and (case.owner_id == actor.pk or actor.has_perm("service.work_case"))


def sign_case(*, actor: Any, case: Case, meaning: str, password: str, username: str | None = None,
              continuity: signatures.Continuity | None = None, root_cause: str = "", corrective_action: str = "",
              expected_version: int | None = None) -> Any:
    """签名关闭: sign the closure of a complaint or quality case (Part 11 e-signature: re-authentication, printed
    name, UTC time, meaning, bound to the case's content). A case not yet closed is closed in the same
    transaction (``move``'s rules: root cause, corrective action, the complaint's follow-up visit); a closed one
    is signed as it stands — again after an edit invalidated its signature. Returns the signature."""
    if getattr(actor, "role", None) not in CLOSURE_SIGNING_ROLES or not Case.objects.visible_to(actor).filter(
            pk=case.pk).exists():
        raise PermissionDenied(_("Only quality assurance or the service desk signs a case closure."))
    if case.kind not in ROOT_CAUSE_KINDS:
        raise ValidationError({"meaning": _("Only complaints and quality cases are closed under a signature.")})
    _check_version(case, expected_version)
    if case.status != CaseStatus.CLOSED:
        if Case.workflow.find(case.status, CaseStatus.CLOSED) is None:
            raise TransitionNotAllowed(_("A case %(status)s cannot be closed yet.") % {
                "status": case.get_status_display()})
        _may_work(actor, case)  # closing it is working it: QA signs once the desk has closed it
    if meaning not in SignatureMeaning.values:
        raise ValidationError({"meaning": _("Unknown signature meaning.")})
    signatures.reauthenticate(actor=actor, password=password, username=username, continuity=continuity, obj=case)
    with transaction.atomic():
        if case.status != CaseStatus.CLOSED:
            case = move(actor=actor, case=case, to=CaseStatus.CLOSED, root_cause=root_cause,
                        corrective_action=corrective_action)
        return signatures.record(actor=actor, obj=case, meaning=meaning, continuity=continuity)


def _after_close(case: Case) -> None:
    """Hook for what follows a closed case (the satisfaction survey)."""
    from pharmacrm.service import signals

    signals.case_closed.send(sender=Case, case=case)


def set_waiting(*, actor: Any, case: Case, waiting: bool, reason: str = "") -> Case:
    """Waiting on the customer (information, samples back): the clocks pause, and run again when they answer."""
    _may_work(actor, case)
    if not case.is_open:
        raise TransitionNotAllowed(_("Only an open case waits on the customer."))
    if bool(waiting) == case.waiting_on_customer:
        return case
    now = timezone.now()
    with transaction.atomic():
        case = audited_update(case, actor=actor, changes={"waiting_on_customer": bool(waiting)},
                              reason=clean_text(reason, "reason", 500))
        (clocks.pause if waiting else clocks.resume)(case, at=now, actor=actor)
    return case


def reassign(*, actor: Any, case: Case, owner: Any, reason: str) -> Case:
    _may_work(actor, case)
    _check_owner(case.kind, owner)
    reason = clean_text(reason, "reason", 500, required=True)
    if owner.pk == case.owner_id:
        raise ValidationError({"owner": _("The case is theirs already.")})
    with transaction.atomic():
        case = audited_update(case, actor=actor, changes={"owner": owner}, reason=reason)
        for clock in case.clocks.filter(stopped_at__isnull=True):
            audited_update(clock, actor=actor, changes={"owner": owner}, reason=reason)
        notify(owner, _("Case reassigned to you: %(case)s") % {"case": case.reference}, body=reason,
               url=case.get_absolute_url())
    return case


#: what a correction of the logged facts may change (the lifecycle has its own steps)
EDITABLE_FIELDS = ("title", "description", "channel", "contact", "product", "batch_number")


def update_case(*, actor: Any, case: Case, changes: dict[str, Any], reason: str,
                expected_version: int | None = None) -> Case:
    """Correct what was logged (a typo in the subject, the batch number found later). A GxP record: the reason is
    required and kept in the audit trail with the old and new values; a voided case is not edited."""
    _may_work(actor, case)
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in unknown})
    reason = clean_text(reason, "reason", 500, required=True)
    if case.status == CaseStatus.VOIDED:
        raise TransitionNotAllowed(_("A voided case is not edited."))
    _check_version(case, expected_version)
    changes = dict(changes)
    errors: dict[str, str] = {}
    for field, limit, required in (("title", 200, True), ("description", MAX_TEXT, True),
                                   ("batch_number", 40, False)):
        if field in changes:
            try:
                changes[field] = clean_text(changes[field], field, limit, required=required)
            except ValidationError as error:
                errors.update({field: error.message_dict[field][0]})
    if "channel" in changes:
        try:
            _choice(changes["channel"], CaseChannel, "channel")
        except ValidationError as error:
            errors.update({"channel": error.message_dict["channel"][0]})
    contact = changes.get("contact")
    if contact is not None and not Contact.objects.visible_to(actor).filter(pk=contact.pk).working_at(
            case.institution).exists():
        errors["contact"] = _("Not working at this customer.")
    if "product" in changes and changes["product"] is None and case.kind == CaseKind.QUALITY:
        errors["product"] = _("Say which product.")
    if errors:
        raise ValidationError(errors)
    return audited_update(case, actor=actor, changes=changes, reason=reason, expected_version=expected_version)


def void_case(*, actor: Any, case: Case, reason: str, expected_version: int | None = None) -> Case:
    """"Delete" a case logged in error: a GxP record is never removed (21 CFR 211.198, Annex 11 §9) — it is
    voided, with the reason, by quality assurance or the service desk (``service.void_case``); the row, its notes,
    clocks and audit trail stay; its running clocks stop."""
    authorize(actor, "service.void_case")
    if not Case.objects.visible_to(actor).filter(pk=case.pk).exists():
        raise PermissionDenied
    reason = clean_text(reason, "reason", 500, required=True)
    if case.status == CaseStatus.VOIDED:
        raise TransitionNotAllowed(_("This case is voided already."))
    _check_version(case, expected_version)
    now = timezone.now()
    with transaction.atomic():
        case = advance(case, to=CaseStatus.VOIDED, actor=actor, reason=reason,
                       changes={"voided_at": now, "void_reason": reason, "waiting_on_customer": False})
        # the pharmacovigilance clock keeps running: a report owed to the authority is not voided with the case
        running = [clock.kind for clock in case.clocks.filter(stopped_at__isnull=True).exclude(
            kind=ClockKind.PV_REPORT)]
        if running:
            clocks.stop(case, tuple(running), at=now, actor=actor)
    return case


# --- pharmacovigilance -----------------------------------------------------------------------------------------


def flag_pv(*, actor: Any, case: Case, kind: str, seriousness: str = "", aware_on: datetime.date | None = None) -> Case:
    """A possible adverse reaction or quality defect: the reporting clock runs from the awareness date, and every
    pharmacovigilance officer is told. Anyone who sees the case may raise the flag; nobody lowers it here."""
    if not Case.objects.visible_to(actor).filter(pk=case.pk).exists():
        raise PermissionDenied
    _choice(kind, PvKind, "pv_kind")
    seriousness = seriousness or PvSeriousness.OTHER
    _choice(seriousness, PvSeriousness, "pv_seriousness")
    today = policy.today()
    aware_on = aware_on or timezone.localtime(case.received_at, policy.CHINA).date()
    if aware_on > today:
        raise ValidationError({"pv_aware_on": _("The awareness date cannot be in the future.")})
    if case.pv_kind:
        raise ValidationError({"pv_kind": _("This case is flagged already.")})
    with transaction.atomic():
        case = audited_update(case, actor=actor, changes={"pv_kind": kind, "pv_seriousness": seriousness,
                                                          "pv_aware_on": aware_on})
        started = datetime.datetime.combine(aware_on, datetime.time(), tzinfo=policy.CHINA)
        clocks.start(case, ClockKind.PV_REPORT, ClockBasis.DAYS, int(policy.get(f"service.pv_days_{seriousness}")),
                     started_at=started, actor=actor)
        for officer in User.objects.filter(role=Role.PHARMACOVIGILANCE, is_active=True):
            notify(officer, _("Pharmacovigilance: %(kind)s in %(case)s") % {
                "kind": PvKind(kind).label, "case": case.reference}, url=case.get_absolute_url(), email=True)
    return case


def record_pv_report(*, actor: Any, case: Case, reference: str) -> Case:
    """The pharmacovigilance officer records the report made (its reference): the clock stops."""
    authorize(actor, "service.report_pv")
    if not case.pv_kind:
        raise ValidationError({"pv_reference": _("This case is not flagged for pharmacovigilance.")})
    if case.pv_reported_at:
        raise ValidationError({"pv_reference": _("The report is recorded already.")})
    reference = clean_text(reference, "pv_reference", 60, required=True)
    now = timezone.now()
    with transaction.atomic():
        case = audited_update(case, actor=actor, changes={"pv_reported_at": now, "pv_reference": reference})
        clocks.stop(case, (ClockKind.PV_REPORT,), at=now, actor=actor)
    return case


# --- assignment rules ----------------------------------------------------------------------------------------


def save_rule(*, actor: Any, assignee: Any, priority: int = 100, kind: str = "", product: Product | None = None,
              province_code: str = "", active: bool = True, rule: AssignmentRule | None = None) -> AssignmentRule:
    authorize(actor, "service.add_assignmentrule" if rule is None else "service.change_assignmentrule")
    _choice(kind, CaseKind, "kind", blank=True)
    if kind:
        _check_owner(kind, assignee, "assignee")
    elif assignee is None or not assignee.is_active:
        raise ValidationError({"assignee": _("Choose an active user.")})
    values = {"assignee": assignee, "priority": priority, "kind": kind, "product": product,
              "province_code": clean_text(province_code, "province_code", 6), "active": bool(active)}
    if rule is None:
        return audited_create(AssignmentRule, actor=actor, **values)
    return audited_update(rule, actor=actor, changes=values)
