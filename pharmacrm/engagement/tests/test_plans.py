"""Visit plans (seed 000 三.1): drafted from the cadence rules, edited by the rep, approved by the manager; an
approved monthly plan's visits go on the rep's calendar."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from conftest import login
from pharmacrm.core import policy
from pharmacrm.core.audit import StaleVersion, audited_update
from pharmacrm.core.models import AuditEntry
from pharmacrm.core.workflow import TransitionNotAllowed
from pharmacrm.engagement import plans, services
from pharmacrm.engagement.choices import PlanStatus, VisitStatus
from pharmacrm.engagement.models import Visit, VisitPlan, VisitPlanLine
from pharmacrm.engagement.tests.test_cadence import classify, customer
from pharmacrm.grading.models import Strategy

pytestmark = pytest.mark.django_db


def audit(model: Any) -> Any:
    return AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(model))


def lines(plan: VisitPlan) -> dict[str, VisitPlanLine]:
    return {line.institution.name: line for line in plan.lines.select_related("institution")}


@pytest.mark.parametrize(("period", "day", "start", "end"), [
    ("month", datetime.date(2027, 2, 14), datetime.date(2027, 2, 1), datetime.date(2027, 2, 28)),
    ("month", datetime.date(2027, 12, 31), datetime.date(2027, 12, 1), datetime.date(2027, 12, 31)),
    ("quarter", datetime.date(2027, 5, 1), datetime.date(2027, 4, 1), datetime.date(2027, 6, 30)),
    ("quarter", datetime.date(2027, 11, 30), datetime.date(2027, 10, 1), datetime.date(2027, 12, 31)),
    ("year", datetime.date(2028, 2, 29), datetime.date(2028, 1, 1), datetime.date(2028, 12, 31)),
])
def test_period_bounds(period: str, day: datetime.date, start: datetime.date, end: datetime.date) -> None:
    assert plans.bounds(period, day) == (start, end)


def test_a_draft_has_a_line_per_customer_with_what_the_rules_call_for(org: dict[str, Any]) -> None:
    premium, core_small, unclassed = customer(org, "优质诊所"), customer(org, "核心小诊所"), customer(org, "未分级诊所")
    classify(premium, grade="premium", size="large")   # weekly (grade), 4 contacts a month
    classify(core_small, grade="potential", depth="core", size="small")  # every 182 days (size), 3 a month (depth)
    plan = plans.draft_plan(actor=org["rep_east"], period="quarter", day=datetime.date(2027, 4, 1))
    assert (plan.starts_on, plan.ends_on, plan.status) == (datetime.date(2027, 4, 1), datetime.date(2027, 6, 30),
                                                            PlanStatus.DRAFT)
    found = lines(plan)
    assert (found["优质诊所"].rule_visits, found["优质诊所"].rule_contacts, found["优质诊所"].visits) == (13, 12, 13)
    assert (found["核心小诊所"].rule_visits, found["核心小诊所"].rule_contacts) == (1, 9)  # 91 // 182 = 0, never visited: due
    assert "7" in found["优质诊所"].rule and "4" in found["优质诊所"].rule
    assert (found["未分级诊所"].rule_visits, found["未分级诊所"].visits, found["未分级诊所"].rule) == (None, 0, "")
    assert unclassed.pk in {line.institution_id for line in plan.lines.all()}
    # the rules are data: a stricter strategy drafts more visits in the next plan
    audited_update(Strategy.objects.get(dimension="grade", klass="premium"), actor=None, changes={"visit_every_days": 3})
    month = plans.draft_plan(actor=org["rep_east"], period="month", day=datetime.date(2027, 5, 1))
    assert lines(month)["优质诊所"].rule_visits == 10  # 31 days / 3


def test_one_plan_per_rep_and_period_and_none_for_a_past_period(org: dict[str, Any]) -> None:
    plans.draft_plan(actor=org["rep_east"], period="month", day=datetime.date(2027, 3, 5))
    with pytest.raises(ValidationError) as error:
        plans.draft_plan(actor=org["rep_east"], period="month", day=datetime.date(2027, 3, 20))
    assert "day" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        plans.draft_plan(actor=org["rep_east"], period="month", day=policy.today() - datetime.timedelta(days=400))
    assert "day" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        plans.draft_plan(actor=org["rep_east"], period="fortnight", day=datetime.date(2027, 3, 5))
    assert "period" in error.value.message_dict
    # another rep's plan for the same month is theirs
    assert plans.draft_plan(actor=org["rep_west"], period="month", day=datetime.date(2027, 3, 5)).rep == org["rep_west"]
    with pytest.raises(PermissionDenied):
        plans.draft_plan(actor=org["compliance"], period="month", day=datetime.date(2027, 3, 5))


def test_editing_lines_all_or_nothing_and_a_stale_save_is_refused(org: dict[str, Any]) -> None:
    a = customer(org, "甲诊所")
    customer(org, "乙诊所")
    classify(a, grade="general")
    plan = plans.draft_plan(actor=org["rep_east"], period="month", day=datetime.date(2027, 3, 1))
    found = lines(plan)
    version = plan.version
    with pytest.raises(ValidationError) as error:
        plans.save_lines(actor=org["rep_east"], plan=plan, lines={
            found["甲诊所"].pk: (3, ""), found["乙诊所"].pk: ("lots", "")})
    assert f"line-{found['乙诊所'].pk}" in error.value.message_dict
    assert VisitPlanLine.objects.get(pk=found["甲诊所"].pk).visits == found["甲诊所"].visits == 1  # nothing written
    for bad in (-1, 367):
        with pytest.raises(ValidationError):
            plans.save_lines(actor=org["rep_east"], plan=plan, lines={found["甲诊所"].pk: (bad, "")})
    with pytest.raises(ValidationError):
        plans.save_lines(actor=org["rep_east"], plan=plan, lines={found["甲诊所"].pk: (1, "长" * 301)})
    plan = plans.save_lines(actor=org["rep_east"], plan=plan, expected_version=version,
                            lines={found["甲诊所"].pk: (2, "新产品上市"), found["乙诊所"].pk: (1, "")})
    assert (lines(plan)["甲诊所"].visits, lines(plan)["甲诊所"].note, lines(plan)["乙诊所"].visits) == (2, "新产品上市", 1)
    assert plan.version == version + 1
    with pytest.raises(StaleVersion):  # a second tab still holding the old version
        plans.save_lines(actor=org["rep_east"], plan=plan, expected_version=version,
                         lines={found["甲诊所"].pk: (5, "")})
    assert VisitPlanLine.objects.get(pk=found["甲诊所"].pk).visits == 2
    other = plans.draft_plan(actor=org["rep_west"], period="month", day=datetime.date(2027, 3, 1))
    with pytest.raises(PermissionDenied):
        plans.save_lines(actor=org["rep_west"], plan=plan, lines={})
    with pytest.raises(ValidationError):  # a line of another plan
        plans.save_lines(actor=org["rep_west"], plan=other, lines={found["甲诊所"].pk: (1, "")})
    assert audit(VisitPlanLine).filter(object_id=str(found["甲诊所"].pk)).count() >= 2


def test_below_the_rule_needs_a_reason_and_the_manager_decides(org: dict[str, Any]) -> None:
    premium = customer(org, "优质医院")
    classify(premium, grade="premium")
    plan = plans.draft_plan(actor=org["rep_east"], period="month", day=datetime.date(2027, 3, 1))
    line = lines(plan)["优质医院"]
    plans.save_lines(actor=org["rep_east"], plan=plan, lines={line.pk: (2, "")})
    with pytest.raises(ValidationError) as error:
        plans.submit_plan(actor=org["rep_east"], plan=plan)
    assert "优质医院" in error.value.message_dict["lines"][0]
    plans.save_lines(actor=org["rep_east"], plan=plan, lines={line.pk: (2, "院内装修，三月只开放两周")})
    plan = plans.submit_plan(actor=org["rep_east"], plan=VisitPlan.objects.get(pk=plan.pk))
    assert plan.status == PlanStatus.SUBMITTED
    assert org["manager_east"].notifications.filter(url=plan.get_absolute_url()).exists()
    with pytest.raises(TransitionNotAllowed):  # locked while the manager looks at it
        plans.save_lines(actor=org["rep_east"], plan=plan, lines={line.pk: (3, "")})
    with pytest.raises(PermissionDenied):  # not the rep's to approve, nor another team's manager's
        plans.approve_plan(actor=org["rep_east"], plan=plan)
    with pytest.raises(ValidationError):
        plans.return_plan(actor=org["manager_east"], plan=plan, reason=" ")
    plan = plans.return_plan(actor=org["manager_east"], plan=plan, reason="优质客户至少每周一次，请改为4次")
    assert (plan.status, plan.decided_by, plan.decision_comment) == (
        PlanStatus.RETURNED, org["manager_east"], "优质客户至少每周一次，请改为4次")
    assert org["rep_east"].notifications.filter(url=plan.get_absolute_url()).exists()
    plans.save_lines(actor=org["rep_east"], plan=plan, lines={line.pk: (4, "")})
    assert line.rule_visits == 4
    plan = plans.submit_plan(actor=org["rep_east"], plan=VisitPlan.objects.get(pk=plan.pk))
    plan, _scheduled = plans.approve_plan(actor=org["manager_east"], plan=plan, comment="同意")
    assert plan.status == PlanStatus.APPROVED


def test_an_empty_plan_is_not_submitted(org: dict[str, Any]) -> None:
    customer(org, "未分级诊所")
    plan = plans.draft_plan(actor=org["rep_east"], period="month", day=datetime.date(2027, 3, 1))
    with pytest.raises(ValidationError) as error:
        plans.submit_plan(actor=org["rep_east"], plan=plan)
    assert "lines" in error.value.message_dict


def test_an_approved_monthly_plan_puts_its_visits_on_the_calendar_once(org: dict[str, Any]) -> None:
    a, b = customer(org, "甲医院"), customer(org, "乙医院")
    classify(a, grade="premium")
    plan = plans.draft_plan(actor=org["rep_east"], period="month", day=datetime.date(2027, 3, 1))
    found = lines(plan)
    plans.save_lines(actor=org["rep_east"], plan=plan, lines={found["乙医院"].pk: (2, "新品介绍")})
    # the rep already has one visit of 甲医院 in March: the plan adds the rest
    services.plan_visit(actor=org["rep_east"], institution=a, goal="已约",
                        planned_for=datetime.datetime(2027, 3, 3, 10, tzinfo=policy.CHINA))
    plan = plans.submit_plan(actor=org["rep_east"], plan=VisitPlan.objects.get(pk=plan.pk))
    plan, scheduled = plans.approve_plan(actor=org["manager_east"], plan=plan)
    march = Visit.objects.filter(rep=org["rep_east"], planned_for__year=2027, planned_for__month=3)
    assert scheduled == (4 - 1) + 2  # 31 days weekly → 4, less the one already planned; 2 for 乙医院
    assert march.filter(institution=a).count() == 4 and march.filter(institution=b).count() == 2
    planned = march.filter(trigger__startswith="plan:")
    days = [timezone.localtime(visit.planned_for, policy.CHINA).date() for visit in planned]
    from pharmacrm.core import workcalendar

    assert all(workcalendar.is_working_day(day) for day in days)
    assert all(visit.status == VisitStatus.PLANNED and visit.rep == org["rep_east"] for visit in planned)
    assert set(planned.filter(institution=b).values_list("content", flat=True)) == {"新品介绍"}
    assert len(set(days)) > 1  # spread over the month, not piled on one day
    assert audit(Visit).filter(object_id__in=[str(visit.pk) for visit in planned]).count() == planned.count()


def test_a_quarterly_plan_schedules_nothing_and_attainment_counts_done_visits(org: dict[str, Any]) -> None:
    a = customer(org, "甲医院")
    classify(a, grade="general")
    today = policy.today()
    plan = plans.draft_plan(actor=org["rep_east"], period="quarter", day=today)
    plan = plans.submit_plan(actor=org["rep_east"], plan=plan)
    before = Visit.objects.count()
    plan, scheduled = plans.approve_plan(actor=org["manager_east"], plan=plan)
    assert scheduled == 0 and Visit.objects.count() == before
    visit = services.plan_visit(actor=org["rep_east"], institution=a, goal="回访",
                                planned_for=timezone.now() - datetime.timedelta(minutes=5))
    services.save_report(actor=org["rep_east"], visit=visit, channel="phone", key_messages="要点")
    services.submit_report(actor=org["rep_east"], visit=Visit.objects.get(pk=visit.pk))
    services.plan_visit(actor=org["rep_east"], institution=a, goal="还没去",
                        planned_for=timezone.now() + datetime.timedelta(hours=1))
    assert plans.done_visits(plan, plan.lines.all()) == {a.pk: 1}


def test_adding_a_customer_to_the_plan(org: dict[str, Any]) -> None:
    plan = plans.draft_plan(actor=org["rep_east"], period="month", day=datetime.date(2027, 3, 1))
    a = customer(org, "新客户")
    line = plans.add_line(actor=org["rep_east"], plan=plan, institution=a, visits=2, note="首次拜访")
    assert (line.visits, line.note) == (2, "首次拜访")
    with pytest.raises(ValidationError):
        plans.add_line(actor=org["rep_east"], plan=plan, institution=a)
    from pharmacrm.customers import services as customers
    from pharmacrm.org.models import Division

    west = customers.create_institution(actor=org["steward"], name="成都医院", kind="clinic", status="active",
                                        division=Division.objects.get(pk="510107"), owner=org["rep_west"])
    with pytest.raises(ValidationError) as error:  # not in the rep's scope
        plans.add_line(actor=org["rep_east"], plan=plan, institution=west)
    assert "institution" in error.value.message_dict


def test_plans_are_scoped_by_rep(org: dict[str, Any]) -> None:
    east = plans.draft_plan(actor=org["rep_east"], period="month", day=datetime.date(2027, 3, 1))
    west = plans.draft_plan(actor=org["rep_west"], period="month", day=datetime.date(2027, 3, 1))
    visible = {name: set(VisitPlan.objects.visible_to(org[name]).values_list("pk", flat=True))
               for name in ("rep_east", "rep_west", "manager_east", "regional_east", "leader", "steward")}
    assert visible["rep_east"] == {east.pk} and visible["rep_west"] == {west.pk}
    assert visible["manager_east"] == {east.pk} and visible["regional_east"] == {east.pk}
    assert visible["leader"] == {east.pk, west.pk}
    assert visible["steward"] == set()
    assert not VisitPlanLine.objects.visible_to(org["rep_west"]).filter(plan=east).exists()
    with pytest.raises(PermissionDenied):  # another team's manager
        plans.approve_plan(actor=org["manager_east"], plan=west)


# --- pages and API -------------------------------------------------------------------------------------------


def test_draft_edit_submit_and_approve_through_the_pages(client: Any, org: dict[str, Any]) -> None:
    premium = customer(org, "优质医院")
    classify(premium, grade="premium")
    login(client, org["rep_east"])
    page = client.get(reverse("engagement:plan_list"))
    assert page.status_code == 200 and b'id="plan-new"' in page.content
    day = policy.today().replace(day=1) + datetime.timedelta(days=40)
    response = client.post(reverse("engagement:plan_create"), {"period": "month", "day": day.isoformat()})
    plan = VisitPlan.objects.get(rep=org["rep_east"])
    assert response.status_code == 302 and response.url == plan.get_absolute_url()
    line = plan.lines.get(institution=premium)
    page = client.get(plan.get_absolute_url())
    assert f'name="visits-{line.pk}"'.encode() in page.content and "优质医院".encode() in page.content
    # below the rule without a reason: refused with the customer named, nothing changes state
    response = client.post(plan.get_absolute_url(), {"action": "submit", "version": plan.version,
                                                     f"visits-{line.pk}": "1", f"note-{line.pk}": ""})
    assert response.status_code == 400 and "优质医院".encode() in response.content
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT
    response = client.post(plan.get_absolute_url(), {"action": "save", "version": plan.version,
                                                     f"visits-{line.pk}": "x"})
    assert response.status_code == 400 and b"is-invalid" in response.content
    response = client.post(plan.get_absolute_url(), {"action": "submit", "version": plan.version,
                                                     f"visits-{line.pk}": "2", f"note-{line.pk}": "科室搬迁"})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUBMITTED and plan.lines.get(pk=line.pk).note == "科室搬迁"
    page = client.get(plan.get_absolute_url())
    assert f'name="visits-{line.pk}"'.encode() not in page.content  # locked
    login(client, org["rep_west"])
    assert client.get(plan.get_absolute_url()).status_code == 404
    login(client, org["manager_east"])
    assert b'btn-warning" href="?status=submitted"' in client.get(reverse("engagement:plan_list")).content
    page = client.get(plan.get_absolute_url())
    assert b'id="plan-approve"' in page.content
    response = client.post(plan.get_absolute_url(), {"action": "approve", "comment": "同意"})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED
    assert Visit.objects.filter(rep=org["rep_east"], institution=premium, trigger__startswith="plan:").count() == 2


def test_plans_through_the_api(api_client: Any, org: dict[str, Any]) -> None:
    premium = customer(org, "优质医院")
    classify(premium, grade="premium")
    api_client.force_authenticate(org["rep_east"])
    for bad in ({}, {"period": "week", "day": "2027-03-01"}, {"period": "month", "day": "soon"},
                {"period": ["month"], "day": 5}):
        response = api_client.post("/api/v1/visit-plans/", bad, format="json")
        assert response.status_code == 400, bad
    assert not VisitPlan.objects.exists()
    response = api_client.post("/api/v1/visit-plans/", {"period": "month", "day": "2027-03-09"}, format="json")
    assert response.status_code == 201, response.data
    plan_id, version = response.data["id"], response.data["version"]
    line = next(line for line in response.data["lines"] if line["institution"] == premium.pk)
    assert (line["rule_visits"], line["visits"], line["below_rule"]) == (4, 4, False)
    url = f"/api/v1/visit-plans/{plan_id}/"
    for bad in ({"lines": [{"id": line["id"], "visits": -1}]}, {"lines": [{"id": line["id"], "visits": "many"}]},
                {"lines": [{"id": 999_999, "visits": 1}]}, {"lines": "all"}):
        response = api_client.post(f"{url}lines/", bad, format="json")
        assert response.status_code == 400, bad
    response = api_client.post(f"{url}lines/", {"lines": [{"id": line["id"], "visits": 3, "note": "装修"}]},
                               format="json", HTTP_IF_MATCH=f'"{version}"')
    assert response.status_code == 200 and response.data["version"] == version + 1
    response = api_client.post(f"{url}lines/", {"lines": [{"id": line["id"], "visits": 2}]}, format="json",
                               HTTP_IF_MATCH=f'"{version}"')
    assert response.status_code in (409, 412)
    response = api_client.post(f"{url}add-line/", {"institution": org["institution_west"].pk}, format="json")
    assert response.status_code == 400 and "institution" in response.data["error"]["fields"]
    assert api_client.post(f"{url}submit/", format="json").status_code == 200
    assert api_client.post(f"{url}approve/", {}, format="json").status_code == 403  # not their own
    api_client.force_authenticate(org["rep_west"])
    assert api_client.get(url).status_code == 404
    assert api_client.get("/api/v1/visit-plans/").data["results"] == []
    api_client.force_authenticate(org["manager_east"])
    assert api_client.post(f"{url}return/", {"reason": ""}, format="json").status_code == 400
    response = api_client.post(f"{url}return/", {"reason": "请按规则排满"}, format="json")
    assert response.status_code == 200 and response.data["status"] == PlanStatus.RETURNED
    assert api_client.post(f"{url}approve/", {}, format="json").status_code == 409  # returned, not submitted
