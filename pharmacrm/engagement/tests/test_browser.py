"""Browser journey at phone size: rep_east plans a visit from his hospital's page, checks in (the browser's
location, one point), writes the call report in a handful of taps and submits it; his manager comments."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import CHROMIUM
from tests.test_browser import SCREENSHOTS, _sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (CI installs it)"),
]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_rep_checks_in_reports_and_the_manager_comments(org: dict[str, Any], live_server: Any,
                                                        browser_page: Any) -> None:
    from pharmacrm.customers import services as customers
    from pharmacrm.engagement.choices import VisitStatus
    from pharmacrm.engagement.models import FollowUp, Visit

    doctor = customers.create_contact(actor=org["steward"], institution=org["institution_east"], name="王医生")
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 31.2304, "longitude": 121.4737, "accuracy": 20})
    _sign_in(page, live_server.url, "rep_east")
    page.goto(f"{live_server.url}{org['institution_east'].get_absolute_url()}")
    page.click("text=计划拜访")
    page.wait_for_url("**/engagement/visits/new/?institution=*")
    page.fill("#id_planned_for", "2030-01-15T09:30")
    page.fill("#id_goal", "介绍新适应症")
    page.check(f"input[name=contacts][value='{doctor.pk}']")
    page.fill("#id_content", "产品手册\n临床文献")
    page.click("#visit-form button[type=submit]")
    page.wait_for_url("**/engagement/visits/*/")
    visit = Visit.objects.get()
    assert page.locator("text=临床文献").count() == 1  # the checklist
    # the report, in a handful of taps: check in, channel, key messages, a problem, submit
    page.click("button:has-text('签到')")
    page.wait_for_selector("text=31.230400")
    page.select_option("#id_channel", "face_to_face")
    page.fill("#id_key_messages", "三期数据显示疗效优于对照组")
    page.fill("#id_problems", "药房缺货")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "engagement-report-phone.png"), full_page=True)
    page.click("button[name=submit]")
    page.wait_for_selector("text=报告已提交")
    visit.refresh_from_db()
    assert visit.status == VisitStatus.SUBMITTED and str(visit.check_in_latitude) == "31.230400"
    assert list(visit.contacts_met.all()) == [doctor] and FollowUp.objects.get().title == "药房缺货"
    page.context.clear_cookies()
    _sign_in(page, live_server.url, "manager_east")
    page.goto(f"{live_server.url}{visit.get_absolute_url()}")
    page.fill("#id_comment", "很好，下次带上医保政策解读")
    page.click("button:has-text('保存点评')")
    page.wait_for_selector("text=点评已保存")
    page.screenshot(path=str(SCREENSHOTS / "engagement-reviewed-phone.png"), full_page=True)
    visit.refresh_from_db()
    assert visit.status == VisitStatus.REVIEWED and visit.review_comment == "很好，下次带上医保政策解读"
