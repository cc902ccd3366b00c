"""Cadence (seed 000 三.4, seed 002 五): the strictest rule of a customer's classes, its last visit and this month's
contacts; the rep's Today page; the cadence page per rep."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import login
from pharmacrm.core import policy
from pharmacrm.core.policy import today
from pharmacrm.customers import services as customers
from pharmacrm.engagement import cadence, services
from pharmacrm.grading.models import Classification

pytestmark = pytest.mark.django_db


def classify(institution: Any, *, grade: str = "general", depth: str = "unknown", size: str = "small",
             tenure: str = "short") -> None:
    """A class row as a grading run leaves it (only the classes matter here)."""
    Classification.objects.filter(institution=institution).exists() or Classification.objects.create(
        institution=institution, run_id=1, as_of=today(), amount_12_fen=0, amount_prev_12_fen=0, lines_12=0,
        credit="B", volume_percentile=0, s_volume=0, s_growth=0, s_frequency=0, s_recency=0, s_tenure=0, s_credit=0,
        s_influence=0, grade=grade, depth=depth, size=size, tenure=tenure, grade_score=0, ka_score=0,
        size_rule_id=1, tenure_rule_id=1, depth_rule_id=1, grade_rule_id=1, ka_rule_id=1)


def visited(org: dict[str, Any], institution: Any, days_ago: int, *, submit: bool = True) -> Any:
    visit = services.plan_visit(actor=org["rep_east"], institution=institution,
                                planned_for=timezone.now() - datetime.timedelta(days=days_ago), goal="回访")
    visit = services.save_report(actor=org["rep_east"], visit=visit, channel="phone", key_messages="要点")
    return services.submit_report(actor=org["rep_east"], visit=visit) if submit else visit


def customer(org: dict[str, Any], name: str) -> Any:
    from pharmacrm.org.models import Division

    return customers.create_institution(actor=org["steward"], name=name, kind="clinic", status="active",
                                        division=Division.objects.get(pk="310104"), owner=org["rep_east"])


def rows(org: dict[str, Any]) -> dict[str, cadence.Row]:
    return {row.institution.name: row for row in cadence.rows_for(cadence.book_of(org["rep_east"]))}


def test_the_strictest_rule_of_the_classes_wins(org: dict[str, Any]) -> None:
    premium, core_small = customer(org, "优质诊所"), customer(org, "核心小诊所")
    customer(org, "未分级诊所")
    classify(premium, grade="premium", size="large")   # weekly (grade) beats monthly (size); 4 a month
    classify(core_small, grade="potential", depth="core", size="small")  # half-yearly (size); 3 a month (depth)
    found = rows(org)
    assert (found["优质诊所"].every_days, found["优质诊所"].contacts_per_month) == (7, 4)
    assert (found["核心小诊所"].every_days, found["核心小诊所"].contacts_per_month) == (182, 3)
    assert (found["未分级诊所"].every_days, found["未分级诊所"].contacts_per_month) == (None, None)
    assert not found["未分级诊所"].below  # nothing asked, nothing missing


def test_overdue_and_short_of_contacts(org: dict[str, Any]) -> None:
    weekly, fresh = customer(org, "每周客户"), customer(org, "刚拜访客户")
    classify(weekly, grade="premium")
    classify(fresh, grade="premium")
    visited(org, weekly, days_ago=8)
    visited(org, fresh, days_ago=0)
    services.log_communication(actor=org["rep_east"], institution=fresh, channel="phone", summary="电话")
    found = rows(org)
    assert found["每周客户"].last_visit == today() - datetime.timedelta(days=8)
    assert found["每周客户"].overdue and found["每周客户"].days_overdue == 1
    assert not found["刚拜访客户"].overdue and found["刚拜访客户"].due_on == today() + datetime.timedelta(days=7)
    assert found["刚拜访客户"].contacts == 2 and found["刚拜访客户"].short_by == 2  # 4 a month for 优质
    summary = cadence.summarize(found.values())
    assert summary.overdue >= 1 and summary.required >= 8


def test_a_planned_or_cancelled_visit_is_not_contact(org: dict[str, Any]) -> None:
    planned = customer(org, "只计划过的客户")
    classify(planned, grade="general")
    services.plan_visit(actor=org["rep_east"], institution=planned, planned_for=timezone.now(), goal="计划")
    row = rows(org)["只计划过的客户"]
    assert row.last_visit is None and row.overdue and row.contacts == 0


def test_today_lists_visits_follow_ups_and_customers_below_cadence(client: Any, org: dict[str, Any]) -> None:
    behind = customer(org, "落后的客户")
    classify(behind, grade="premium")
    services.plan_visit(actor=org["rep_east"], institution=org["institution_east"], planned_for=timezone.now(),
                        goal="今天的拜访")
    services.raise_follow_up(actor=org["rep_east"], institution=org["institution_east"], title="补寄资料",
                             due_on=today())
    login(client, org["rep_east"])
    page = client.get(reverse("engagement:today")).content.decode()
    assert "今天的拜访" in page and "补寄资料" in page and "落后的客户" in page
    login(client, org["rep_west"])  # another rep's day shows none of it
    page = client.get(reverse("engagement:today")).content.decode()
    assert "今天的拜访" not in page and "补寄资料" not in page and "落后的客户" not in page


def test_the_cadence_page_summarizes_the_team_and_lists_a_reps_customers(client: Any, org: dict[str, Any]) -> None:
    behind = customer(org, "落后的客户")
    classify(behind, grade="premium")
    login(client, org["manager_east"])
    page = client.get(reverse("engagement:cadence")).content.decode()
    assert "rep_east" in page and "rep_west" not in page  # the team's reps only
    page = client.get(f"{reverse('engagement:cadence')}?rep={org['rep_east'].pk}").content.decode()
    assert "落后的客户" in page
    page = client.get(f"{reverse('engagement:cadence')}?rep={org['rep_west'].pk}").content.decode()
    assert "落后的客户" not in page  # not in scope: nobody chosen
    login(client, org["rep_west"])
    assert "落后的客户" not in client.get(f"{reverse('engagement:cadence')}?rep={org['rep_east'].pk}").content.decode()


def test_the_nightly_table_says_what_the_live_cadence_says_for_every_customer(org: dict[str, Any]) -> None:
    from pharmacrm.customers.models import Institution
    from pharmacrm.engagement.models import CadenceStatus

    weekly, fresh, core, never = (customer(org, name) for name in ("每周客户", "刚拜访客户", "核心客户", "从未拜访"))
    classify(weekly, grade="premium")
    classify(fresh, grade="premium", size="large")
    classify(core, grade="potential", depth="core", size="small")
    classify(never, grade="general")
    visited(org, weekly, days_ago=8)
    visited(org, fresh, days_ago=0)
    visited(org, core, days_ago=1)
    services.log_communication(actor=org["rep_east"], institution=fresh, channel="phone", summary="电话")
    services.log_communication(actor=org["rep_east"], institution=core, channel="wechat", summary="微信")
    # an old communication does not count this month; a planned visit is not contact
    services.log_communication(actor=org["rep_east"], institution=weekly, channel="phone", summary="上月电话",
                               occurred_at=timezone.now() - datetime.timedelta(days=40))
    services.plan_visit(actor=org["rep_east"], institution=never, planned_for=timezone.now(), goal="计划")
    assert cadence.compute_all() == Institution.objects.live().count()
    stored = {status.institution_id: status for status in CadenceStatus.objects.all()}
    live = cadence.rows_for(Institution.objects.live())
    assert len(live) == len(stored) >= 6
    for row in live:
        status = stored[row.institution.pk]
        last = timezone.localtime(status.last_visit_at, policy.CHINA).date() if status.last_visit_at else None
        assert (status.every_days, status.contacts_per_month, last, status.contacts, status.overdue,
                status.short_by) == (row.every_days, row.contacts_per_month, row.last_visit, row.contacts,
                                     row.overdue, row.short_by), row.institution.name
    assert stored[weekly.pk].overdue and not stored[fresh.pk].overdue and stored[never.pk].overdue
    assert stored[core.pk].short_by == 1  # 3 a month (core), a visit and a message so far
    # the next night rewrites the table whole: a customer merged away since drops out
    assert cadence.compute_all(today() + datetime.timedelta(days=1)) == len(stored)
    assert set(CadenceStatus.objects.values_list("as_of", flat=True)) == {today() + datetime.timedelta(days=1)}


def test_the_nightly_table_is_scoped_with_the_customer(org: dict[str, Any]) -> None:
    from pharmacrm.engagement.models import CadenceStatus

    cadence.compute_all()
    visible = {name: set(CadenceStatus.objects.visible_to(org[name]).values_list("institution_id", flat=True))
               for name in ("rep_east", "rep_west", "leader", "steward")}
    assert org["institution_east"].pk in visible["rep_east"] and org["institution_west"].pk not in visible["rep_east"]
    assert org["institution_west"].pk in visible["rep_west"] and org["institution_east"].pk not in visible["rep_west"]
    assert {org["institution_east"].pk, org["institution_west"].pk} <= visible["leader"]
    assert visible["steward"] == set()  # no right to read visits


def test_head_office_sees_the_nightly_overview_by_province_and_rep(client: Any, org: dict[str, Any]) -> None:
    behind = customer(org, "落后的客户")
    classify(behind, grade="premium")
    login(client, org["leader"])
    page = client.get(reverse("engagement:cadence")).content.decode()
    assert 'id="cadence-overview"' in page and 'id="cadence-provinces"' not in page  # nothing computed yet
    cadence.compute_all()
    page = client.get(reverse("engagement:cadence")).content.decode()
    assert 'id="cadence-provinces"' in page and "上海" in page and "rep_east" in page
    summary = cadence.overview(org["leader"])
    shanghai = next(row for row in summary.provinces if row["province_code"] == "310000")
    assert shanghai["overdue"] >= 1 and summary.total["customers"] >= 3
    assert cadence.overview(org["rep_west"]).total["customers"] == 1  # a rep's overview is their own book
