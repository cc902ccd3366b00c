"""Cases through their lifecycle (seed 000 四, seed 003 四.3): owners from the rules, clocks started and met,
root cause to close, reopen, waiting on the customer, pharmacovigilance, scope."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from pharmacrm.core.workflow import TransitionNotAllowed
from pharmacrm.engagement.models import Visit
from pharmacrm.service import services
from pharmacrm.service.choices import CaseStatus, ClockKind
from pharmacrm.service.models import Case, SlaClock

pytestmark = pytest.mark.django_db


def complaint(desk: dict[str, Any], **extra: Any) -> Case:
    values = {"kind": "complaint", "title": "到货延迟一周", "description": "药房反映上批货晚到一周", "channel": "hotline",
              "severity": "high", **extra}
    return services.open_case(actor=extra.pop("actor", desk["agent"]), institution=desk["institution_east"],
                              **{key: value for key, value in values.items() if key != "actor"})


def test_a_complaint_through_its_whole_life(desk: dict[str, Any]) -> None:
    case = complaint(desk)
    assert (case.status, case.owner) == (CaseStatus.RECEIVED, desk["agent"])
    kinds = set(case.clocks.values_list("kind", flat=True))
    assert kinds == {ClockKind.FIRST_RESPONSE, ClockKind.CONTACT, ClockKind.RESOLUTION}
    # the customer's rep gets a problem-customer visit, once
    assert Visit.objects.filter(institution=desk["institution_east"], trigger=f"complaint:{case.pk}").count() == 1
    services.add_note(actor=desk["agent"], case=case, body="已致电药房，正在核实物流", internal=False)
    case.refresh_from_db()
    assert case.status == CaseStatus.ACKNOWLEDGED and case.acknowledged_at
    assert not case.clocks.filter(kind__in=[ClockKind.FIRST_RESPONSE, ClockKind.CONTACT], stopped_at__isnull=True)
    with pytest.raises(ValidationError) as error:
        services.move(actor=desk["agent"], case=case, to=CaseStatus.RESOLVED)
    assert "solution" in error.value.message_dict
    case = services.move(actor=desk["agent"], case=case, to=CaseStatus.INVESTIGATING)
    case = services.move(actor=desk["agent"], case=case, to=CaseStatus.RESOLVED, solution="更换承运商，补发")
    assert case.clocks.get(kind=ClockKind.RESOLUTION).stopped_at is not None
    case = services.move(actor=desk["agent"], case=case, to=CaseStatus.CONFIRMED)
    with pytest.raises(ValidationError) as error:  # a complaint closes after its follow-up visit, with its cause
        services.move(actor=desk["agent"], case=case, to=CaseStatus.CLOSED)
    assert {"root_cause", "corrective_action", "to"} <= set(error.value.message_dict)
    visit = Visit.objects.get(trigger=f"complaint:{case.pk}")
    case = services.move(actor=desk["agent"], case=case, to=CaseStatus.FOLLOWED_UP, follow_up_visit=visit)
    case = services.move(actor=desk["agent"], case=case, to=CaseStatus.CLOSED, root_cause="logistics",
                         corrective_action="承运商考核")
    assert case.status == CaseStatus.CLOSED and case.closed_at
    with pytest.raises(ValidationError):  # reopening needs a reason
        services.move(actor=desk["agent"], case=case, to=CaseStatus.INVESTIGATING)
    case = services.move(actor=desk["agent"], case=case, to=CaseStatus.INVESTIGATING, reason="客户称再次延迟")
    assert case.status == CaseStatus.INVESTIGATING and case.closed_at is None
    assert case.clocks.get(kind=ClockKind.RESOLUTION).stopped_at is None  # restarted


def test_medical_questions_go_to_medical_staff_never_to_sales(desk: dict[str, Any]) -> None:
    case = services.open_case(actor=desk["rep_east"], institution=desk["institution_east"], kind="guidance",
                              title="儿童剂量", description="医生询问儿童用量", channel="visit")
    assert case.owner == desk["medic"]
    with pytest.raises(ValidationError) as error:
        services.reassign(actor=desk["medic"], case=case, owner=desk["rep_east"], reason="转销售")
    assert "owner" in error.value.message_dict
    clinical = services.open_case(actor=desk["rep_east"], institution=desk["institution_east"], kind="clinical",
                                  title="相互作用", description="与华法林合用？")
    assert clinical.clocks.get(kind=ClockKind.FIRST_RESPONSE).due_at == clinical.received_at + datetime.timedelta(
        hours=24)


def test_bad_input_is_refused_field_by_field_and_writes_nothing(desk: dict[str, Any]) -> None:
    for bad, field in (({"kind": "gossip"}, "kind"), ({"severity": "apocalyptic"}, "severity"),
                       ({"title": ""}, "title"), ({"title": "长" * 201}, "title"), ({"description": " "}, "description"),
                       ({"kind": "quality"}, "product"), ({"kind": "return"}, "order")):
        with pytest.raises(ValidationError) as error:
            complaint(desk, **bad)
        assert field in error.value.message_dict, bad
    with pytest.raises(ValidationError) as error:
        services.open_case(actor=desk["rep_east"], institution=desk["institution_west"], kind="complaint",
                           title="t", description="d")
    assert "institution" in error.value.message_dict
    assert not Case.objects.exists() and not SlaClock.objects.exists()


def test_waiting_on_the_customer_pauses_the_clocks_but_not_pharmacovigilance(desk: dict[str, Any]) -> None:
    case = complaint(desk, pv_kind="pqc")
    before = {clock.kind: clock.due_at for clock in case.clocks.all()}
    case = services.set_waiting(actor=desk["agent"], case=case, waiting=True, reason="等客户寄回样品")
    assert set(case.clocks.filter(paused_at__isnull=False).values_list("kind", flat=True)) == {
        ClockKind.FIRST_RESPONSE, ClockKind.CONTACT, ClockKind.RESOLUTION}
    assert case.clocks.get(kind=ClockKind.PV_REPORT).paused_at is None
    case = services.set_waiting(actor=desk["agent"], case=case, waiting=False)
    after = {clock.kind: clock.due_at for clock in case.clocks.all()}
    assert after[ClockKind.FIRST_RESPONSE] >= before[ClockKind.FIRST_RESPONSE]
    assert after[ClockKind.PV_REPORT] == before[ClockKind.PV_REPORT]
    assert not case.clocks.filter(paused_at__isnull=False).exists()


def test_a_pharmacovigilance_flag_starts_its_clock_and_tells_the_officer(desk: dict[str, Any]) -> None:
    case = complaint(desk, kind="quality", product=desk["product"], batch_number="B2026001")
    aware = datetime.date.today() - datetime.timedelta(days=2)
    case = services.flag_pv(actor=desk["rep_east"], case=case, kind="adr", seriousness="serious", aware_on=aware)
    clock = case.clocks.get(kind=ClockKind.PV_REPORT)
    assert clock.due_at.date() in (aware + datetime.timedelta(days=15), aware + datetime.timedelta(days=16))
    assert desk["pv"].notifications.filter(url=case.get_absolute_url()).exists()
    with pytest.raises(PermissionDenied):  # only pharmacovigilance records the report
        services.record_pv_report(actor=desk["agent"], case=case, reference="ADR-1")
    case = services.record_pv_report(actor=desk["pv"], case=case, reference="ADR-2026-0001")
    assert case.clocks.get(kind=ClockKind.PV_REPORT).stopped_at is not None
    with pytest.raises(ValidationError):
        services.flag_pv(actor=desk["agent"], case=case, kind="adr")  # once


def test_cases_are_seen_with_the_customer_and_by_the_desk(desk: dict[str, Any]) -> None:
    case = complaint(desk)
    visible = {name: Case.objects.visible_to(desk[name]).filter(pk=case.pk).exists()
               for name in ("rep_east", "rep_west", "manager_east", "agent", "medic", "pv", "leader", "steward")}
    assert visible == {"rep_east": True, "rep_west": False, "manager_east": True, "agent": True, "medic": True,
                       "pv": True, "leader": True, "steward": False}
    with pytest.raises(PermissionDenied):  # a rep logs and notes, the desk works the case
        services.respond(actor=desk["rep_east"], case=case)
    services.add_note(actor=desk["rep_east"], case=case, body="药房主任很生气")
    with pytest.raises(PermissionDenied):
        services.add_note(actor=desk["rep_west"], case=case, body="看不到")
    with pytest.raises(TransitionNotAllowed):
        services.move(actor=desk["agent"], case=case, to=CaseStatus.CLOSED)
