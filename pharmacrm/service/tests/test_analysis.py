"""Case analysis and the monthly report (issue 7 "Analysis"): numbers equal to a hand count, the Pareto order with
its cumulative share, durations, breaches, recurring causes, scope per role, CSV export only for those who work
cases, any ``month`` parameter without a 500."""

from __future__ import annotations

import datetime
import statistics
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from pharmacrm.core import policy
from pharmacrm.core.models import AuditAction, AuditEntry
from pharmacrm.service import analysis, clocks, services
from pharmacrm.service.analysis import Month
from pharmacrm.service.choices import CaseStatus
from pharmacrm.service.models import Case, SlaClock

pytestmark = pytest.mark.django_db

MARCH = Month(2025, 3)
FEBRUARY = Month(2025, 2)


def _at(day: datetime.date, hours: float) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(9), tzinfo=policy.CHINA) + datetime.timedelta(hours=hours)


def _case(desk: dict[str, Any], day: datetime.date, kind: str, *, institution: str = "institution_east",
          batch: str = "", responded: float | None = None, resolved: float | None = None, closed: str = "") -> Case:
    """A case received at 09:00 on ``day``, responded ``responded`` hours later, resolved ``resolved`` hours after
    receipt, closed with root cause ``closed``."""
    agent = desk["agent"]
    product = desk["product"] if kind in ("quality", "complaint") else None
    with time_machine.travel(_at(day, 0), tick=False):
        case = services.open_case(actor=agent, institution=desk[institution], kind=kind, title=f"{kind} {batch}",
                                  description="客户反馈", product=product, batch_number=batch, severity="medium")
    if responded is not None:
        with time_machine.travel(_at(day, responded), tick=False):
            case = services.respond(actor=agent, case=case)
    if resolved is not None:
        with time_machine.travel(_at(day, resolved), tick=False):
            case = services.move(actor=agent, case=case, to=CaseStatus.RESOLVED, solution="已处理")
    if closed:
        with time_machine.travel(_at(day, resolved + 1), tick=False):
            case = services.move(actor=agent, case=case, to=CaseStatus.CONFIRMED)
            if kind == "complaint":
                case = services.move(actor=agent, case=case, to=CaseStatus.FOLLOWED_UP)
            case = services.move(actor=agent, case=case, to=CaseStatus.CLOSED, root_cause=closed,
                                 corrective_action="纠正措施")
    return case


@pytest.fixture
def month_of_cases(desk: dict[str, Any]) -> dict[str, Any]:
    """March 2025: seven cases (one at the western customer); February: two that recur in March."""
    day = datetime.date(2025, 3, 10)  # a Monday
    cases = {
        "c1": _case(desk, day, "complaint", batch="B1", responded=2, resolved=26, closed="logistics"),
        "c2": _case(desk, day, "quality", batch="B1", responded=4, resolved=50, closed="product_quality"),
        "c3": _case(desk, day, "quality", batch="B2", responded=6),
        "c4": _case(desk, day, "consultation"),
        "c5": _case(desk, day, "consultation", responded=3, resolved=8),
        "c6": _case(desk, day, "complaint", institution="institution_west", responded=1, resolved=10,
                    closed="logistics"),
        "c7": _case(desk, day, "quality", batch="B3", responded=5, resolved=20, closed="packaging"),
        "february_1": _case(desk, datetime.date(2025, 2, 12), "complaint", responded=1, resolved=5,
                            closed="logistics"),
        "february_2": _case(desk, datetime.date(2025, 2, 13), "quality", batch="B9", responded=1, resolved=5,
                            closed="packaging"),
    }
    with time_machine.travel(_at(datetime.date(2025, 3, 31), 0), tick=False):
        clocks.check()  # c3's and c4's resolution clocks are past due by then
    return {**desk, **cases}


def test_month_numbers_equal_a_hand_count(month_of_cases: dict[str, Any]) -> None:
    summary = analysis.summarize(Case.objects.visible_to(month_of_cases["leader"]), MARCH)
    assert summary.total == 7
    assert {row["value"]: row["count"] for row in summary.kinds} == {
        "consultation": 2, "clinical": 0, "quality": 3, "return": 0, "guidance": 0, "complaint": 2}
    assert summary.statuses == {"open": 2, "resolved": 1, "closed": 4}
    assert [(row["label"], row["batch_number"], row["count"]) for row in summary.batches] == [
        (str(month_of_cases["product"]), "B1", 2)]
    assert [(row["count"]) for row in summary.products] == [5]
    assert [(row["code"], row["label"], row["count"]) for row in summary.provinces] == [
        ("310000", "上海市", 6), ("510000", "四川省", 1)]
    assert summary.causes_missing == 1  # c3, a quality case still open
    # hours to the first response: 2, 4, 6, 3, 1, 5; to resolution: 26, 50, 8, 10, 20
    assert summary.first_response == {"count": 6, "median": 3.5, "average": 3.5}
    assert summary.resolution == {"count": 5, "median": 20.0, "average": 22.8}


def test_durations_agree_with_python_over_the_rows(month_of_cases: dict[str, Any]) -> None:
    rows = list(analysis.in_month(Case.objects.all(), MARCH).exclude(acknowledged_at=None))
    hours = [(case.acknowledged_at - case.received_at).total_seconds() / 3600 for case in rows]
    summary = analysis.summarize(Case.objects.all(), MARCH)
    assert summary.first_response["median"] == round(statistics.median(hours), 1)
    assert summary.first_response["average"] == round(statistics.mean(hours), 1)


