"""China's working-day calendar: which days count for deadlines, SLAs and reminders.

DESIGN.md Working days: a day is a working day when, in order of precedence,

1. a ``CalendarDay`` row (entered by admins) says so — it overrides everything;
2. else the ``chinese_calendar`` package knows the year: statutory holidays
   are off and make-up working days (调休, often a Saturday or Sunday) are on;
3. else (a year the package does not cover yet) Monday to Friday are working
   days. Admins enter the coming year's holidays as ``CalendarDay`` rows until
   the package is updated; the calendar never fails for an unknown year.

Counting convention: a span runs from ``start`` exclusive to ``end`` inclusive,
so "due 3 working days after Monday" is ``add_working_days(monday, 3)`` and
``working_days_between(monday, that_day) == 3``.
"""

from __future__ import annotations

import datetime
import functools
from typing import Any

import chinese_calendar
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pharmacrm.core.audit import audited_create, audited_delete, audited_update
from pharmacrm.core.models import CalendarDay
from pharmacrm.core.policy import CHINA
from pharmacrm.org.scope import authorize

ONE_DAY = datetime.timedelta(days=1)
#: refuse walks longer than this many working days (about 100 years): a bug, not a deadline
MAX_WORKING_DAYS = 25_000


def _as_date(day: datetime.date) -> datetime.date:
    if isinstance(day, datetime.datetime):
        return (timezone.localtime(day, CHINA) if timezone.is_aware(day) else day).date()
    return day


@functools.lru_cache(maxsize=8192)
def _package_says(day: datetime.date) -> bool | None:
    """The package's answer, or None when it has no data for the year."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


def _rule_says(day: datetime.date) -> bool:
    """Rules 2 and 3: the package where it knows the year, Monday–Friday elsewhere."""
    known = _package_says(day)
    return day.weekday() < 5 if known is None else known


class _Calendar:
    """Working-day answers over a date range, reading the admin table once per range.

    Asked about a day outside the range, it fetches the next stretch (at least
    as long as the range already held), so a walk costs one or two queries.
    """

    def __init__(self, first: datetime.date, last: datetime.date) -> None:
        self._first, self._last = min(first, last), max(first, last)
        self._overrides = self._fetch(self._first, self._last)

    @staticmethod
    def _fetch(first: datetime.date, last: datetime.date) -> dict[datetime.date, bool]:
        return dict(CalendarDay.objects.filter(date__range=(first, last)).values_list("date", "is_working_day"))

    def is_working_day(self, day: datetime.date) -> bool:
        span = self._last - self._first + ONE_DAY
        if day < self._first:
            first = min(day, self._first - span)
            self._overrides.update(self._fetch(first, self._first - ONE_DAY))
            self._first = first
        elif day > self._last:
            last = max(day, self._last + span)
            self._overrides.update(self._fetch(self._last + ONE_DAY, last))
            self._last = last
        override = self._overrides.get(day)
        return _rule_says(day) if override is None else override


def is_working_day(day: datetime.date) -> bool:
    """DESIGN.md Working days: admin table, then chinese_calendar, then Monday–Friday."""
    day = _as_date(day)
    override = CalendarDay.objects.filter(date=day).values_list("is_working_day", flat=True).first()
    return _rule_says(day) if override is None else override


def add_working_days(start: datetime.date, n: int) -> datetime.date:
    """The day ``n`` working days after ``start`` (before it when ``n`` is negative).

    ``start`` itself is never counted, so the result of a non-zero ``n`` is a
    working day; ``n == 0`` returns ``start`` unchanged (even on a holiday).
    """
    start = _as_date(start)
    if abs(n) > MAX_WORKING_DAYS:
        raise ValueError(f"refusing to count {n} working days")
    if n == 0:
        return start
    step = ONE_DAY if n > 0 else -ONE_DAY
    # Holidays add at most a few days per week: this first range usually covers the whole walk.
    calendar = _Calendar(start + step, start + step * (abs(n) * 2 + 30))
    remaining = abs(n)
    day = start
    while remaining:
        day += step
        if calendar.is_working_day(day):
            remaining -= 1
    return day


def working_days_between(start: datetime.date, end: datetime.date) -> int:
    """Working days in the span ``(start, end]``: ``start`` excluded, ``end`` included.

    Negative when ``end`` is before ``start`` (then it counts ``(end, start]``);
    zero when they are the same day. For any working day ``end`` after
    ``start``: ``add_working_days(start, working_days_between(start, end)) == end``.
    """
    start, end = _as_date(start), _as_date(end)
    if end == start:
        return 0
    if end < start:
        return -working_days_between(end, start)
    calendar = _Calendar(start + ONE_DAY, end)
    count = 0
    day = start + ONE_DAY
    while day <= end:
        count += calendar.is_working_day(day)
        day += ONE_DAY
    return count


def next_working_day(day: datetime.date) -> datetime.date:
    """The first working day strictly after ``day``."""
    return add_working_days(day, 1)


# --- the admin table ---------------------------------------------------------------------


def create_calendar_day(*, actor: Any, date: datetime.date, is_working_day: bool, name: str = "",
                        reason: str = "") -> CalendarDay:
    """Enter a holiday or a make-up working day; it overrides the package for that date."""
    authorize(actor, "core.change_calendarday")
    with transaction.atomic():
        return audited_create(CalendarDay, actor=actor, audit_reason=reason, date=date, is_working_day=is_working_day,
                              name=name)


def update_calendar_day(*, actor: Any, calendar_day: CalendarDay, changes: dict[str, Any], reason: str = "",
                        expected_version: int | None = None) -> CalendarDay:
    """Change an entered day (date, working or not, name) with optimistic locking."""
    authorize(actor, "core.change_calendarday")
    allowed = {"date", "is_working_day", "name"}
    return audited_update(calendar_day, actor=actor, reason=reason, expected_version=expected_version,
                          changes={name: value for name, value in changes.items() if name in allowed})


def delete_calendar_day(*, actor: Any, calendar_day: CalendarDay, reason: str) -> None:
    """Remove an entered day: the package's (or Monday–Friday) answer applies again. Reason required."""
    authorize(actor, "core.change_calendarday")
    if not (reason or "").strip():
        raise ValidationError({"reason": _("A reason is required for this change.")})
    audited_delete(calendar_day, actor=actor, reason=reason.strip())
