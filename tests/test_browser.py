"""Browser journey: rep_east signs in, sees the home page in Chinese, switches to English.

Drives Debian's /usr/bin/chromium through Playwright against a live server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (CI installs it)"),
]


@pytest.fixture
def browser_page(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 800})
        yield page
        browser.close()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_rep_signs_in_sees_chinese_and_switches_to_english(org: dict[str, Any], live_server: Any,
                                                          browser_page: Any) -> None:
    # ``org`` comes before ``browser_page``: database work done while Playwright's event loop runs
    # gets its own connection (Django keeps one per async context) that nothing would close.
    from conftest import DEMO_PASSWORD

    page = browser_page
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "rep_east")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "欢迎" in page.content() and "机构" in page.inner_text("nav")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "home-zh.png"), full_page=True)

    page.click("#user-menu")
    page.click("#language-form button[value=en]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Welcome" in page.content() and "Institutions" in page.inner_text("nav")
    page.screenshot(path=str(SCREENSHOTS / "home-en.png"), full_page=True)

    page.click("nav >> text=Institutions")
    page.wait_for_url(f"{live_server.url}/customers/institutions/")
    assert "复旦大学附属中山医院" in page.content()
    assert "四川大学华西医院" not in page.content()


IMPORT_HEADER = "客户编码,客户名称,客户类型,医院等级,省份,城市,区县,负责代表\n"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_steward_imports_fixes_errors_and_rep_finds_the_customer_by_initials(
        org: dict[str, Any], live_server: Any, browser_page: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The steward uploads a customer file, reads the dry run's error, uploads the corrected file,
    imports it; then rep_east, on a phone, finds the new hospital by its pinyin initials."""
    from conftest import DEMO_PASSWORD
    from pharmacrm.core import imports, tasks

    # the worker's job runs in the request that queues it (no worker process in the test)
    monkeypatch.setattr(tasks, "run_import", lambda job_id, commit: imports.run(job_id, commit=commit))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser_page

    def sign_in(username: str) -> None:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")

    def upload(content: str) -> None:
        page.goto(f"{live_server.url}/imports/new/")
        page.set_input_files("#id_file", files=[{"name": "客户.csv", "mimeType": "text/csv",
                                                  "buffer": content.encode("gb18030")}])
        page.click("form[enctype='multipart/form-data'] button[type=submit]")
        page.wait_for_url("**/imports/*/")

    sign_in("steward")
    page.click("nav >> text=导入")
    page.wait_for_url(f"{live_server.url}/imports/")
    upload(IMPORT_HEADER + "H1,杭州市第一人民医院,公立医院,三级甲等,浙江,杭州,上城区,rep_east\n"
                           "H2,杭州西湖大药房,单体药店,,浙江,杭州,西湖新区,rep_east\n")
    page.screenshot(path=str(SCREENSHOTS / "import-mapping.png"), full_page=True)
    page.click("form[action$='/check/'] button[type=submit]")
    page.wait_for_load_state()
    text = page.inner_text("main") if page.locator("main").count() else page.content()
    assert "西湖新区" in text and "有错误的行" in text
    page.screenshot(path=str(SCREENSHOTS / "import-dry-run-errors.png"), full_page=True)

    page.click("text=上传修正后的文件")
    page.wait_for_url("**/imports/new/?kind=customers.institution")
    upload(IMPORT_HEADER + "H1,杭州市第一人民医院,公立医院,三级甲等,浙江,杭州,上城区,rep_east\n"
                           "H2,杭州西湖大药房,单体药店,,浙江,杭州,西湖区,rep_east\n")
    page.click("form[action$='/check/'] button[type=submit]")
    page.wait_for_load_state()
    page.click("form[action$='/import/'] button[type=submit]")
    page.wait_for_load_state()
    assert "已导入" in page.content()
    page.screenshot(path=str(SCREENSHOTS / "import-done.png"), full_page=True)

    page.click("#user-menu")
    page.click("text=退出")
    page.wait_for_load_state()
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in("rep_east")
    page.click(".navbar-toggler")
    page.fill("nav input[name=q]", "hzsdy")
    page.press("nav input[name=q]", "Enter")
    page.wait_for_url("**/customers/institutions/?q=hzsdy")
    assert "杭州市第一人民医院" in page.content() and "杭州西湖大药房" not in page.content()
    page.screenshot(path=str(SCREENSHOTS / "rep-search-initials-phone.png"), full_page=True)
