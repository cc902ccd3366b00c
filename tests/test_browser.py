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


@pytest.mark.django_db(transaction=True)
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
