"""Engagement pages and API: the journey through the pages, bad input as field messages, scope as 404."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import login
from pharmacrm.customers import services as customers
from pharmacrm.engagement import services
from pharmacrm.engagement.choices import TaskStatus, VisitStatus
from pharmacrm.engagement.models import Communication, FollowUp, Visit

pytestmark = pytest.mark.django_db

WHEN = (timezone.localtime() + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def doctor(org: dict[str, Any]) -> Any:
    return customers.create_contact(actor=org["steward"], institution=org["institution_east"], name="王医生")


def test_plan_check_in_report_submit_and_review_through_the_pages(client: Any, org: dict[str, Any],
                                                                 doctor: Any) -> None:
    login(client, org["rep_east"])
    page = client.get(org["institution_east"].get_absolute_url())
    plan_url = f"{reverse('engagement:visit_create')}?institution={org['institution_east'].pk}"
    assert plan_url.encode() in page.content.replace(b"&amp;", b"&")  # "Plan a visit" on the customer page
    response = client.post(plan_url, {"planned_for": WHEN, "goal": "介绍新适应症", "contacts": [doctor.pk],
                                      "content": "产品手册", "kind": "routine"})
    visit = Visit.objects.get()
    assert response.status_code == 302 and response.url == visit.get_absolute_url()
    page = client.get(visit.get_absolute_url())
    assert "产品手册".encode() in page.content and b'name="latitude"' in page.content
    client.post(reverse("engagement:visit_check_in", args=[visit.pk]), {"latitude": "31.2304",
                                                                         "longitude": "121.4737", "accuracy": "20"})
    visit.refresh_from_db()
    assert visit.status == VisitStatus.IN_PROGRESS
    report = {"channel": "face_to_face", "contacts": [doctor.pk], "key_messages": "三期数据", "feedback": "关注医保",
              "problems": "药房缺货\n", "version": visit.version, "submit": "1"}
    response = client.post(reverse("engagement:visit_report", args=[visit.pk]), report)
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == VisitStatus.SUBMITTED and FollowUp.objects.get().title == "药房缺货"
    assert list(visit.contacts_met.all()) == [doctor]
    login(client, org["manager_east"])
    assert b'href="?status=submitted"' in client.get(reverse("engagement:visit_list")).content  # 1 to review
    response = client.post(reverse("engagement:visit_review", args=[visit.pk]), {"comment": "很好"})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == VisitStatus.REVIEWED and visit.review_comment == "很好"
    # the customer's timeline shows the visit and the follow-up
    timeline = client.get(org["institution_east"].get_absolute_url()).content.decode()
    assert "介绍新适应症" in timeline and "药房缺货" in timeline


def test_bad_input_is_a_field_message_and_writes_nothing(client: Any, org: dict[str, Any]) -> None:
    login(client, org["rep_east"])
    plan_url = f"{reverse('engagement:visit_create')}?institution={org['institution_east'].pk}"
    for data in ({"planned_for": "", "goal": "x"}, {"planned_for": "not a date", "goal": "x"},
                 {"planned_for": WHEN, "goal": "长" * 301}, {"planned_for": WHEN, "goal": "x", "contacts": ["abc"]},
                 {"planned_for": WHEN, "goal": "\x00"}):
        response = client.post(plan_url, {"kind": "routine", **data})
        assert response.status_code == 400, data
        assert b"invalid-feedback" in response.content or b"is-invalid" in response.content
    gbk = "门诊部".encode("gbk")
    response = client.post(plan_url, {"planned_for": WHEN, "goal": gbk, "kind": "routine"})
    assert response.status_code in (302, 400)
    visit = services.plan_visit(actor=org["rep_east"], institution=org["institution_east"],
                                planned_for=timezone.now(), goal="电话")
    response = client.post(reverse("engagement:visit_report", args=[visit.pk]),
                           {"channel": "", "version": visit.version, "submit": "1"})
    assert response.status_code == 400 and Visit.objects.get(pk=visit.pk).status == VisitStatus.PLANNED
    response = client.post(reverse("engagement:visit_report", args=[visit.pk]),
                           {"channel": "phone", "key_messages": "x", "version": visit.version - 1})
    assert response.status_code == 409 and Visit.objects.get(pk=visit.pk).key_messages == ""
    response = client.post(reverse("engagement:visit_check_in", args=[visit.pk]), {"latitude": "999"})
    assert response.status_code == 302 and Visit.objects.get(pk=visit.pk).checked_in_at is None


def test_other_reps_visits_and_customers_are_not_found(client: Any, org: dict[str, Any]) -> None:
    visit = services.plan_visit(actor=org["rep_east"], institution=org["institution_east"],
                                planned_for=timezone.now(), goal="东区的秘密拜访")
    login(client, org["rep_west"])
    assert client.get(visit.get_absolute_url()).status_code == 404
    assert client.post(reverse("engagement:visit_check_in", args=[visit.pk]),
                       {"latitude": "1", "longitude": "1"}).status_code == 404
    assert client.get(f"{reverse('engagement:visit_create')}?institution={org['institution_east'].pk}").status_code == 404
    assert client.get(f"{reverse('engagement:communication_create')}?institution=abc").status_code == 404
    assert "东区的秘密拜访" not in client.get(reverse("engagement:visit_list")).content.decode()
    login(client, org["steward"])  # no engagement rights
    assert client.get(reverse("engagement:visit_list")).status_code == 403


def test_log_a_contact_and_close_a_follow_up_through_the_pages(client: Any, org: dict[str, Any],
                                                              doctor: Any) -> None:
    login(client, org["rep_east"])
    url = f"{reverse('engagement:communication_create')}?institution={org['institution_east'].pk}"
    assert client.get(url).status_code == 200
    response = client.post(url, {"channel": "wechat", "direction": "inbound", "contact": doctor.pk,
                                 "summary": "询问说明书"})
    assert response.status_code == 302
    assert Communication.objects.get().contact == doctor
    assert client.post(url, {"channel": "wechat", "direction": "inbound", "summary": ""}).status_code == 400
    assert "询问说明书" in client.get(reverse("engagement:communication_list")).content.decode()
    task = services.raise_follow_up(actor=org["rep_east"], institution=org["institution_east"], title="补寄说明书",
                                    due_on=datetime.date.today() + datetime.timedelta(days=2))
    assert "补寄说明书" in client.get(reverse("engagement:followup_list")).content.decode()
    assert client.post(reverse("engagement:followup_close", args=[task.pk]), {"outcome": ""}).status_code == 400
    response = client.post(reverse("engagement:followup_close", args=[task.pk]),
                           {"outcome": "已寄出", "customer_informed": "on"})
    assert response.status_code == 302 and FollowUp.objects.get().status == TaskStatus.DONE


def test_the_flagged_list_shows_compliance_the_notes(client: Any, org: dict[str, Any]) -> None:
    services.log_communication(actor=org["rep_east"], institution=org["institution_east"], channel="phone",
                               summary="对方问带金的事")
    login(client, org["compliance"])
    page = client.get(reverse("engagement:flagged_list")).content.decode()
    assert "带金" in page


# --- API -------------------------------------------------------------------------------------------------------


def fields(response: Any) -> dict[str, Any]:
    return response.data["error"]["fields"]


def test_the_api_plans_reports_submits_and_reviews(api_client: Any, org: dict[str, Any], doctor: Any) -> None:
    api_client.force_authenticate(org["rep_east"])
    response = api_client.post("/api/v1/visits/", {"institution": org["institution_east"].pk,
                                                   "planned_for": timezone.now().isoformat(), "goal": "拜访",
                                                   "contacts": [doctor.pk]}, format="json")
    assert response.status_code == 201, response.content
    pk, version = response.data["id"], response.data["version"]
    response = api_client.post(f"/api/v1/visits/{pk}/check-in/", {"latitude": "31.23", "longitude": "121.47"},
                               format="json")
    assert response.status_code == 200 and response.data["status"] == "in_progress"
    version = response.data["version"]
    response = api_client.post(f"/api/v1/visits/{pk}/report/", {"channel": "phone", "key_messages": "要点"},
                               format="json", HTTP_IF_MATCH=f'"{version - 1}"')
    assert response.status_code in (409, 412)
    response = api_client.post(f"/api/v1/visits/{pk}/report/", {"channel": "phone", "key_messages": "要点",
                                                                "contacts": [doctor.pk]},
                               format="json", HTTP_IF_MATCH=f'"{version}"')
    assert response.status_code == 200 and response.data["contacts_met"] == [doctor.pk]
    response = api_client.post(f"/api/v1/visits/{pk}/submit/", {"problems": [{"title": "缺货"}]}, format="json")
    assert response.status_code == 200 and response.data["status"] == "submitted"
    assert api_client.get("/api/v1/tasks/").data["results"][0]["title"] == "缺货"
    response = api_client.post(f"/api/v1/visits/{pk}/report/", {"key_messages": "改"}, format="json")
    assert response.status_code == 409  # locked
    api_client.force_authenticate(org["manager_east"])
    response = api_client.post(f"/api/v1/visits/{pk}/review/", {"comment": "好"}, format="json")
    assert response.status_code == 200 and response.data["status"] == "reviewed"


def test_the_api_refuses_bad_input_by_field_and_hides_other_reps_rows(api_client: Any, org: dict[str, Any]) -> None:
    api_client.force_authenticate(org["rep_east"])
    response = api_client.post("/api/v1/visits/", {"institution": org["institution_west"].pk,
                                                   "planned_for": timezone.now().isoformat(), "goal": "x"},
                               format="json")
    assert response.status_code == 400 and "institution" in fields(response)
    response = api_client.post("/api/v1/visits/", {"institution": "abc", "planned_for": 5, "goal": ""},
                               format="json")
    assert response.status_code == 400 and {"institution", "planned_for", "goal"} <= set(fields(response))
    response = api_client.post("/api/v1/communications/", {"institution": org["institution_east"].pk,
                                                           "channel": "phone", "summary": "x" * 5000}, format="json")
    assert response.status_code == 400 and "summary" in fields(response)
    response = api_client.post("/api/v1/communications/", {"institution": org["institution_east"].pk,
                                                           "channel": "phone", "summary": "回访"}, format="json")
    assert response.status_code == 201
    visit = services.plan_visit(actor=org["rep_east"], institution=org["institution_east"],
                                planned_for=timezone.now(), goal="拜访")
    api_client.force_authenticate(org["rep_west"])
    assert api_client.get(f"/api/v1/visits/{visit.pk}/").status_code == 404
    assert api_client.get("/api/v1/visits/").data["results"] == []
    assert api_client.get("/api/v1/communications/").data["results"] == []
    response = api_client.post(f"/api/v1/visits/{visit.pk}/check-in/", {"latitude": 1, "longitude": 1},
                               format="json")
    assert response.status_code == 404
    api_client.force_authenticate(org["steward"])
    assert api_client.get("/api/v1/visits/").status_code == 403
