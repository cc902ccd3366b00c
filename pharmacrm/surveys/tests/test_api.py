"""Surveys API: field-level 400s (never 500), launch returns the links once, responses scoped to the customer."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from pharmacrm.core.policy import today
from pharmacrm.surveys import services
from pharmacrm.surveys.models import SurveyInvitation
from pharmacrm.surveys.tests.conftest import close_case

pytestmark = pytest.mark.django_db


def _fields(response: Any) -> set[str]:
    return set(response.json()["error"]["fields"])


def test_question_sets_and_campaigns_refuse_bad_input_field_by_field(api_client: Any, survey: dict[str, Any]) -> None:
    api_client.force_authenticate(survey["marketing"])
    url = "/api/v1/surveys/question-sets/"
    for payload, field in (({"name": "x", "questions": []}, "questions"),
                           ({"name": "x", "questions": [{"kind": "stars", "text": "?"}]}, "questions"),
                           ({"name": "x", "questions": "csat"}, "questions"),
                           ({"name": "", "questions": [{"kind": "csat", "text": "?"}]}, "name"),
                           ({"name": "x", "questions": [{"kind": "csat", "text": "a"}, {"kind": "csat", "text": "b"}]},
                            "questions")):
        response = api_client.post(url, payload, format="json")
        assert response.status_code == 400 and field in _fields(response), payload
    created = api_client.post(url, {"name": "季度", "questions": [{"kind": "csat", "text": "满意吗"},
                                                                 {"kind": "nps", "text": "推荐吗"}]}, format="json")
    assert created.status_code == 201
    question_set = created.json()["id"]
    campaigns = "/api/v1/surveys/campaigns/"
    good = {"name": "季度重点客户", "question_set": question_set, "audience": "all", "channel": "wechat",
            "opens_on": today().isoformat(), "closes_on": (today() + datetime.timedelta(days=90)).isoformat()}
    for bad, field in (({"audience": "vip"}, "audience"), ({"audience": "grade", "klass": "gold"}, "klass"),
                       ({"channel": "fax"}, "channel"), ({"opens_on": "2026-02-30"}, "opens_on"),
                       ({"question_set": 999999}, "question_set"), ({"question_set": "abc"}, "question_set"),
                       ({"closes_on": "2000-01-01"}, "closes_on")):
        response = api_client.post(campaigns, {**good, **bad}, format="json")
        assert response.status_code == 400 and field in _fields(response), bad
    assert api_client.post(campaigns, b"\xc4\xe3\xba\xc3", content_type="application/json").status_code == 400
    campaign = api_client.post(campaigns, good, format="json").json()
    launched = api_client.post(f"{campaigns}{campaign['id']}/launch/")
    assert launched.status_code == 201 and len(launched.json()["links"]) == 2
    token = launched.json()["links"][0]["url"].split("/s/")[1].strip("/")
    assert SurveyInvitation.objects.filter(token_hash=services.digest(token)).exists()
    again = api_client.post(f"{campaigns}{campaign['id']}/launch/")
    assert again.status_code == 400 and "campaign" in _fields(again)
    assert "links" not in api_client.get(f"{campaigns}{campaign['id']}/").json()


def test_reps_read_their_customers_responses_and_write_nothing(api_client: Any, survey: dict[str, Any]) -> None:
    east = SurveyInvitation.objects.get(case=close_case(survey, survey["doctor_east"]))
    services.make_link(actor=survey["agent"], invitation=east)
    services.answer(invitation=east, raw={"csat": "5", "nps": "10"})
    api_client.force_authenticate(survey["rep_east"])
    assert [row["invitation"] for row in api_client.get("/api/v1/surveys/responses/").json()["results"]] == [east.pk]
    assert api_client.post("/api/v1/surveys/question-sets/", {"name": "x", "questions": [
        {"kind": "csat", "text": "?"}]}, format="json").status_code == 403
    api_client.force_authenticate(survey["rep_west"])
    assert api_client.get("/api/v1/surveys/responses/").json()["results"] == []
    response_id = east.response.pk
    assert api_client.get(f"/api/v1/surveys/responses/{response_id}/").status_code == 404
    api_client.force_authenticate(survey["steward"])
    assert api_client.get("/api/v1/surveys/responses/").status_code == 403
