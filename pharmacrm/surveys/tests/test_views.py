"""Survey pages: who may open them, the launch shows the links once, a link is made to send, CSV with the export
right, and the public link answered from the page."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from conftest import login
from pharmacrm.core.policy import today
from pharmacrm.surveys import services
from pharmacrm.surveys.models import SurveyCampaign, SurveyInvitation, SurveyResponse
from pharmacrm.surveys.tests.conftest import close_case

pytestmark = pytest.mark.django_db

PAGES = ("/surveys/", "/surveys/campaigns/", "/surveys/question-sets/", "/surveys/invitations/",
         "/surveys/responses/")


def test_pages_open_for_roles_that_read_surveys_and_not_for_others(client: Client, survey: dict[str, Any]) -> None:
    close_case(survey, survey["doctor_east"])
    for name in ("rep_east", "manager_east", "leader", "agent", "marketing"):
        login(client, survey[name])
        for page in PAGES:
            assert client.get(page).status_code == 200, (name, page)
    login(client, survey["steward"])
    for page in PAGES:
        assert client.get(page).status_code == 403, page
    login(client, survey["rep_east"])
    assert client.get("/surveys/campaigns/new/").status_code == 403
    assert client.get("/surveys/question-sets/new/").status_code == 403


def test_marketing_creates_and_launches_a_campaign_and_sees_the_links_once(client: Client,
                                                                           survey: dict[str, Any]) -> None:
    login(client, survey["marketing"])
    response = client.post("/surveys/question-sets/new/", {
        "name": "年度调查", "questions": "csat: 总体满意度\nnps: 推荐意愿\ntext: 建议", "active": "on"})
    assert response.status_code == 302
    bad = client.post("/surveys/question-sets/new/", {"name": "坏", "questions": "stars: ?"})
    assert bad.status_code == 400
    question_set = services.QuestionSet.objects.get(name="年度调查")
    response = client.post("/surveys/campaigns/new/", {
        "name": "2026 年度", "question_set": question_set.pk, "audience": "all", "channel": "wechat",
        "opens_on": today().isoformat(), "closes_on": (today() + datetime.timedelta(days=30)).isoformat()})
    campaign = SurveyCampaign.objects.get()
    assert response.status_code == 302 and response["Location"] == campaign.get_absolute_url()
    assert client.post("/surveys/campaigns/new/", {"name": "x", "question_set": question_set.pk,
                                                   "audience": "grade:gold", "channel": "wechat",
                                                   "opens_on": "2026-13-01", "closes_on": "x"}).status_code == 400
    assert "launch" in client.get(campaign.get_absolute_url()).content.decode()
    launched = client.post(f"/surveys/campaigns/{campaign.pk}/launch/")
    html = launched.content.decode()
    assert launched.status_code == 200 and html.count("/s/") == 2  # the two consenting doctors
    hashes = set(SurveyInvitation.objects.values_list("token_hash", flat=True))
    tokens = [part.split("/")[0] for part in html.split("/s/")[1:]]
    assert {services.digest(token) for token in tokens} == hashes
    detail = client.get(campaign.get_absolute_url()).content.decode()
    assert not any(token in detail for token in tokens)  # never shown again


def test_an_agent_makes_the_link_and_the_contact_answers_it(client: Client, survey: dict[str, Any]) -> None:
    cache.clear()
    invitation = SurveyInvitation.objects.get(case=close_case(survey, survey["doctor_east"]))
    login(client, survey["rep_west"])
    assert client.post(f"/surveys/invitations/{invitation.pk}/link/").status_code == 404  # not their customer
    login(client, survey["agent"])
    page = client.post(f"/surveys/invitations/{invitation.pk}/link/")
    assert page.status_code == 200
    link = page.content.decode().split('id="survey-link"')[0].rsplit('value="', 1)[1].split('"')[0]
    public = Client()
    assert public.post(link.replace("http://testserver", ""), {"csat": "1", "nps": "2", "text1": "太慢"}).status_code == 200
    response = SurveyResponse.objects.get()
    assert response.follow_up_case is not None
    html = client.get("/surveys/").content.decode()
    assert response.follow_up_case.number in html and 'id="by-region"' in html


def test_results_export_needs_the_export_right(client: Client, survey: dict[str, Any]) -> None:
    close_case(survey, survey["doctor_east"])
    login(client, survey["rep_east"])
    assert client.get("/surveys/?format=csv&by=region").status_code == 403
    assert client.get("/surveys/responses/?format=csv").status_code == 403
    login(client, survey["manager_east"])
    export = client.get("/surveys/?format=csv&by=region")
    assert export.status_code == 200
    body = b"".join(export.streaming_content).decode("utf-8-sig")
    assert "上海市" in body
    assert client.get("/surveys/responses/?format=csv").status_code == 200
