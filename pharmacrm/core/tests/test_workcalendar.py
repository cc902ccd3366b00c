"""Working-day calendar: China's statutory holidays and 调休, the admin table, unknown years."""

from __future__ import annotations

import datetime
from typing import Any

import chinese_calendar
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import login
from pharmacrm.core.models import AuditEntry, CalendarDay
from pharmacrm.core.workcalendar import (
    add_working_days,
    create_calendar_day,
    delete_calendar_day,
    is_working_day,
    next_working_day,
    update_calendar_day,
    working_days_between,
)

D = datetime.date
# 2026 National Day per the State Council notice and the chinese_calendar data:
# off 10-01 (Thu) … 10-07 (Wed); make-up working days Sun 09-20 and Sat 10-10.
NATIONAL_DAY_2026 = [D(2026, 10, day) for day in range(1, 8)]
UNKNOWN_YEAR = 2099

pytestmark = pytest.mark.django_db


def test_package_data_matches_what_these_tests_assume() -> None:
    assert all(not chinese_calendar.is_workday(day) for day in NATIONAL_DAY_2026)
    assert chinese_calendar.is_workday(D(2026, 10, 8))
    assert chinese_calendar.is_workday(D(2026, 10, 10))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(UNKNOWN_YEAR, 1, 5))


def test_national_day_2026_is_off_and_the_saturday_after_is_a_working_day() -> None:
    assert [is_working_day(day) for day in NATIONAL_DAY_2026] == [False] * 7
    assert is_working_day(D(2026, 10, 8))  # Thursday after the break
    assert is_working_day(D(2026, 10, 10))  # Saturday, 调休
    assert not is_working_day(D(2026, 10, 11))  # ordinary Sunday
    assert is_working_day(D(2026, 9, 20))  # Sunday, 调休 before the break


def test_adding_working_days_skips_the_national_day_break() -> None:
    assert add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert add_working_days(D(2026, 9, 30), 2) == D(2026, 10, 9)
    assert add_working_days(D(2026, 9, 30), 3) == D(2026, 10, 10)  # the make-up Saturday counts
    assert add_working_days(D(2026, 9, 30), 4) == D(2026, 10, 12)
    assert next_working_day(D(2026, 10, 1)) == D(2026, 10, 8)
    assert next_working_day(D(2026, 10, 9)) == D(2026, 10, 10)


def test_negative_days_walk_backwards_and_zero_stays_put() -> None:
    assert add_working_days(D(2026, 10, 8), -1) == D(2026, 9, 30)
    assert add_working_days(D(2026, 10, 12), -4) == D(2026, 9, 30)
    assert add_working_days(D(2026, 10, 3), 0) == D(2026, 10, 3)


def test_working_days_between_counts_start_exclusive_end_inclusive() -> None:
    assert working_days_between(D(2026, 9, 30), D(2026, 10, 7)) == 0
    assert working_days_between(D(2026, 9, 30), D(2026, 10, 8)) == 1
    assert working_days_between(D(2026, 9, 30), D(2026, 10, 11)) == 3
    assert working_days_between(D(2026, 10, 11), D(2026, 9, 30)) == -3
    assert working_days_between(D(2026, 10, 5), D(2026, 10, 5)) == 0
    # Monday to Monday in an ordinary week: Tue–Fri plus the end Monday.
    assert working_days_between(D(2026, 6, 1), D(2026, 6, 8)) == 5


def test_adding_and_counting_agree() -> None:
    start = D(2026, 9, 15)
    for n in range(1, 40):
        assert working_days_between(start, add_working_days(start, n)) == n


def test_counting_across_into_a_year_the_package_does_not_cover() -> None:
    assert chinese_calendar.is_workday(D(2026, 12, 31))
    # 2027 is not in this package version: Monday–Friday applies (Jan 1 2027 is a Friday).
    assert add_working_days(D(2026, 12, 30), 1) == D(2026, 12, 31)
    assert add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 1)
    assert add_working_days(D(2026, 12, 31), 2) == D(2027, 1, 4)
    assert working_days_between(D(2026, 12, 30), D(2027, 1, 8)) == 7


def test_unknown_year_falls_back_to_monday_to_friday_without_crashing() -> None:
    monday = D(UNKNOWN_YEAR, 1, 5)
    assert monday.weekday() == 0
    assert [is_working_day(monday + datetime.timedelta(days=i)) for i in range(7)] == [True] * 5 + [False] * 2
    assert add_working_days(monday, 5) == D(UNKNOWN_YEAR, 1, 12)
    assert next_working_day(D(UNKNOWN_YEAR, 1, 9)) == D(UNKNOWN_YEAR, 1, 12)
    assert working_days_between(monday, D(UNKNOWN_YEAR, 2, 2)) == 20


def test_admin_table_overrides_the_package(org: dict[str, Any]) -> None:
    admin = org["admin"]
    create_calendar_day(actor=admin, date=D(2026, 10, 8), is_working_day=False, name="公司加休")
    create_calendar_day(actor=admin, date=D(2026, 10, 3), is_working_day=True, name="值班")
    assert not is_working_day(D(2026, 10, 8))
    assert is_working_day(D(2026, 10, 3))
    assert add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 3)
    assert add_working_days(D(2026, 9, 30), 2) == D(2026, 10, 9)
    assert working_days_between(D(2026, 9, 30), D(2026, 10, 9)) == 2


