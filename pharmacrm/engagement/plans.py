"""Visit plans (seed 000 三.1 拜访计划): a rep's annual, quarterly or monthly plan, drafted from the cadence rules of
each customer's classes, edited by the rep, approved by the manager.

* Drafting reads the rep's book through ``cadence.rows_for`` (the strictest of the grading strategy table's rules
  for each customer's grade, depth, size, tenure and type) and writes one line per customer: the visits the rules
  call for in the period (whole intervals in its days: 优质 weekly → 4 in a 31-day month, 52 in a year; at least
  one when a longer interval falls due within it), the contacts (``contacts_per_month`` × months) and the rule
  in words. A customer no rule covers (潜在
  "as appropriate") gets a line with no requirement; the rep decides.
* The rep changes the planned visits and notes while the plan is a draft or returned. Fewer visits than the rules
  call for is allowed with a reason (the manager reads it); submitting refuses lines below the rule without one.
* The manager (``engagement.approve_visitplan``, the plan in their scope, not their own) approves or returns it
  with a reason; the rep is told. Approving a monthly plan schedules its visits on the rep's calendar: the planned
  number less the visits the rep already has for that customer in the month, spread over the remaining working
  days (China's calendar), one event key per visit so nothing is scheduled twice.
"""

from __future__ import annotations

import datetime
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from pharmacrm.core import policy, workcalendar
from pharmacrm.core.audit import StaleVersion, audited_bulk_create, audited_create, audited_update
from pharmacrm.core.notifications import notify
from pharmacrm.core.querysets import allow_bulk_writes
from pharmacrm.core.validators import clean_text
from pharmacrm.core.workflow import TransitionNotAllowed, advance
from pharmacrm.customers.models import Institution
from pharmacrm.engagement import cadence
from pharmacrm.engagement.choices import EDITABLE_PLAN_STATUSES, PlanPeriod, PlanStatus, VisitKind, VisitStatus
from pharmacrm.engagement.models import MAX_NOTE, Visit, VisitPlan, VisitPlanLine
from pharmacrm.org.scope import authorize

MONTHS = {PlanPeriod.YEAR: 12, PlanPeriod.QUARTER: 3, PlanPeriod.MONTH: 1}
#: the first planned visit of a day starts at this hour; the next ones an hour apart, until the day is full
DAY_STARTS_AT, VISITS_A_DAY = 9, 8
#: the most visits one line plans (a customer seen every working day of a year)
MAX_LINE_VISITS = 366

__all__ = [
    "MONTHS",
    "StaleVersion",
    "TransitionNotAllowed",
    "add_line",
    "approve_plan",
    "bounds",
    "done_visits",
    "draft_plan",
    "return_plan",
    "save_lines",
    "submit_plan",
]


