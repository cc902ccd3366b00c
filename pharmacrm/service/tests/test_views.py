"""Service desk pages: log a case from the customer page, work it on the case page, the queue and the breach
list; bad input as field messages, scope as 404."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from conftest import login
from pharmacrm.service import clocks, services
from pharmacrm.service.choices import CaseStatus
from pharmacrm.service.models import Case

pytestmark = pytest.mark.django_db

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def test_log_and_work_a_quality_case_through_the_pages(client: Any, desk: dict[str, Any]) -> None:
    login(client, desk["rep_east"])
    page = client.get(desk["institution_east"].get_absolute_url()).content.decode()
    create = f"{reverse('service:case_create')}?institution={desk['institution_east'].pk}"
    assert create in page.replace("&amp;", "&")  # "Log a case" on the customer page
    response = client.post(create, {"kind": "quality", "title": "", "description": "x", "channel": "visit",
                                    "severity": "medium"})
    assert response.status_code == 400 and not Case.objects.exists()
    response = client.post(create, {"kind": "quality", "title": "药片破损", "description": "一盒中三片破碎",
                                    "channel": "visit", "severity": "medium", "product": desk["product"].pk,
                                    "batch_number": "B2026001", "pv_kind": "pqc", "pv_seriousness": "other",
                                    "evidence": SimpleUploadedFile("box.png", PNG, content_type="image/png")})
    case = Case.objects.get()
    assert response.status_code == 302 and response.url == case.get_absolute_url()
    assert case.owner == desk["agent"] and case.pv_kind == "pqc"
    page = client.get(case.get_absolute_url()).content.decode()
    assert "box.png" in page and 'id="move-form"' not in page  # the rep sees it, the desk works it
    login(client, desk["rep_west"])
    assert client.get(case.get_absolute_url()).status_code == 404
    login(client, desk["agent"])
    assert case.number in client.get(reverse("service:queue")).content.decode()
    client.post(reverse("service:case_note", args=[case.pk]), {"body": "已联系药房", "internal": "0"})
    case.refresh_from_db()
    assert case.status == CaseStatus.ACKNOWLEDGED
    response = client.post(reverse("service:case_move", args=[case.pk]), {"to": "resolved"})
    assert response.status_code == 400 and Case.objects.get().status == CaseStatus.ACKNOWLEDGED  # no solution
    client.post(reverse("service:case_move", args=[case.pk]), {"to": "resolved", "solution": "换货"})
    client.post(reverse("service:case_move", args=[case.pk]), {"to": "confirmed"})
    response = client.post(reverse("service:case_move", args=[case.pk]), {"to": "closed"})
    assert response.status_code == 400  # a quality case needs its cause and action
    response = client.post(reverse("service:case_move", args=[case.pk]), {
        "to": "closed", "root_cause": "packaging", "corrective_action": "加强包装"})
    assert response.status_code == 302 and Case.objects.get().status == CaseStatus.CLOSED


def test_breaches_and_due_soon_lists(client: Any, desk: dict[str, Any]) -> None:
    late = services.open_case(actor=desk["agent"], institution=desk["institution_east"], kind="clinical",
                              title="晚了", description="d", received_at=timezone.now() - datetime.timedelta(hours=30),
                              owner=desk["medic"])
    result = clocks.check()
    assert result.breached >= 1
    assert desk["manager_east"].notifications.count() == 0  # the medic's manager: none in this org
    login(client, desk["agent"])
    page = client.get(reverse("service:breaches")).content.decode()
    assert late.number in page
    assert client.get(f"{reverse('service:breaches')}?near=1").status_code == 200
    login(client, desk["rep_west"])
    assert late.number not in client.get(reverse("service:breaches")).content.decode()


def test_the_case_list_filters_and_exports_without_descriptions(client: Any, desk: dict[str, Any]) -> None:
    services.open_case(actor=desk["agent"], institution=desk["institution_east"], kind="complaint", title="投诉一",
                       description="患者张三服药后头晕")
    login(client, desk["agent"])
    page = client.get(f"{reverse('service:case_list')}?state=open&kind=complaint").content.decode()
    assert "投诉一" in page
    export = client.get(f"{reverse('service:case_list')}?format=csv")
    body = b"".join(export.streaming_content).decode("utf-8-sig") if export.streaming else export.content.decode()
    assert export.status_code == 200 and "投诉一" not in body and "张三" not in body
    login(client, desk["rep_east"])
    assert client.get(f"{reverse('service:case_list')}?format=csv").status_code == 403
    assert client.get(f"{reverse('service:case_list')}?received_from=junk").status_code in (200, 400)


def test_today_lists_the_open_cases_and_cadence_the_clinical_response(client: Any, desk: dict[str, Any]) -> None:
    on_time = services.open_case(actor=desk["rep_east"], institution=desk["institution_east"], kind="clinical",
                                 title="剂量问题", description="d")
    services.respond(actor=desk["medic"], case=on_time)
    services.open_case(actor=desk["rep_east"], institution=desk["institution_east"], kind="clinical",
                       title="尚未回答", description="d")
    login(client, desk["rep_east"])
    page = client.get(reverse("engagement:today")).content.decode()
    assert 'id="today-cases"' in page and "尚未回答" in page
    from pharmacrm.core.policy import today
    from pharmacrm.engagement.cadence import month_start
    from pharmacrm.service.metrics import clinical_response

    response = clinical_response(desk["manager_east"], month_start(today()))
    assert (response.asked, response.on_time, response.late, response.waiting) == (2, 1, 0, 1)
    assert response.on_time_percent == 100
    login(client, desk["manager_east"])
    assert 'id="clinical-response"' in client.get(reverse("engagement:cadence")).content.decode()
    login(client, desk["rep_west"])
    assert "尚未回答" not in client.get(reverse("engagement:today")).content.decode()


def test_assignment_rules_page_and_rules_decide_the_owner(client: Any, desk: dict[str, Any]) -> None:
    from pharmacrm.service.models import AssignmentRule

    login(client, desk["agent"])
    page = client.get(reverse("service:rules"))
    assert page.status_code == 200 and b'id="rule-form"' in page.content
    response = client.post(reverse("service:rules"), {"priority": "10", "kind": "guidance",
                                                      "assignee": desk["agent"].pk, "active": "on"})
    assert response.status_code == 400 and not AssignmentRule.objects.exists()  # medical questions: not the desk
    response = client.post(reverse("service:rules"), {"priority": "10", "kind": "complaint", "province_code": "310000",
                                                      "assignee": desk["manager_east"].pk, "active": "on"})
    assert response.status_code == 302
    case = services.open_case(actor=desk["rep_east"], institution=desk["institution_east"], kind="complaint",
                              title="上海的投诉", description="d")
    assert case.owner == desk["manager_east"]
    west = services.open_case(actor=desk["rep_west"], institution=desk["institution_west"], kind="complaint",
                              title="成都的投诉", description="d")
    assert west.owner == desk["agent"]  # no rule for Sichuan: the service desk
    login(client, desk["rep_east"])
    assert client.get(reverse("service:rules")).status_code == 403


def test_a_file_sent_later_goes_with_a_note_and_a_bad_one_writes_nothing(client: Any, desk: dict[str, Any]) -> None:
    from pharmacrm.service.models import CaseNote

    case = services.open_case(actor=desk["agent"], institution=desk["institution_east"], kind="complaint",
                              title="外包装破损", description="d")
    login(client, desk["agent"])
    response = client.post(reverse("service:case_note", args=[case.pk]), {
        "body": "客户补发照片", "internal": "1",
        "attachment": SimpleUploadedFile("evil.exe", b"MZ\x90\x00" * 100, content_type="image/png")})
    assert response.status_code == 400 and not CaseNote.objects.exists()
    response = client.post(reverse("service:case_note", args=[case.pk]), {
        "body": "客户补发照片", "internal": "1",
        "attachment": SimpleUploadedFile("photo.png", PNG, content_type="image/png")})
    assert response.status_code == 302 and CaseNote.objects.count() == 1
    assert "photo.png" in client.get(case.get_absolute_url()).content.decode()


def test_the_queue_shows_the_scope_or_only_ones_own(client: Any, desk: dict[str, Any]) -> None:
    theirs = services.open_case(actor=desk["agent"], institution=desk["institution_east"], kind="complaint",
                                title="同事的工单", description="d")
    mine = services.open_case(actor=desk["agent"], institution=desk["institution_east"], kind="clinical",
                              title="医学的工单", description="d", owner=desk["medic"])
    login(client, desk["medic"])
    page = client.get(reverse("service:queue")).content.decode()
    assert theirs.number in page and mine.number in page  # head-office scope: everybody's deadlines
    page = client.get(f"{reverse('service:queue')}?mine=1").content.decode()
    assert theirs.number not in page and mine.number in page
    login(client, desk["rep_west"])
    assert mine.number not in client.get(reverse("service:queue")).content.decode()
