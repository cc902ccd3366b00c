"""The SLA clock engine: deadlines across China's 2026 National Day (and its make-up Saturday) and into 2027 (a
year the calendar package does not know yet), pausing across the holiday, and the check job's warning, breach and
escalation chain."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from pharmacrm.core.policy import CHINA
from pharmacrm.org.models import User
from pharmacrm.org.roles import Role
from pharmacrm.service import clocks, services
from pharmacrm.service.choices import ClockBasis, ClockKind
from pharmacrm.service.models import Case, SlaClock

pytestmark = pytest.mark.django_db


def at(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=CHINA)


def end_of(year: int, month: int, day: int) -> datetime.datetime:
    return at(year, month, day, 23, 59, 59)


@pytest.mark.parametrize(("basis", "target", "start", "due"), [
    # Wednesday 30 September 2026, the last working day before the holiday (1–7 October): next working day the 8th
    (ClockBasis.WORKING_DAYS, 1, at(2026, 9, 30, 15), end_of(2026, 10, 8)),
    # three working days: 8 (Thu), 9 (Fri), 10 (the make-up Saturday)
    (ClockBasis.WORKING_DAYS, 3, at(2026, 9, 30, 15), end_of(2026, 10, 10)),
    # received on the holiday itself
    (ClockBasis.WORKING_DAYS, 1, at(2026, 10, 3, 9), end_of(2026, 10, 8)),
    # Mid-Autumn (25–27 September 2026) and its make-up Sunday, the 20th
    (ClockBasis.WORKING_DAYS, 1, at(2026, 9, 19, 9), end_of(2026, 9, 20)),
    # into 2027, which the package does not know: Monday to Friday, no crash
    (ClockBasis.WORKING_DAYS, 10, at(2026, 12, 30, 10), end_of(2027, 1, 13)),
    # hours run through nights and holidays; days count calendar days
    (ClockBasis.HOURS, 24, at(2026, 9, 30, 15), at(2026, 10, 1, 15)),
    (ClockBasis.DAYS, 15, at(2026, 9, 25, 0), end_of(2026, 10, 10)),
])
def test_due_times(basis: str, target: int, start: datetime.datetime, due: datetime.datetime) -> None:
    assert clocks.due_at(basis, target, start) == due


def test_a_complaint_before_national_day_and_a_pause_across_it(desk: dict[str, Any]) -> None:
    case = services.open_case(actor=desk["agent"], institution=desk["institution_east"], kind="complaint",
                              title="节前投诉", description="d", severity="high", received_at=at(2026, 9, 30, 15))
    due = {clock.kind: clock.due_at for clock in case.clocks.all()}
    assert due[ClockKind.FIRST_RESPONSE] == at(2026, 10, 1, 15)
    assert due[ClockKind.CONTACT] == end_of(2026, 10, 8)
    assert due[ClockKind.RESOLUTION] == end_of(2026, 10, 10)
    clock = case.clocks.get(kind=ClockKind.RESOLUTION)
    clock.paused_at = at(2026, 9, 30, 18)  # waiting on the customer from the evening before the holiday…
    # …to the 9th: the 8th and 9th were paused, so two working days on from the 10th (the 11th is a Sunday)
    assert clocks.moved_on(clock, at(2026, 10, 9, 10)) == end_of(2026, 10, 13)
    hourly = case.clocks.get(kind=ClockKind.FIRST_RESPONSE)
    hourly.paused_at = at(2026, 9, 30, 18)
    assert clocks.moved_on(hourly, at(2026, 9, 30, 20)) == at(2026, 10, 1, 17)  # two hours on


def test_warn_breach_and_escalate(desk: dict[str, Any]) -> None:
    case = services.open_case(actor=desk["rep_east"], institution=desk["institution_east"], kind="consultation",
                              title="规格咨询", description="d", owner=desk["rep_east"], severity="critical")
    clock = case.clocks.get(kind=ClockKind.RESOLUTION)
    due = clock.due_at
    leader = User.objects.get(role=Role.LEADER)
    # four hours ahead (service.warn_before_hours): the owner is warned, once
    assert clocks.check(due - datetime.timedelta(hours=2)).warned == 1
    assert clocks.check(due - datetime.timedelta(hours=1)).warned == 0
    assert desk["rep_east"].notifications.count() == 1
    # missed: breached, the owner and the owner's team manager told
    result = clocks.check(due + datetime.timedelta(minutes=5))
    assert (result.breached, result.to_leadership) == (1, 0)
    assert desk["manager_east"].notifications.count() == 1
    clock.refresh_from_db()
    assert clock.breached_at is not None and clock.escalation == 1 and Case.objects.get().escalation == 1
    assert clocks.check(due + datetime.timedelta(hours=2)).breached == 0  # once
    # missed by service.escalate_leadership_hours (24): leadership
    result = clocks.check(due + datetime.timedelta(hours=25))
    assert result.to_leadership == 1 and leader.notifications.count() == 1
    assert SlaClock.objects.get(pk=clock.pk).escalation == 2 and Case.objects.get().escalation == 2
    # the breach list shows it; met late, it leaves the list and stays marked
    assert list(clocks.breaches(SlaClock.objects.all())) == [clock]
    services.respond(actor=desk["rep_east"], case=case)
    services.move(actor=desk["rep_east"], case=Case.objects.get(), to="resolved", solution="已答复")
    assert not clocks.breaches(SlaClock.objects.all()).exists()
    assert SlaClock.objects.get(pk=clock.pk).breached_at is not None


def test_a_paused_clock_is_neither_warned_nor_breached(desk: dict[str, Any]) -> None:
    case = services.open_case(actor=desk["agent"], institution=desk["institution_east"], kind="complaint",
                              title="等客户寄样", description="d")
    services.set_waiting(actor=desk["agent"], case=case, waiting=True, reason="等样品")
    result = clocks.check(max(clock.due_at for clock in case.clocks.all()) + datetime.timedelta(days=30))
    assert (result.warned, result.breached) == (0, 0)