def test_admin_table_overrides_the_weekday_fallback(org: dict[str, Any]) -> None:
    admin = org["admin"]
    create_calendar_day(actor=admin, date=D(2027, 1, 1), is_working_day=False, name="元旦")
    create_calendar_day(actor=admin, date=D(2027, 1, 2), is_working_day=True, name="调休")  # a Saturday
    assert not is_working_day(D(2027, 1, 1))
    assert is_working_day(D(2027, 1, 2))
    assert add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 2)
    assert working_days_between(D(2026, 12, 31), D(2027, 1, 8)) == 6


def test_long_walks_read_the_admin_table_in_one_query(org: dict[str, Any]) -> None:
    create_calendar_day(actor=org["admin"], date=D(2026, 3, 2), is_working_day=False)
    with CaptureQueriesContext(connection) as queries:
        assert working_days_between(D(2026, 1, 1), D(2026, 12, 31)) > 240
    assert len(queries) == 1
    with CaptureQueriesContext(connection) as queries:
        add_working_days(D(2026, 1, 1), 200)
    assert len(queries) == 1


def test_calendar_day_changes_are_audited_and_delete_needs_a_reason(org: dict[str, Any]) -> None:
    admin = org["admin"]
    day = create_calendar_day(actor=admin, date=D(2027, 2, 6), is_working_day=False, name="春节")
    entry = AuditEntry.objects.for_object(day).get()
    assert entry.action == "create"
    assert entry.changes["is_working_day"] == [None, False]

    update_calendar_day(actor=admin, calendar_day=day, changes={"is_working_day": True}, reason="调休")
    entry = AuditEntry.objects.for_object(day).order_by("-id").first()
    assert entry.changes == {"is_working_day": [False, True]}
    assert entry.reason == "调休"

    with pytest.raises(ValidationError) as error:
        delete_calendar_day(actor=admin, calendar_day=day, reason="  ")
    assert "reason" in error.value.message_dict
    assert CalendarDay.objects.filter(pk=day.pk).exists()

    pk = day.pk
    delete_calendar_day(actor=admin, calendar_day=day, reason="录入错误")
    assert not CalendarDay.objects.filter(pk=pk).exists()
    deleted = AuditEntry.objects.filter(object_id=str(pk), action="delete").get()
    assert deleted.reason == "录入错误"


def test_duplicate_date_is_a_field_error(org: dict[str, Any]) -> None:
    create_calendar_day(actor=org["admin"], date=D(2027, 5, 1), is_working_day=False)
    with pytest.raises(ValidationError) as error:
        create_calendar_day(actor=org["admin"], date=D(2027, 5, 1), is_working_day=True)
    assert "date" in error.value.message_dict
    assert CalendarDay.objects.filter(date=D(2027, 5, 1)).count() == 1


def test_only_admins_change_the_table(org: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        create_calendar_day(actor=org["rep_east"], date=D(2027, 5, 1), is_working_day=False)
    assert not CalendarDay.objects.exists()


# --- pages -------------------------------------------------------------------------------


def test_calendar_pages_are_for_admins_only(client: Any, org: dict[str, Any]) -> None:
    day = create_calendar_day(actor=org["admin"], date=D(2027, 2, 6), is_working_day=False)
    login(client, org["rep_east"])
    for url in ("/settings/calendar/", "/settings/calendar/new/", f"/settings/calendar/{day.pk}/"):
        assert client.get(url).status_code == 403
    assert client.post(f"/settings/calendar/{day.pk}/delete/", {"reason": "x"}).status_code == 403
    assert CalendarDay.objects.filter(pk=day.pk).exists()


def test_admin_lists_days_filtered_by_year(client: Any, org: dict[str, Any]) -> None:
    create_calendar_day(actor=org["admin"], date=D(2027, 2, 6), is_working_day=False, name="春节二七")
    create_calendar_day(actor=org["admin"], date=D(2028, 1, 1), is_working_day=False, name="元旦二八")
    login(client, org["admin"])
    response = client.get(reverse("core:calendarday_list"), {"year": 2027})
    assert response.status_code == 200
    assert "春节二七" in response.text
    assert "元旦二八" not in response.text


def test_admin_adds_edits_and_deletes_a_day(client: Any, org: dict[str, Any]) -> None:
    login(client, org["admin"])
    response = client.post(reverse("core:calendarday_create"),
                           {"date": "2027-02-07", "kind": "working", "name": "春节调休", "reason": "国务院通知"})
    assert response.status_code == 302
    day = CalendarDay.objects.get(date=D(2027, 2, 7))
    assert day.is_working_day and day.name == "春节调休"
    assert is_working_day(D(2027, 2, 7))  # a Sunday, now a working day

    response = client.post(reverse("core:calendarday_edit", args=[day.pk]),
                           {"date": "2027-02-07", "kind": "holiday", "name": "春节", "version": day.version})
    assert response.status_code == 302
    day.refresh_from_db()
    assert not day.is_working_day

    response = client.post(reverse("core:calendarday_delete", args=[day.pk]), {"reason": ""})
    assert response.status_code == 400
    assert "is-invalid" in response.text
    assert CalendarDay.objects.filter(pk=day.pk).exists()
    response = client.post(reverse("core:calendarday_delete", args=[day.pk]), {"reason": "录入错误"})
    assert response.status_code == 302
    assert not CalendarDay.objects.filter(pk=day.pk).exists()


def test_adding_a_date_twice_shows_the_error_on_the_date_field(client: Any, org: dict[str, Any]) -> None:
    create_calendar_day(actor=org["admin"], date=D(2027, 5, 1), is_working_day=False)
    login(client, org["admin"])
    response = client.post(reverse("core:calendarday_create"), {"date": "2027-05-01", "kind": "working"})
    assert response.status_code == 400
    assert 'name="date"' in response.text and "is-invalid" in response.text
    assert CalendarDay.objects.filter(date=D(2027, 5, 1)).count() == 1
