"""Satisfaction surveys (seed 000 四.3, seed 003 四.4): a closed case asks its contact once if they consented to
surveys, a campaign asks its segment in one statement, a low score opens a follow-up case, scope per role."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pharmacrm.core.policy import today
from pharmacrm.service.choices import CaseKind, Severity
from pharmacrm.service.models import Case
from pharmacrm.surveys import services
from pharmacrm.surveys.choices import CampaignStatus, SkipReason
from pharmacrm.surveys.models import QuestionSet, SurveyCampaign, SurveyInvitation, SurveyResponse
from pharmacrm.surveys.tests.conftest import close_case, doctor

pytestmark = pytest.mark.django_db


def test_a_closed_case_invites_its_consenting_contact_once(survey: dict[str, Any]) -> None:
    case = close_case(survey, survey["doctor_east"])
    invitation = SurveyInvitation.objects.get(case=case)
    assert (invitation.contact, invitation.channel, invitation.skip_reason) == (survey["doctor_east"], "wechat", "")
    assert invitation.token_hash is None  # the agent makes the link to send (WeChat is outside the system)
    assert invitation.question_set.for_cases and {"csat", "nps", "text"} <= invitation.question_set.kinds()
    assert survey["agent"].notifications.filter(title__contains=case.number).exists()
    token = services.make_link(actor=survey["agent"], invitation=invitation)
    invitation.refresh_from_db()
    assert invitation.token_hash == services.digest(token) and token not in invitation.token_hash
    assert invitation.expires_at.date() > today()
    # reopened and closed again: not asked twice
    from pharmacrm.service import services as service

    case = service.move(actor=survey["agent"], case=case, to="investigating", reason="客户追问")
    case = service.move(actor=survey["agent"], case=case, to="resolved", solution="补充说明")
    case = service.move(actor=survey["agent"], case=case, to="confirmed")
    service.move(actor=survey["agent"], case=case, to="closed")
    assert SurveyInvitation.objects.filter(case=case).count() == 1


def test_without_consent_or_contact_nobody_is_asked_and_the_reason_is_kept(survey: dict[str, Any]) -> None:
    no_consent = doctor(survey, survey["institution_east"], "张医生", ("wechat", "academic"), ("phone", "survey"))
    assert SurveyInvitation.objects.get(case=close_case(survey, no_consent)).skip_reason == SkipReason.NO_CONSENT
    assert SurveyInvitation.objects.get(case=close_case(survey, None)).skip_reason == SkipReason.NO_CONTACT
    skipped = SurveyInvitation.objects.exclude(skip_reason="")
    assert skipped.count() == 2 and not skipped.filter(token_hash__isnull=False).exists()
    with pytest.raises(ValidationError):
        services.make_link(actor=survey["agent"], invitation=skipped.first())


def test_with_email_consent_and_an_address_the_link_is_mailed(survey: dict[str, Any], mailoutbox: Any,
                                                               django_capture_on_commit_callbacks: Any) -> None:
    contact = doctor(survey, survey["institution_east"], "赵医生", ("email", "survey"), email="zhao@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        case = close_case(survey, contact)
    invitation = SurveyInvitation.objects.get(case=case)
    assert invitation.channel == "email" and invitation.token_hash
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["zhao@example.com"]
    token = mailoutbox[0].body.split("/s/")[1].split("/")[0]
    assert services.find_invitation(token) == invitation
    assert case.title not in mailoutbox[0].body and "赵医生" not in mailoutbox[0].body


def _campaign(survey: dict[str, Any], question_set: QuestionSet | None = None, **extra: Any) -> SurveyCampaign:
    question_set = question_set or services.save_question_set(actor=survey["marketing"], name="年度满意度调查", questions=[
        {"kind": "csat", "text": "总体满意度"}, {"kind": "nps", "text": "推荐意愿"}, {"kind": "text", "text": "建议"}])
    values = {"name": "2026 年度调查", "question_set": question_set, "audience": "all", "channel": "wechat",
              "opens_on": today(), "closes_on": today().replace(year=today().year + 1), **extra}
    return services.save_campaign(actor=survey["marketing"], **values)


def test_a_campaign_launch_is_set_based_and_asks_only_consenting_contacts(survey: dict[str, Any]) -> None:
    for number in range(30):
        doctor(survey, survey["institution_east"], f"医生{number}", *([("wechat", "survey")] if number % 3 else []))
    doctor(survey, survey["institution_west"], "邮件医生", ("email", "survey"))
    campaign = _campaign(survey)
    with CaptureQueriesContext(connection) as queries:
        launch = services.launch_campaign(actor=survey["marketing"], campaign=campaign)
    campaign = launch.campaign
    # 20 of the 30, plus the two fixture doctors; the email-only doctor and the 10 without consent are skipped
    assert campaign.status == CampaignStatus.OPEN and campaign.invited == 22 == len(launch.links)
    assert (campaign.in_segment, campaign.skipped_no_consent) == (33, 11)
    assert len(queries) < 40, [query["sql"] for query in queries]  # not one query per contact
    hashes = set(SurveyInvitation.objects.filter(campaign=campaign).values_list("token_hash", flat=True))
    assert hashes == {services.digest(token) for _invitation, token in launch.links}
    with pytest.raises(ValidationError):
        services.launch_campaign(actor=survey["marketing"], campaign=campaign)  # once
    with pytest.raises(PermissionDenied):
        services.launch_campaign(actor=survey["rep_east"], campaign=_campaign_copy(survey, campaign))


def _campaign_copy(survey: dict[str, Any], campaign: SurveyCampaign) -> SurveyCampaign:
    return services.save_campaign(actor=survey["marketing"], name="副本", question_set=campaign.question_set,
                                  audience="all", channel="sms", opens_on=campaign.opens_on,
                                  closes_on=campaign.closes_on)


def test_bad_question_sets_and_campaigns_are_refused_field_by_field(survey: dict[str, Any]) -> None:
    for questions in ([], "csat", [{"kind": "stars", "text": "?"}], [{"kind": "csat", "text": ""}],
                      [{"kind": "csat", "text": "a"}, {"kind": "csat", "text": "b"}], [{"kind": "nps"}], [1]):
        with pytest.raises(ValidationError) as error:
            services.save_question_set(actor=survey["marketing"], name="坏", questions=questions)
        assert "questions" in error.value.message_dict, questions
    question_set = services.case_question_set()
    for bad, field in (({"audience": "vip"}, "audience"), ({"audience": "grade", "klass": "gold"}, "klass"),
                       ({"channel": "pigeon"}, "channel"), ({"closes_on": today().replace(year=2000)}, "closes_on"),
                       ({"name": ""}, "name")):
        with pytest.raises(ValidationError) as error:
            _campaign(survey, question_set, **bad)
        assert field in error.value.message_dict, bad
    with pytest.raises(PermissionDenied):
        services.save_question_set(actor=survey["rep_east"], name="x", questions=[{"kind": "csat", "text": "?"}])


def test_a_low_score_opens_a_follow_up_complaint_and_tells_the_rep(survey: dict[str, Any]) -> None:
    case = close_case(survey, survey["doctor_east"])
    invitation = SurveyInvitation.objects.get(case=case)
    services.make_link(actor=survey["agent"], invitation=invitation)
    response = services.answer(invitation=invitation, raw={"csat": "2", "nps": "8", "text1": "回复太慢"})
    follow_up = response.follow_up_case
    assert follow_up is not None and follow_up.pk != case.pk
    assert (follow_up.kind, follow_up.severity, follow_up.contact) == (CaseKind.COMPLAINT, Severity.HIGH,
                                                                      survey["doctor_east"])
    assert follow_up.product == survey["product"] and "回复太慢" in follow_up.description
    assert case.number in follow_up.title
    assert survey["rep_east"].notifications.filter(url=follow_up.get_absolute_url()).exists()
    fine = SurveyInvitation.objects.get(case=close_case(survey, survey["doctor_east"], title="再次咨询"))
    services.make_link(actor=survey["agent"], invitation=fine)
    assert services.answer(invitation=fine, raw={"csat": "4", "nps": "9"}).follow_up_case is None
    assert Case.objects.filter(kind=CaseKind.COMPLAINT).count() == 1


def test_answers_are_checked_and_a_link_answers_once(survey: dict[str, Any]) -> None:
    invitation = SurveyInvitation.objects.get(case=close_case(survey, survey["doctor_east"]))
    services.make_link(actor=survey["agent"], invitation=invitation)
    for raw in ({"csat": "6", "nps": "5"}, {"csat": "x", "nps": "5"}, {"csat": "3", "nps": "11"}, {"nps": "5"},
                {"csat": "3", "nps": "-1"}, {"csat": "3", "nps": "5", "text1": "长" * 2001}, {"csat": True, "nps": 5}):
        with pytest.raises(ValidationError):
            services.answer(invitation=invitation, raw=raw)
    assert not SurveyResponse.objects.exists()
    services.answer(invitation=invitation, raw={"csat": "5", "nps": "10"})
    with pytest.raises(services.AlreadyAnswered):
        services.answer(invitation=invitation, raw={"csat": "1", "nps": "0"})
    assert SurveyResponse.objects.get().csat == 5


def test_invitations_and_responses_are_seen_with_the_customer(survey: dict[str, Any]) -> None:
    east = SurveyInvitation.objects.get(case=close_case(survey, survey["doctor_east"]))
    west = SurveyInvitation.objects.get(case=close_case(survey, survey["doctor_west"],
                                                        institution=survey["institution_west"]))
    for invitation in (east, west):
        services.make_link(actor=survey["agent"], invitation=invitation)
        services.answer(invitation=invitation, raw={"csat": "4", "nps": "9"})
    expected = {"rep_east": {east.pk}, "rep_west": {west.pk}, "manager_east": {east.pk},
                "regional_east": {east.pk}, "agent": {east.pk, west.pk}, "leader": {east.pk, west.pk},
                "marketing": {east.pk, west.pk}, "steward": set()}
    for name, ids in expected.items():
        user = survey[name]
        assert set(SurveyInvitation.objects.visible_to(user).values_list("pk", flat=True)) == ids, name
        assert set(SurveyResponse.objects.visible_to(user).values_list("invitation_id", flat=True)) == ids, name
    with pytest.raises(PermissionDenied):  # not their customer
        services.make_link(actor=survey["rep_east"], invitation=west)
    campaign = _campaign(survey)
    for name, sees in (("rep_east", True), ("leader", True), ("marketing", True), ("steward", False)):
        assert SurveyCampaign.objects.visible_to(survey[name]).filter(pk=campaign.pk).exists() is sees, name
        assert QuestionSet.objects.visible_to(survey[name]).filter(pk=campaign.question_set_id).exists() is sees


def test_results_by_grade_region_and_product(survey: dict[str, Any]) -> None:
    from pharmacrm.surveys import analysis

    for csat, nps in ((5, 10), (2, 3), (4, 8)):
        invitation = SurveyInvitation.objects.get(case=close_case(survey, survey["doctor_east"], title=f"咨询{csat}"))
        services.make_link(actor=survey["agent"], invitation=invitation)
        services.answer(invitation=invitation, raw={"csat": csat, "nps": nps})
    close_case(survey, survey["doctor_east"], title="未回答")
    close_case(survey, None, title="无联系人")  # not asked: not counted as sent
    invitations = SurveyInvitation.objects.visible_to(survey["leader"])
    total = analysis.overall(invitations)
    assert (total.sent, total.answered, total.response_rate) == (4, 3, 75.0)
    assert total.csat_average == round(11 / 3, 2) and total.csat_distribution == [0, 1, 0, 1, 1]
    assert (total.promoters, total.passives, total.detractors, total.nps) == (1, 1, 1, 0.0)
    [region] = analysis.breakdown(invitations, "region")
    assert (region.label, region.sent) == ("上海市", 4)
    [product] = analysis.breakdown(invitations, "product")
    assert product.key == survey["product"].pk and product.answered == 3
    assert analysis.breakdown(SurveyInvitation.objects.visible_to(survey["rep_west"]), "grade") == []


def test_demo_data_runs_through_the_services(survey: dict[str, Any]) -> None:
    from django.core.management import call_command

    for contact_name in ("陈医生", "周医生"):
        doctor(survey, survey["institution_east"], contact_name)
    call_command("seed_surveys", "--if-empty")
    campaign = SurveyCampaign.objects.get()
    assert campaign.invited >= 2 and SurveyResponse.objects.filter(campaign=campaign).exists()
    call_command("seed_surveys", "--if-empty")  # idempotent
    assert SurveyCampaign.objects.count() == 1
