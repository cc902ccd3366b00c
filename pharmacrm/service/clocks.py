"""One SLA clock engine for every deadline (DOMAIN.md 7): first response in hours (seed 002: 24 hours), contact and
resolution in China's working days (seed 003; make-up days count, a year the calendar package does not know falls
back to Monday–Friday), the pharmacovigilance report in calendar days from the awareness date.

* A clock due "within N working days" of a moment is due at the end (23:59:59, China time) of the Nth working day
  after that moment's day; "within N days" at the end of the Nth day after; "within N hours" N hours after.
* Pausing (waiting on the customer) is recorded; resuming moves the due time on by what the pause took — hours
  for an hourly clock, the working days (or days) it spanned for the others. A pharmacovigilance clock never
  pauses: the regulator's days run whatever the customer does.
* ``check(now)`` is the job: running clocks past due are breached and go to the owner's manager; missed by
  ``service.escalate_leadership_hours`` they go to leadership; due within ``service.warn_before_hours`` the owner
  is warned once. Set-based: one query finds each group, one audited update marks it, one message per person.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from pharmacrm.core import policy, workcalendar
from pharmacrm.core.audit import audited_bulk_update, audited_create, audited_update
from pharmacrm.core.notifications import notify
from pharmacrm.org.models import User
from pharmacrm.org.roles import Role
from pharmacrm.service.choices import ClockBasis, ClockKind
from pharmacrm.service.models import Case, SlaClock

END_OF_DAY = datetime.time(23, 59, 59)


def _local_day(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment, policy.CHINA).date()


def _end_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, END_OF_DAY, tzinfo=policy.CHINA)


def due_at(basis: str, target: int, started_at: datetime.datetime) -> datetime.datetime:
    """When a clock started at ``started_at`` with ``target`` hours / working days / days falls due."""
    if basis == ClockBasis.HOURS:
        return started_at + datetime.timedelta(hours=target)
    if basis == ClockBasis.WORKING_DAYS:
        return _end_of(workcalendar.add_working_days(_local_day(started_at), target))
    return _end_of(_local_day(started_at) + datetime.timedelta(days=target))


def start(case: Case, kind: str, basis: str, target: int, *, started_at: datetime.datetime, actor: Any) -> SlaClock:
    """Start (or, for a reopened case, restart) the case's clock of ``kind``."""
    values = {"basis": basis, "target": target, "started_at": started_at, "due_at": due_at(basis, target, started_at),
              "paused_at": None, "stopped_at": None, "warned_at": None, "breached_at": None, "escalation": 0,
              "owner_id": case.owner_id}
    clock = SlaClock.objects.filter(case=case, kind=kind).first()
    if clock is None:
        return audited_create(SlaClock, actor=actor, case=case, kind=kind, **values)
    return audited_update(clock, actor=actor, changes=values, reason=_("Clock restarted"))


def stop(case: Case, kinds: tuple[str, ...], *, at: datetime.datetime, actor: Any) -> int:
    """Stop the case's running clocks of ``kinds``: their deadline is met (or passed, if breached)."""
    stopped = 0
    for clock in SlaClock.objects.filter(case=case, kind__in=kinds, stopped_at__isnull=True):
        audited_update(clock, actor=actor, changes={"stopped_at": at, "paused_at": None})
        stopped += 1
    return stopped


def pause(case: Case, *, at: datetime.datetime, actor: Any) -> int:
    """Waiting on the customer: the case's running clocks stop counting (not the pharmacovigilance one)."""
    paused = 0
    for clock in SlaClock.objects.filter(case=case, stopped_at__isnull=True, paused_at__isnull=True).exclude(
            kind=ClockKind.PV_REPORT):
        audited_update(clock, actor=actor, changes={"paused_at": at}, reason=_("Waiting on the customer"))
        paused += 1
    return paused


def moved_on(clock: SlaClock, resumed_at: datetime.datetime) -> datetime.datetime:
    """The due time of a paused clock once resumed: later by what the pause took."""
    assert clock.paused_at is not None
    if clock.basis == ClockBasis.HOURS:
        return clock.due_at + (resumed_at - clock.paused_at)
    first, last = _local_day(clock.paused_at), _local_day(resumed_at)
    due_day = _local_day(clock.due_at)
    if clock.basis == ClockBasis.WORKING_DAYS:
        return _end_of(workcalendar.add_working_days(due_day, workcalendar.working_days_between(first, last)))
    return _end_of(due_day + (last - first))


