"""Browser journey: marketing drafts a rule change, previews what it would move, submits it; leadership approves
under an electronic signature; the next run applies it and the customer page says why."""

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
def test_marketing_drafts_previews_and_publishes_a_rule_change(org: dict[str, Any], live_server: Any,
                                                               browser_page: Any) -> None:
    from conftest import DEMO_PASSWORD
    from pharmacrm.grading.choices import VersionStatus
    from pharmacrm.grading.models import Classification, RuleVersion
    from pharmacrm.grading.tests.test_engine import buy, grade_all, make_world, place

    world = make_world(org)
    clinic = place(world, "徐汇康宁诊所")
    buy(world, clinic, "150000")
    grade_all(world)
    page = browser_page
    _sign_in(page, live_server.url, "marketing")
    page.goto(f"{live_server.url}/grading/rules/")
    page.click("text=起草规则变更")
    page.click(".dropdown-menu >> text=规模")
    page.wait_for_url("**/grading/rules/new/size/")
    page.fill("#id_medium_min_yuan", "100000")
    page.fill("#id_note", "基层市场：中型门槛降至10万元")
    page.click("form.bg-body button[type=submit]")
    page.wait_for_url("**/grading/rules/*/")
    page.click("text=预览")
    page.wait_for_load_state()
    assert "徐汇康宁诊所" in page.content()  # the example of the one move, small → medium
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "grading-preview.png"), full_page=True)
    page.click("text=提交审批")
    page.wait_for_load_state()
    version = RuleVersion.objects.get(dimension="size", number=2)
    assert version.status == VersionStatus.PENDING

    page.context.clear_cookies()
    _sign_in(page, live_server.url, "leader")
    page.goto(f"{live_server.url}{version.approval.get_absolute_url()}")
    page.fill("#id_username", "leader")  # the first signing after the login gives both components (11.200)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("#decide-form button[value=approve]")
    page.wait_for_load_state()
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED

    grade_all(world)
    assert Classification.objects.get(institution=clinic).size == "medium"
    page.goto(f"{live_server.url}{clinic.get_absolute_url()}")
    page.click("#grading-tab")
    page.wait_for_selector("text=规模 v2")
    assert "中型" in page.inner_text("#tab-grading")
    page.wait_for_timeout(400)  # the tab's fade-in
    page.screenshot(path=str(SCREENSHOTS / "grading-customer-tab.png"), full_page=True)
