"""Engagement rules (seed 000 三): plan, check in, report, submit and lock, review, amend, follow-ups, contact logs,
flagged words, and who sees what."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from pharmacrm.core.audit import StaleVersion
from pharmacrm.core.models import AuditEntry, Notification
from pharmacrm.core.policy import today
from pharmacrm.core.workflow import TransitionNotAllowed
from pharmacrm.customers import services as customers
from pharmacrm.engagement import services
from pharmacrm.engagement.choices import TaskStatus, VisitStatus
from pharmacrm.engagement.models import Communication, FollowUp, Visit, VisitAmendment
from pharmacrm.samples.tests.factories import png

pytestmark = pytest.mark.django_db

SOON = timezone.now() + datetime.timedelta(days=1)


@pytest.fixture
def doctor(org: dict[str, Any]) -> Any:
    return customers.create_contact(actor=org["steward"], institution=org["institution_east"], name="王医生")


def plan(org: dict[str, Any], **fields: Any) -> Visit:
    return services.plan_visit(**{"actor": org["rep_east"], "institution": org["institution_east"],
                                  "planned_for": SOON, "goal": "介绍新适应症", **fields})


def reported(org: dict[str, Any], doctor: Any, **texts: str) -> Visit:
    visit = plan(org, contacts=[doctor], content="产品手册\n临床文献")
    visit = services.check_in(actor=org["rep_east"], visit=visit, latitude="31.2304", longitude="121.4737",
                              accuracy="25")
    return services.save_report(actor=org["rep_east"], visit=visit, channel="face_to_face", contacts=[doctor],
                                **{"key_messages": "新适应症的三期数据", "feedback": "关注医保报销", **texts})


def test_a_visit_is_planned_with_goal_time_people_and_a_checklist(org: dict[str, Any], doctor: Any) -> None:
    visit = plan(org, contacts=[doctor], content="产品手册\n\n 临床文献 ")
    assert visit.status == VisitStatus.PLANNED and visit.rep == org["rep_east"]
    assert list(visit.planned_contacts.all()) == [doctor]
    assert visit.checklist == ["产品手册", "临床文献"]
    assert AuditEntry.objects.filter(object_id=str(visit.pk), changes__has_key="planned_contacts").exists()


def test_planning_refuses_other_peoples_customers_contacts_elsewhere_and_empty_goals(org: dict[str, Any],
                                                                                        doctor: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        plan(org, institution=org["institution_west"])
    assert "institution" in refused.value.message_dict
    elsewhere = customers.create_contact(actor=org["steward"], institution=org["institution_west"], name="李医生")
    with pytest.raises(ValidationError) as refused:
        plan(org, contacts=[elsewhere])
    assert "contacts" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        plan(org, goal="   ")
    assert "goal" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        plan(org, goal="长" * 301)
    assert "goal" in refused.value.message_dict
    with pytest.raises(PermissionDenied):
        plan(org, actor=org["compliance"])
    assert not Visit.objects.exists()


def test_check_in_is_one_point_and_a_time_and_is_validated(org: dict[str, Any]) -> None:
    visit = plan(org)
    for latitude, longitude in (("", "121"), ("91", "121"), ("31", "181"), ("abc", "121"), ("NaN", "121")):
        with pytest.raises(ValidationError):
            services.check_in(actor=org["rep_east"], visit=visit, latitude=latitude, longitude=longitude)
    with pytest.raises(PermissionDenied):  # only the visit's rep
        services.check_in(actor=org["manager_east"], visit=visit, latitude="31", longitude="121")
    with pytest.raises(ValidationError) as refused:  # a photo must be a photo
        services.check_in(actor=org["rep_east"], visit=visit, latitude="31", longitude="121",
                          photo=SimpleUploadedFile("x.pdf", b"%PDF-1.4 not an image" * 10))
    assert "photo" in refused.value.message_dict
    visit.refresh_from_db()
    assert visit.checked_in_at is None and visit.status == VisitStatus.PLANNED
    visit = services.check_in(actor=org["rep_east"], visit=visit, latitude="31.2304", longitude="121.4737",
                              accuracy="12.6", photo=SimpleUploadedFile("door.png", png(), content_type="image/png"))
    assert visit.status == VisitStatus.IN_PROGRESS and visit.check_in_accuracy_m == 13
    assert str(visit.check_in_latitude) == "31.230400" and visit.check_in_photo.mime_type == "image/png"
    with pytest.raises(TransitionNotAllowed):
        services.check_in(actor=org["rep_east"], visit=visit, latitude="31", longitude="121")
    visit = services.check_out(actor=org["rep_east"], visit=visit, latitude="31.2305", longitude="121.4738")
    assert visit.checked_out_at >= visit.checked_in_at


def test_submitting_locks_the_report_and_problems_become_follow_ups(org: dict[str, Any], doctor: Any) -> None:
    visit = reported(org, doctor)
    due = today() + datetime.timedelta(days=3)
    visit = services.submit_report(actor=org["rep_east"], visit=visit, problems=[
        services.Problem("药房缺货"), services.Problem("  "), services.Problem("发票抬头有误", due_on=due)])
    assert visit.status == VisitStatus.SUBMITTED and visit.submitted_at and visit.locked
    tasks = {task.title: task for task in FollowUp.objects.filter(visit=visit)}
    assert set(tasks) == {"药房缺货", "发票抬头有误"}
    assert tasks["发票抬头有误"].due_on == due
    assert tasks["药房缺货"].due_on == today() + datetime.timedelta(days=7)  # engagement.follow_up_days
    assert all(task.owner == org["rep_east"] and task.status == TaskStatus.OPEN for task in tasks.values())
    assert Notification.objects.filter(recipient=org["manager_east"], url=visit.get_absolute_url()).exists()
    with pytest.raises(TransitionNotAllowed):  # locked
        services.save_report(actor=org["rep_east"], visit=visit, key_messages="改写")
    with pytest.raises(TransitionNotAllowed):
        services.submit_report(actor=org["rep_east"], visit=visit)


def test_a_report_needs_a_channel_and_something_said(org: dict[str, Any]) -> None:
    visit = plan(org)
    with pytest.raises(ValidationError) as refused:
        services.submit_report(actor=org["rep_east"], visit=visit)
    assert {"channel", "key_messages"} <= set(refused.value.message_dict)
    visit = services.save_report(actor=org["rep_east"], visit=visit, channel="phone", agreements="下月科室会")
    with pytest.raises(ValidationError) as refused:
        services.submit_report(actor=org["rep_east"], visit=visit, problems=[
            services.Problem("过期", due_on=today() - datetime.timedelta(days=1))])
    assert "problems" in refused.value.message_dict
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.PLANNED and not FollowUp.objects.exists()
    with pytest.raises(ValidationError):
        services.save_report(actor=org["rep_east"], visit=visit, channel="carrier_pigeon")
    with pytest.raises(ValidationError):
        services.save_report(actor=org["rep_east"], visit=visit, objections="长" * 4001)


def test_a_stale_report_is_refused_unchanged(org: dict[str, Any], doctor: Any) -> None:
    visit = reported(org, doctor)
    seen = visit.version
    services.save_report(actor=org["rep_east"], visit=visit, expected_version=seen, objections="价格偏高")
    with pytest.raises(StaleVersion):
        services.save_report(actor=org["rep_east"], visit=Visit.objects.get(pk=visit.pk), expected_version=seen,
                             objections="旧页面上的内容")
    assert Visit.objects.get(pk=visit.pk).objections == "价格偏高"


def test_the_manager_reviews_and_the_rep_is_told(org: dict[str, Any], doctor: Any) -> None:
    visit = services.submit_report(actor=org["rep_east"], visit=reported(org, doctor))
    with pytest.raises(PermissionDenied):  # a rep has no review right
        services.review_visit(actor=org["rep_east"], visit=visit, comment="自评")
    with pytest.raises(ValidationError):
        services.review_visit(actor=org["manager_east"], visit=visit, comment=" ")
    visit = services.review_visit(actor=org["manager_east"], visit=visit, comment="下次带上医保政策解读")
    assert visit.status == VisitStatus.REVIEWED and visit.reviewed_by == org["manager_east"]
    assert Notification.objects.filter(recipient=org["rep_east"], body="下次带上医保政策解读").exists()


def test_a_manager_outside_the_team_cannot_review(org: dict[str, Any], doctor: Any) -> None:
    from pharmacrm.org.roles import Role
    from pharmacrm.org.services import create_user

    other = create_user(actor=None, username="manager_west", full_name="西区经理", role=Role.MANAGER,
                        team=org["teams"]["west"], email="mw@example.com", password="x" * 12)
    visit = services.submit_report(actor=org["rep_east"], visit=reported(org, doctor))
    with pytest.raises(PermissionDenied):
        services.review_visit(actor=other, visit=visit, comment="不是我的组")
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.SUBMITTED


def test_corrections_after_submission_are_amendments_with_a_reason(org: dict[str, Any], doctor: Any) -> None:
    visit = services.submit_report(actor=org["rep_east"], visit=reported(org, doctor))
    with pytest.raises(ValidationError) as refused:
        services.amend_visit(actor=org["rep_east"], visit=visit, field="feedback", value="关注医保报销和院内准入",
                             reason="")
    assert "reason" in refused.value.message_dict
    with pytest.raises(ValidationError):
        services.amend_visit(actor=org["rep_east"], visit=visit, field="submitted_at", value="x", reason="改时间")
    with pytest.raises(PermissionDenied):
        services.amend_visit(actor=org["manager_east"], visit=visit, field="feedback", value="x", reason="代改")
    amendment = services.amend_visit(actor=org["rep_east"], visit=visit, field="feedback",
                                     value="关注医保报销和院内准入", reason="漏记了准入")
    assert (amendment.old, amendment.new, amendment.reason) == ("关注医保报销", "关注医保报销和院内准入", "漏记了准入")
    visit.refresh_from_db()
    assert visit.feedback == "关注医保报销和院内准入" and visit.status == VisitStatus.SUBMITTED
    assert AuditEntry.objects.filter(object_id=str(visit.pk), reason="漏记了准入").exists()
    open_visit = plan(org)
    with pytest.raises(TransitionNotAllowed):  # an open report is edited, not amended
        services.amend_visit(actor=org["rep_east"], visit=open_visit, field="feedback", value="x", reason="y")


def test_flagged_words_are_recorded_and_compliance_is_told(org: dict[str, Any], doctor: Any) -> None:
    visit = reported(org, doctor, feedback="主任问到统方的事，已拒绝")
    assert visit.flagged_terms == ["统方"]
    assert Notification.objects.filter(recipient=org["compliance"], url=visit.get_absolute_url()).count() == 1
    services.save_report(actor=org["rep_east"], visit=visit, objections="无")  # no new word: no second message
    assert Notification.objects.filter(recipient=org["compliance"], url=visit.get_absolute_url()).count() == 1
    clean = reported(org, doctor)
    assert clean.flagged_terms == []
    note = services.log_communication(actor=org["rep_east"], institution=org["institution_east"], channel="wechat",
                                      summary="对方提到回扣，已说明公司政策")
    assert note.flagged_terms == ["回扣"]
    assert Notification.objects.filter(recipient=org["compliance"], url=note.get_absolute_url()).exists()


def test_a_contact_log_takes_a_few_fields_and_refuses_bad_ones(org: dict[str, Any], doctor: Any) -> None:
    note = services.log_communication(actor=org["rep_east"], institution=org["institution_east"], channel="phone",
                                      contact=doctor, summary="确认下周拜访时间")
    assert note.by == org["rep_east"] and note.occurred_at <= timezone.now()
    with pytest.raises(ValidationError) as refused:
        services.log_communication(actor=org["rep_east"], institution=org["institution_east"], channel="phone",
                                   summary="未来", occurred_at=timezone.now() + datetime.timedelta(hours=1))
    assert "occurred_at" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.log_communication(actor=org["rep_east"], institution=org["institution_east"], channel="fax",
                                   summary="传真")
    assert "channel" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.log_communication(actor=org["rep_west"], institution=org["institution_east"], channel="phone",
                                   summary="不是我的客户")
    assert "institution" in refused.value.message_dict
    assert Communication.objects.count() == 1


def test_follow_ups_are_tracked_until_closed(org: dict[str, Any]) -> None:
    task = services.raise_follow_up(actor=org["rep_east"], institution=org["institution_east"], title="补寄说明书",
                                    due_on=today())
    with pytest.raises(ValidationError):
        services.close_follow_up(actor=org["rep_east"], task=task, outcome="", customer_informed=True)
    with pytest.raises(PermissionDenied):
        services.close_follow_up(actor=org["rep_west"], task=task, outcome="不是我的", customer_informed=False)
    task = services.close_follow_up(actor=org["rep_east"], task=task, outcome="已快递", customer_informed=True)
    assert task.status == TaskStatus.DONE and task.customer_informed and task.closed_at
    with pytest.raises(TransitionNotAllowed):
        services.cancel_follow_up(actor=org["rep_east"], task=task, reason="重复")
    with pytest.raises(ValidationError):
        services.raise_follow_up(actor=org["rep_east"], institution=org["institution_east"], title="过去",
                                 due_on=today() - datetime.timedelta(days=1))


def test_each_model_is_scoped_to_the_people_it_belongs_to(org: dict[str, Any], doctor: Any) -> None:
    """A rep sees their own; the team manager the team's; another team's rep nothing; head office all."""
    visit = services.submit_report(actor=org["rep_east"], visit=reported(org, doctor),
                                   problems=[services.Problem("缺货")])
    services.amend_visit(actor=org["rep_east"], visit=visit, field="objections", value="价格", reason="补记")
    services.log_communication(actor=org["rep_east"], institution=org["institution_east"], channel="phone",
                               summary="电话回访")
    for model in (Visit, VisitAmendment, Communication, FollowUp):
        def seen(who: str, model: Any = model) -> int:
            return model.objects.visible_to(org[who]).count()

        assert seen("rep_east") == seen("manager_east") == seen("regional_east") == 1, model
        assert seen("compliance") == seen("leader") == 1, model
        assert seen("rep_west") == 0, model
        assert seen("steward") == 0, model  # no engagement rights