def resume(case: Case, *, at: datetime.datetime, actor: Any) -> int:
    resumed = 0
    for clock in SlaClock.objects.filter(case=case, stopped_at__isnull=True, paused_at__isnull=False):
        audited_update(clock, actor=actor, changes={"paused_at": None, "due_at": moved_on(clock, at)},
                       reason=_("The customer answered"))
        resumed += 1
    return resumed


# --- the check job -----------------------------------------------------------------------------------------------


@dataclass
class Checked:
    warned: int
    breached: int
    to_leadership: int


def _managers(owner_ids: set[int]) -> dict[int, Any]:
    """Each owner's team manager (none for an owner without a team or a team without a manager)."""
    return {user.pk: user.team.manager for user in User.objects.filter(pk__in=owner_ids)
            .select_related("team__manager") if user.team_id and user.team.manager_id and user.team.manager.is_active}


def check(now: datetime.datetime | None = None) -> Checked:
    """Warn, breach and escalate every running clock that calls for it (the job runs every 15 minutes)."""
    now = now or timezone.now()
    running = SlaClock.objects.filter(stopped_at__isnull=True, paused_at__isnull=True)
    breach_list = reverse("service:breaches")

    warn_until = now + datetime.timedelta(hours=int(policy.get("service.warn_before_hours")))
    warn = running.filter(warned_at__isnull=True, breached_at__isnull=True, due_at__gte=now, due_at__lt=warn_until)
    per_owner = Counter(warn.values_list("owner_id", flat=True))
    warned = audited_bulk_update(warn, actor=None, reason=_("Deadline near"), warned_at=now) if per_owner else 0
    for owner in User.objects.filter(pk__in=per_owner, is_active=True):
        notify(owner, _("%(n)d case deadlines within hours") % {"n": per_owner[owner.pk]},
               url=f"{breach_list}?near=1")

    due = running.filter(breached_at__isnull=True, due_at__lt=now)
    per_owner = Counter(due.values_list("owner_id", flat=True))
    breached = audited_bulk_update(due, actor=None, reason=_("Deadline missed"), breached_at=now,
                                   escalation=1) if per_owner else 0
    managers = _managers(set(per_owner))
    told: Counter[Any] = Counter()
    for owner_id, n in per_owner.items():
        told[managers.get(owner_id)] += n
    for owner in User.objects.filter(pk__in=per_owner, is_active=True):
        notify(owner, _("%(n)d case deadlines missed") % {"n": per_owner[owner.pk]}, url=breach_list)
    for manager, n in told.items():
        if manager is not None:
            notify(manager, _("%(n)d case deadlines missed in your team") % {"n": n}, url=breach_list)

    late = now - datetime.timedelta(hours=int(policy.get("service.escalate_leadership_hours")))
    overdue = running.filter(breached_at__isnull=False, escalation__lt=2, due_at__lt=late)
    count = overdue.count()
    to_leadership = audited_bulk_update(overdue, actor=None, reason=_("Escalated to leadership"),
                                        escalation=2) if count else 0
    if to_leadership:
        for leader in User.objects.filter(role=Role.LEADER, is_active=True):
            notify(leader, _("%(n)d case deadlines missed for long") % {"n": to_leadership}, url=breach_list)
    if breached or to_leadership:
        _carry_escalation_to_cases(now)
    return Checked(warned=warned, breached=breached, to_leadership=to_leadership)


def _carry_escalation_to_cases(now: datetime.datetime) -> None:
    """A case's escalation is the highest of its clocks' (for the queue's sort and the case page)."""
    levels = (SlaClock.objects.filter(stopped_at__isnull=True, escalation__gt=0).values("case_id")
              .annotate(level=Max("escalation")).filter(level__gt=F("case__escalation")).order_by())
    for level in (1, 2):
        ids = [row["case_id"] for row in levels if row["level"] == level]
        if ids:
            audited_bulk_update(Case.objects.filter(pk__in=ids), actor=None, reason=_("Deadline missed"),
                                escalation=level)


def breaches(clocks: Any, *, near: bool = False, now: datetime.datetime | None = None) -> Any:
    """Running clocks past due (or, with ``near``, due within the warning window), soonest first."""
    now = now or timezone.now()
    running = clocks.filter(stopped_at__isnull=True)
    if near:
        until = now + datetime.timedelta(hours=int(policy.get("service.warn_before_hours")))
        return running.filter(due_at__gte=now, due_at__lt=until, paused_at__isnull=True).order_by("due_at", "id")
    return running.filter(Q(breached_at__isnull=False) | Q(due_at__lt=now, paused_at__isnull=True)).order_by(
        "due_at", "id")