def test_pareto_most_frequent_first_with_the_cumulative_share(month_of_cases: dict[str, Any]) -> None:
    summary = analysis.summarize(Case.objects.all(), MARCH)
    assert [(row["value"], row["count"], row["percent"], row["cumulative"]) for row in summary.causes] == [
        ("logistics", 2, 50.0, 50.0), ("product_quality", 1, 25.0, 75.0), ("packaging", 1, 25.0, 100.0)]
    assert all(row["vital"] for row in summary.causes)  # the first 80 % is reached only by the last one


def test_breached_clocks_and_recurring_causes(month_of_cases: dict[str, Any]) -> None:
    summary = analysis.summarize(Case.objects.all(), MARCH)
    clocks_in_march = SlaClock.objects.filter(case__received_at__gte=MARCH.start, case__received_at__lt=MARCH.end)
    assert summary.clocks_total == clocks_in_march.count() == 14  # 3 + 2 + 2 + 1 + 1 + 3 + 2
    assert summary.clocks_breached == clocks_in_march.exclude(breached_at=None).count() == 2
    assert summary.breached_percent == round(100 * 2 / 14, 1)
    recurring = {(row["cause"], row["run"], row["ongoing"], row["count"]) for row in summary.recurring}
    assert recurring == {("logistics", 2, True, 3), ("packaging", 2, True, 2)}
    # April has none of them: still found (a run of two), no longer ongoing
    april = analysis.recurring_causes(Case.objects.all(), Month(2025, 4))
    assert {(row["cause"], row["ongoing"]) for row in april} == {("logistics", False), ("packaging", False)}


def test_each_role_counts_only_the_cases_it_may_see(month_of_cases: dict[str, Any]) -> None:
    totals = {name: analysis.summarize(Case.objects.visible_to(month_of_cases[name]), MARCH).total
              for name in ("rep_east", "rep_west", "manager_east", "leader", "agent", "steward")}
    assert totals == {"rep_east": 6, "rep_west": 1, "manager_east": 6, "leader": 7, "agent": 7, "steward": 0}


def test_the_page_and_the_report_show_the_scoped_month(client: Any, month_of_cases: dict[str, Any]) -> None:
    client.force_login(month_of_cases["rep_west"])
    response = client.get(reverse("service:analysis"), {"month": "2025-03"})
    assert response.status_code == 200
    assert response.context["summary"].total == 1 and not response.context["can_export"]
    client.force_login(month_of_cases["manager_east"])
    response = client.get(reverse("service:report"), {"month": "2025-03"})
    assert response.status_code == 200
    overview = {str(row["label"]): (row["now"], row["before"]) for row in response.context["tables"]["overview"]}
    with translation.override(response.wsgi_request.LANGUAGE_CODE):  # the label as the page wrote it
        assert overview[translation.gettext("Cases received")] == (6, 2)
    assert "2025-02" in response.content.decode()


def test_csv_export_is_for_those_who_work_cases_and_audited(client: Any, month_of_cases: dict[str, Any]) -> None:
    client.force_login(month_of_cases["rep_east"])
    assert client.get(reverse("service:analysis"), {"month": "2025-03", "format": "csv"}).status_code == 403
    client.force_login(month_of_cases["leader"])  # reads everything, works nothing
    assert client.get(reverse("service:analysis"), {"month": "2025-03", "format": "csv"}).status_code == 403
    client.force_login(month_of_cases["agent"])
    before = AuditEntry.objects.filter(action=AuditAction.EXPORT).count()
    response = client.get(reverse("service:analysis"), {"month": "2025-03", "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "B1,2" in body and "logistics,2,50.0,50.0" in body
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT).count() == before + 1


def test_pages_refuse_roles_without_the_service_desk(client: Any, month_of_cases: dict[str, Any]) -> None:
    client.force_login(month_of_cases["steward"])
    for name in ("service:analysis", "service:report"):
        assert client.get(reverse(name)).status_code == 403
    client.logout()
    assert client.get(reverse("service:analysis")).status_code == 302


@pytest.mark.parametrize("value", ["", "2025-13", "abc", "9999-01", "1999-12", "2025-03'; DROP TABLE x", "2025-00",
                                   "２０２５-03", "-1-01", "2025-3-1", "0" * 500])
def test_any_month_parameter_gives_a_page(client: Any, desk: dict[str, Any], value: str) -> None:
    client.force_login(desk["agent"])
    for name in ("service:analysis", "service:report"):
        response = client.get(reverse(name), {"month": value})
        assert response.status_code == 200, (name, value)
        assert response.context["month"] == analysis.last_full_month()
        assert response.context["understood"] is (value == "")
    assert client.get(reverse("service:analysis"), {"month": "2025-3"}).context["month"] == MARCH


def test_the_default_is_the_last_full_month() -> None:
    assert analysis.last_full_month(datetime.date(2026, 1, 15)) == Month(2025, 12)
    assert analysis.parse_month("2026-01", datetime.date(2026, 1, 1)) == (Month(2026, 1), True)
    assert analysis.parse_month("2026-02", datetime.date(2026, 1, 31)) == (Month(2025, 12), False)
    assert Month(2025, 12).next() == Month(2026, 1) and Month(2026, 1).previous() == Month(2025, 12)
    assert Month(2025, 3).back(5) == Month(2024, 10)
