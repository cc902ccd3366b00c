"""The public survey page (/s/<secret>/): no sign-in, one answer per link, nothing else shown; token misuse
(reused, forged, expired, another invitation's), bad input, CSRF and the per-address limit."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from pharmacrm.core import policy
from pharmacrm.core.audit import audited_update
from pharmacrm.surveys import services
from pharmacrm.surveys.models import SurveyInvitation, SurveyResponse
from pharmacrm.surveys.tests.conftest import close_case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_limits() -> Any:
    cache.clear()
    yield
    cache.clear()


def linked(survey: dict[str, Any], contact: Any = None, **extra: Any) -> tuple[SurveyInvitation, str]:
    invitation = SurveyInvitation.objects.get(case=close_case(survey, contact or survey["doctor_east"], **extra))
    return invitation, services.make_link(actor=survey["agent"], invitation=invitation)


def url(token: str) -> str:
    return f"/s/{token}/"


def test_the_page_shows_the_questions_and_nothing_about_the_case_or_the_people(client: Client,
                                                                               survey: dict[str, Any]) -> None:
    invitation, token = linked(survey, title="批号 B2026 说明书咨询")
    response = client.get(url(token))
    assert response.status_code == 200
    html = response.content.decode()
    for question in invitation.question_set.questions:
        assert question["text"] in html
    for secret in ("批号 B2026 说明书咨询", survey["institution_east"].name, survey["doctor_east"].name,
                   invitation.case.number, "rep_east", "agent", survey["product"].generic_name):
        assert secret not in html, secret
    assert 'name="csrfmiddlewaretoken"' in html and "main-nav" not in html
    assert response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "same-origin"  # nothing to other sites; the form still posts its origin


def test_a_link_answers_once_then_says_so_politely(client: Client, survey: dict[str, Any]) -> None:
    invitation, token = linked(survey)
    response = client.post(url(token), {"csat": "5", "nps": "10", "text1": "很及时"})
    assert response.status_code == 200 and 'id="thanks"' in response.content.decode()
    assert SurveyResponse.objects.get(invitation=invitation).comment == "很及时"
    again = client.get(url(token))
    assert again.status_code == 200 and 'id="answered"' in again.content.decode()
    reuse = client.post(url(token), {"csat": "1", "nps": "0"})
    assert reuse.status_code == 409 and SurveyResponse.objects.get().csat == 5


def test_forged_unknown_and_replaced_links_are_the_plain_not_found(client: Client, survey: dict[str, Any]) -> None:
    invitation, token = linked(survey)
    for forged in ("x", token[:-1] + ("A" if token[-1] != "A" else "B"), "A" * 43, "长" * 40, "a" * 500,
                   services.digest(token), "%00", "..%2F..%2Fadmin"):
        response = client.get(url(forged))
        assert response.status_code == 404, forged
        assert invitation.question_set.questions[0]["text"] not in response.content.decode()
    newer = services.make_link(actor=survey["agent"], invitation=invitation)  # the old link stops working
    assert client.get(url(token)).status_code == 404
    assert client.get(url(newer)).status_code == 200


def test_an_expired_link_says_it_has_expired(client: Client, survey: dict[str, Any]) -> None:
    invitation, token = linked(survey)
    audited_update(invitation, actor=None, changes={"expires_at": timezone.now() - datetime.timedelta(minutes=1)})
    for response in (client.get(url(token)), client.post(url(token), {"csat": "5", "nps": "10"})):
        assert response.status_code == 410 and 'id="expired"' in response.content.decode()
    assert not SurveyResponse.objects.exists()
    # the link's days are a policy parameter
    assert (SurveyInvitation.objects.get(pk=linked(survey, title="另一个")[0].pk).expires_at.date()
            - policy.today()).days in (29, 30)


def test_a_closed_campaign_ends_its_links(client: Client, survey: dict[str, Any]) -> None:
    question_set = services.case_question_set()
    campaign = services.save_campaign(actor=survey["marketing"], name="季度", question_set=question_set,
                                      audience="all", channel="wechat", opens_on=policy.today(),
                                      closes_on=policy.today() + datetime.timedelta(days=10))
    launch = services.launch_campaign(actor=survey["marketing"], campaign=campaign)
    token = launch.links[0][1]
    assert client.get(url(token)).status_code == 200
    services.close_campaign(actor=survey["marketing"], campaign=launch.campaign)
    assert client.get(url(token)).status_code == 410


def test_one_invitations_link_never_answers_another(client: Client, survey: dict[str, Any]) -> None:
    first, token = linked(survey)
    second, _other = linked(survey, survey["doctor_west"], institution=survey["institution_west"])
    response = client.post(url(token), {"csat": "4", "nps": "9", "invitation": second.pk,
                                        "invitation_id": second.pk, "token": _other})
    assert response.status_code == 200
    assert list(SurveyResponse.objects.values_list("invitation_id", flat=True)) == [first.pk]
    second.refresh_from_db()
    assert second.used_at is None


def test_bad_input_is_a_400_never_a_500_and_writes_nothing(client: Client, survey: dict[str, Any]) -> None:
    _invitation, token = linked(survey)
    for data in ({"csat": "abc", "nps": "5"}, {"csat": "7", "nps": "5"}, {"csat": "3", "nps": "99"},
                 {"csat": "3"}, {"csat": "3", "nps": "5", "text1": "长" * 100_000},
                 {"csat": "3\x00", "nps": "5"}):
        response = client.post(url(token), data)
        assert response.status_code == 400, data
    gbk = client.post(url(token), data=b"csat=3&nps=5&text1=" + "你好".encode("gbk"),
                      content_type="application/x-www-form-urlencoded")
    assert gbk.status_code in (200, 400)
    json_body = client.post(url(_other_token(survey)), data='{"csat": 3}', content_type="application/json")
    assert json_body.status_code == 400
    assert SurveyResponse.objects.count() <= 1


def _other_token(survey: dict[str, Any]) -> str:
    return linked(survey, title="JSON")[1]


def test_the_form_needs_its_csrf_token(survey: dict[str, Any]) -> None:
    _invitation, token = linked(survey)
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(url(token), {"csat": "5", "nps": "10"}).status_code == 403
    page = strict.get(url(token))
    csrf = page.cookies[next(name for name in page.cookies if "csrftoken" in name)].value
    answered = strict.post(url(token), {"csat": "5", "nps": "10", "csrfmiddlewaretoken": csrf})
    assert answered.status_code == 200 and SurveyResponse.objects.count() == 1


def test_requests_and_unknown_links_are_limited_per_address(client: Client, survey: dict[str, Any]) -> None:
    _invitation, token = linked(survey)
    limit = int(policy.get("surveys.public_bad_links_per_10_minutes"))
    for attempt in range(limit):
        assert client.get(url(f"guess{attempt}"), REMOTE_ADDR="203.0.113.7").status_code == 404
    assert client.get(url("guess-more"), REMOTE_ADDR="203.0.113.7").status_code == 429
    assert client.get(url(token), REMOTE_ADDR="203.0.113.7").status_code == 429  # even a good link, for a while
    assert client.get(url(token), REMOTE_ADDR="198.51.100.1").status_code == 200  # other addresses are not held
    policy.set_value(actor=survey["admin"], key="surveys.public_requests_per_10_minutes", value=5,
                     effective_from=policy.today(), reason="测试")
    statuses = [client.get(url(token), REMOTE_ADDR="198.51.100.2").status_code for _ in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