def bounds(period: str, day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first and last day of the ``period`` (year, quarter, month) that contains ``day``."""
    months = MONTHS[PlanPeriod(period)]
    first_month = 1 if months == 12 else (day.month - 1) // months * months + 1
    start = datetime.date(day.year, first_month, 1)
    after = first_month + months
    end = (datetime.date(day.year + 1, 1, 1) if after > 12 else datetime.date(day.year, after, 1)) \
        - datetime.timedelta(days=1)
    return start, end


@dataclass(frozen=True)
class Requirement:
    visits: int | None
    contacts: int | None
    rule: str


def requirement(row: cadence.Row, period: str, start: datetime.date, end: datetime.date) -> Requirement:
    """What the rules ask of one customer over the period."""
    days = (end - start).days + 1
    visits = None
    if row.every_days:
        visits = days // row.every_days
        if not visits and row.due_on and row.due_on <= end:  # a half-yearly customer falling due this quarter
            visits = 1
    contacts = row.contacts_per_month * MONTHS[PlanPeriod(period)] if row.contacts_per_month else None
    words = []
    for strategy in row.rules:
        said = []
        if strategy.visit_every_days:
            said.append(_("a visit every %(days)d days") % {"days": strategy.visit_every_days})
        if strategy.contacts_per_month:
            said.append(_("≥ %(n)d contacts a month") % {"n": strategy.contacts_per_month})
        words.append(f"{strategy.klass_label}: {'，'.join(said)}")
    return Requirement(visits, contacts, "；".join(words)[:300])


def draft_plan(*, actor: Any, period: str, day: datetime.date, note: str = "") -> VisitPlan:
    """Draft the actor's plan for the period containing ``day``, one line per customer of their book."""
    authorize(actor, "engagement.add_visitplan")
    if period not in PlanPeriod.values:
        raise ValidationError({"period": _("Choose annual, quarterly or monthly.")})
    start, end = bounds(period, day)
    if end < policy.today():
        raise ValidationError({"day": _("This period is over; plan the current or a coming one.")})
    if VisitPlan.objects.filter(rep=actor, period=period, starts_on=start).exists():
        raise ValidationError({"day": _("You already have a plan for this period.")})
    rows = cadence.rows_for(cadence.book_of(actor), today=max(start, policy.today()))
    with transaction.atomic():
        plan = audited_create(VisitPlan, actor=actor, rep=actor, period=period, starts_on=start, ends_on=end,
                              note=clean_text(note, "note", MAX_NOTE))
        lines = []
        for row in sorted(rows, key=lambda row: row.institution.name):
            need = requirement(row, period, start, end)
            lines.append(VisitPlanLine(plan=plan, institution=row.institution, rule=need.rule,
                                       rule_visits=need.visits, rule_contacts=need.contacts,
                                       visits=need.visits or 0))
        audited_bulk_create(VisitPlanLine, lines, actor=actor, reason=_("Drafted from the cadence rules"))
    return plan


def _own_editable(actor: Any, plan: VisitPlan) -> None:
    authorize(actor, "engagement.change_visitplan")
    if plan.rep_id != actor.pk:
        raise PermissionDenied(_("Only the rep whose plan it is can change it."))
    if plan.status not in EDITABLE_PLAN_STATUSES:
        raise TransitionNotAllowed(_("The plan was submitted; it can be changed again only if it is returned."))


def save_lines(*, actor: Any, plan: VisitPlan, lines: Mapping[int, tuple[Any, Any]], note: str | None = None,
               expected_version: int | None = None) -> VisitPlan:
    """Set the planned visits and notes of lines (``{line id: (visits, note)}``) and the plan's note, all or none."""
    _own_editable(actor, plan)
    current = {line.pk: line for line in plan.lines.filter(pk__in=list(lines))}
    errors: dict[str, str] = {}
    changes: list[tuple[VisitPlanLine, dict[str, Any]]] = []
    for line_id, (visits, line_note) in lines.items():
        line = current.get(line_id)
        if line is None:
            errors[f"line-{line_id}"] = _("Not a line of this plan.")
            continue
        try:
            count = int(str(visits).strip() or 0)
        except (TypeError, ValueError):
            errors[f"line-{line_id}"] = _("Enter a whole number of visits.")
            continue
        if not 0 <= count <= MAX_LINE_VISITS:
            errors[f"line-{line_id}"] = _("Between 0 and %(max)d visits.") % {"max": MAX_LINE_VISITS}
            continue
        text = str(line_note or "").strip()
        if len(text) > 300:
            errors[f"line-{line_id}"] = _("The note takes at most 300 characters.")
            continue
        change = {name: value for name, value in (("visits", count), ("note", text))
                  if getattr(line, name) != value}
        if change:
            changes.append((line, change))
    plan_note = None if note is None else str(note).strip()
    if plan_note is not None and len(plan_note) > MAX_NOTE:
        errors["note"] = _("At most %(limit)d characters (this has %(count)d).") % {
            "limit": MAX_NOTE, "count": len(plan_note)}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = VisitPlan.objects.select_for_update().get(pk=plan.pk)
        if expected_version is not None and locked.version != expected_version:
            raise StaleVersion(locked.version)
        for line, change in changes:
            audited_update(line, actor=actor, changes=change)
        if plan_note is not None and plan_note != locked.note:
            locked = audited_update(locked, actor=actor, changes={"note": plan_note})
        elif changes:  # the lines changed: move the plan's version on so a second tab's stale save is refused
            locked.version += 1
            with allow_bulk_writes():  # the lines' own entries say what changed; the version is the lock
                locked.save(update_fields=["version", "updated_at"])
    return locked


def add_line(*, actor: Any, plan: VisitPlan, institution: Institution, visits: int = 1, note: str = "") -> VisitPlanLine:
    """Add a customer the rep may see (a new or a borrowed one) to their plan."""
    _own_editable(actor, plan)
    if institution is None or not Institution.objects.visible_to(actor).live().filter(pk=institution.pk).exists():
        raise ValidationError({"institution": _("Not found.")})
    if plan.lines.filter(institution=institution).exists():
        raise ValidationError({"institution": _("Already in the plan.")})
    row = cadence.rows_for(Institution.objects.filter(pk=institution.pk), today=max(plan.starts_on, policy.today()))[0]
    need = requirement(row, plan.period, plan.starts_on, plan.ends_on)
    try:
        count = int(visits)
    except (TypeError, ValueError):
        raise ValidationError({"visits": _("Enter a whole number of visits.")}) from None
    if not 0 <= count <= MAX_LINE_VISITS:
        raise ValidationError({"visits": _("Between 0 and %(max)d visits.") % {"max": MAX_LINE_VISITS}})
    return audited_create(VisitPlanLine, actor=actor, plan=plan, institution=institution, rule=need.rule,
                          rule_visits=need.visits, rule_contacts=need.contacts, visits=count,
                          note=clean_text(note, "note", 300))


def _manager_of(rep: Any) -> Any:
    return rep.team.manager if rep.team_id and rep.team.manager_id else None


def submit_plan(*, actor: Any, plan: VisitPlan, expected_version: int | None = None) -> VisitPlan:
    """Send the plan to the manager; lines below the rules must say why."""
    _own_editable(actor, plan)
    if expected_version is not None and plan.version != expected_version:
        raise StaleVersion(plan.version)
    unexplained = list(plan.lines.filter(rule_visits__isnull=False, visits__lt=F("rule_visits"), note="")
                       .select_related("institution").order_by("id")[:5])
    if unexplained:
        raise ValidationError({"lines": _("Fewer visits than the rules call for without a reason: %(names)s.") % {
            "names": "、".join(line.institution.name for line in unexplained)}})
    if not plan.lines.filter(visits__gt=0).exists():
        raise ValidationError({"lines": _("The plan has no visits.")})
    with transaction.atomic():
        plan = advance(plan, to=PlanStatus.SUBMITTED, actor=actor, changes={"submitted_at": timezone.now()})
        manager = _manager_of(plan.rep)
        if manager is not None and manager.pk != actor.pk:
            notify(manager, _("Visit plan to approve: %(plan)s") % {"plan": str(plan)}, url=plan.get_absolute_url())
    return plan


def _may_decide(actor: Any, plan: VisitPlan) -> None:
    authorize(actor, "engagement.approve_visitplan")
    if not VisitPlan.objects.visible_to(actor).filter(pk=plan.pk).exists():
        raise PermissionDenied
    if plan.rep_id == actor.pk:
        raise PermissionDenied(_("A rep does not approve their own plan."))


def return_plan(*, actor: Any, plan: VisitPlan, reason: str) -> VisitPlan:
    """Send the plan back to the rep with what to change."""
    _may_decide(actor, plan)
    reason = clean_text(reason, "reason", MAX_NOTE, required=True)
    plan = advance(plan, to=PlanStatus.RETURNED, actor=actor, reason=reason, changes={
        "decided_by": actor, "decided_at": timezone.now(), "decision_comment": reason})
    notify(plan.rep, _("Your visit plan was returned: %(plan)s") % {"plan": str(plan)}, body=reason,
           url=plan.get_absolute_url())
    return plan


def approve_plan(*, actor: Any, plan: VisitPlan, comment: str = "") -> tuple[VisitPlan, int]:
    """Approve the plan; a monthly plan's visits go on the rep's calendar. Returns the plan and the visits
    scheduled."""
    _may_decide(actor, plan)
    comment = clean_text(comment, "comment", MAX_NOTE)
    with transaction.atomic():
        plan = advance(plan, to=PlanStatus.APPROVED, actor=actor, changes={
            "decided_by": actor, "decided_at": timezone.now(), "decision_comment": comment})
        scheduled = _schedule(actor, plan) if plan.period == PlanPeriod.MONTH else 0
    notify(plan.rep, _("Your visit plan was approved: %(plan)s") % {"plan": str(plan)}, body=comment,
           url=plan.get_absolute_url())
    return plan, scheduled


def _working_days(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    days = [start + datetime.timedelta(days=n) for n in range((end - start).days + 1)]
    return [day for day in days if workcalendar.is_working_day(day)] or days


def _schedule(actor: Any, plan: VisitPlan) -> int:
    """Put the monthly plan's visits on the rep's calendar, spread over the working days left in the month."""
    first = max(plan.starts_on, policy.today() + datetime.timedelta(days=1))
    if first > plan.ends_on:
        return 0
    days = _working_days(first, plan.ends_on)
    month_start = datetime.datetime.combine(plan.starts_on, datetime.time(), tzinfo=policy.CHINA)
    month_end = datetime.datetime.combine(plan.ends_on + datetime.timedelta(days=1), datetime.time(),
                                          tzinfo=policy.CHINA)
    lines = list(plan.lines.filter(visits__gt=0).select_related("institution").order_by("id"))
    existing = dict(Visit.objects.filter(rep=plan.rep, institution_id__in=[line.institution_id for line in lines],
                                         planned_for__gte=month_start, planned_for__lt=month_end)
                    .exclude(status=VisitStatus.CANCELLED).order_by().values_list("institution_id")
                    .annotate(n=Count("pk")))
    load: Counter[datetime.date] = Counter()
    visits = []
    goal = _("Visit from the monthly plan")
    for line in lines:
        wanted = max(0, line.visits - existing.get(line.institution_id, 0))
        for k in range(wanted):
            day = days[min(len(days) - 1, math.floor((k + 0.5) * len(days) / wanted))]
            slot = load[day] % VISITS_A_DAY
            load[day] += 1
            visits.append(Visit(institution=line.institution, rep=plan.rep, kind=VisitKind.ROUTINE,
                                planned_for=datetime.datetime.combine(day, datetime.time(DAY_STARTS_AT + slot),
                                                                      tzinfo=policy.CHINA),
                                goal=goal, content=line.note, trigger=f"plan:{line.pk}:{k}"))
    audited_bulk_create(Visit, visits, actor=actor, reason=_("Approved monthly visit plan %(id)d") % {"id": plan.pk})
    return len(visits)


def done_visits(plan: VisitPlan, lines: Iterable[VisitPlanLine]) -> dict[int, int]:
    """Per customer of ``lines``: the rep's visits that happened in the plan's period (attainment so far)."""
    start = datetime.datetime.combine(plan.starts_on, datetime.time(), tzinfo=policy.CHINA)
    end = datetime.datetime.combine(plan.ends_on + datetime.timedelta(days=1), datetime.time(), tzinfo=policy.CHINA)
    ids = [line.institution_id for line in lines]
    return dict(Visit.objects.filter(rep=plan.rep, institution_id__in=ids, status__in=cadence.DONE_STATUSES)
                .filter(Q(checked_in_at__gte=start, checked_in_at__lt=end)
                        | Q(checked_in_at__isnull=True, planned_for__gte=start, planned_for__lt=end))
                .order_by().values_list("institution_id").annotate(n=Count("pk")))
