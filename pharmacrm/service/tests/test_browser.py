"""Browser journey: rep_east logs a complaint from his visit; the service desk responds, resolves it, records the
customer's confirmation and the follow-up visit and closes it; the survey link it makes is answered on the public
page by someone who is not signed in, and cannot be used twice."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from conftest import CHROMIUM
from tests.test_browser import SCREENSHOTS, _sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (CI installs it)"),
]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_complaint_from_a_visit_to_the_answered_survey(desk: dict[str, Any], live_server: Any,
                                                         browser_page: Any) -> None:
    from django.utils import timezone

    from pharmacrm.customers import services as customers
    from pharmacrm.engagement import services as engagement
    from pharmacrm.service.choices import CaseStatus
    from pharmacrm.service.models import Case
    from pharmacrm.surveys.models import SurveyResponse

    doctor = customers.create_contact(actor=desk["steward"], institution=desk["institution_east"], name="王主任")
    customers.record_consent(actor=desk["steward"], contact=doctor, channel="wechat", purpose="survey",
                             granted_on=datetime.date(2026, 1, 1), evidence="签字同意书")
    visit = engagement.plan_visit(actor=desk["rep_east"], institution=desk["institution_east"], goal="季度回访",
                                  planned_for=timezone.now() - datetime.timedelta(hours=1), contacts=[doctor])
    page = browser_page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # the rep, at the customer: a complaint from the visit page
    _sign_in(page, live_server.url, "rep_east")
    page.goto(f"{live_server.url}{visit.get_absolute_url()}")
    page.click("#visit-log-case")
    page.wait_for_url("**/service/cases/new/?institution=*")
    page.select_option("#id_kind", "complaint")
    page.fill("#id_title", "上批到货延迟一周")
    page.fill("#id_description", "药房主任反映上批货晚到一周，影响门诊用药。")
    page.select_option("#id_contact", str(doctor.pk))
    page.select_option("#id_channel", "visit")
    page.click("#case-form button[type=submit]")
    page.wait_for_url("**/service/cases/*/")
    case = Case.objects.get()
    assert (case.visit, case.owner, case.contact) == (visit, desk["agent"], doctor)
    # the service desk works it
    page.context.clear_cookies()
    _sign_in(page, live_server.url, "agent")
    page.goto(f"{live_server.url}/service/")
    page.click(f"text={case.number}")
    page.click("#case-respond")
    page.wait_for_selector("text=已记录首次响应")
    page.fill("#id_solution", "更换承运商，补发一批")
    page.click("#move-form button[value=resolved]")
    page.wait_for_selector("#case-status:has-text('已解决')")
    page.click("#move-form button[value=confirmed]")
    page.wait_for_selector("#case-status:has-text('客户已确认')")
    page.select_option("#id_follow_up_visit", str(visit.pk))
    page.click("#move-form button[value=followed_up]")
    page.wait_for_selector("#case-status:has-text('已回访')")
    page.select_option("#id_root_cause", "logistics")
    page.fill("#id_corrective_action", "承运商考核，超时三次更换")
    page.screenshot(path=str(SCREENSHOTS / "service-case.png"), full_page=True)
    page.click("#move-form button[value=closed]")
    page.wait_for_selector("#case-status:has-text('已关闭')")
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.root_cause == "logistics"
    # the survey link, made once, sent by WeChat (outside the system)
    page.goto(f"{live_server.url}/surveys/invitations/")
    page.click("button:has-text('生成链接')")
    link = page.input_value("#survey-link")
    assert "/s/" in link
    # the doctor answers, not signed in
    page.context.clear_cookies()
    page.goto(link)
    body = page.content()
    assert "上批到货延迟一周" not in body and "王主任" not in body and desk["institution_east"].name not in body
    for fieldset in page.locator("#survey-form fieldset").all():  # every score asked: the best one
        choices = fieldset.locator("input[type=radio]")
        if choices.count():
            choices.last.check()
        else:
            fieldset.locator("textarea").fill("处理及时，谢谢")
    page.screenshot(path=str(SCREENSHOTS / "service-survey.png"), full_page=True)
    page.click("#survey-form button[type=submit]")
    page.wait_for_selector("text=谢谢")
    response = SurveyResponse.objects.get()
    assert response.csat == 5 and response.invitation.case == case
    page.goto(link)  # once only
    page.wait_for_selector("text=该调查已回答")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_quality_assurance_signs_sees_a_later_edit_undo_it_and_voids(org: dict[str, Any], live_server: Any,
                                                                     browser_page: Any) -> None:
    """QA signs closed quality cases (username and password at the first signing of the session, the password
    alone at the next), sees a signature stop standing when the case is corrected later, and voids a case logged in
    error — kept, with its reason. (The desk's closing under a signature: tests/reliability/test_c06_esignature.)"""
    from conftest import DEMO_PASSWORD
    from pharmacrm.core.models import Signature
    from pharmacrm.service import services
    from pharmacrm.service.choices import CaseStatus
    from pharmacrm.service.models import Case
    from tests.reliability.signing import quality_case, signers

    world = signers(org)
    first, second = quality_case(world, closed=True), quality_case(world, closed=True, title="外箱标签模糊")
    mistaken = quality_case(world, title="重复登记")
    page = browser_page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _sign_in(page, live_server.url, "qa")
    page.goto(f"{live_server.url}{first.get_absolute_url()}")
    assert page.locator("#signature-manifest").inner_text().count("质量保证 王敏") == 0
    page.select_option("#id_meaning", "review")
    page.fill("#id_username", "qa")  # the first signing of the session gives both components
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("#sign-form button[type=submit]")
    page.wait_for_selector("#signature-manifest:has-text('质量保证 王敏')")
    assert page.locator("#signature-manifest").inner_text().count("质量保证 王敏") == 1
    assert "有效" in page.locator("#signature-manifest").inner_text()
    # the next signing in the same session asks for the password only
    page.goto(f"{live_server.url}{second.get_absolute_url()}")
    assert page.locator("#id_username").count() == 0
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("#sign-form button[type=submit]")
    page.wait_for_selector("#signature-manifest:has-text('质量保证 王敏')")
    assert Signature.objects.filter(signer=world["qa"]).count() == 2
    # the desk corrects the first case afterwards: its signature no longer stands
    services.update_case(actor=world["agent"], case=Case.objects.get(pk=first.pk), changes={"batch_number": "A124"},
                         reason="批号录错")
    page.goto(f"{live_server.url}{first.get_absolute_url()}")
    page.wait_for_selector("#resign-required")
    assert "因后续修改而失效" in page.locator("#signature-manifest").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "service-signed-case.png"), full_page=True)
    # a case logged twice is voided, not deleted
    page.goto(f"{live_server.url}{mistaken.get_absolute_url()}")
    page.click("#void-form >> xpath=.. >> summary")
    page.fill("#void-reason", "与前一案件重复登记")
    page.click("#void-form button[type=submit]")
    page.wait_for_selector("#case-status:has-text('已作废')")
    assert "与前一案件重复登记" in page.locator("#case-void-reason").inner_text()
    mistaken = Case.objects.get(pk=mistaken.pk)
    assert mistaken.status == CaseStatus.VOIDED and mistaken.void_reason == "与前一案件重复登记"
