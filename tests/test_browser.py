"""Browser journey: rep_east signs in, sees the home page in Chinese, switches to English.

Drives Debian's /usr/bin/chromium through Playwright against a live server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import CHROMIUM

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (CI installs it)"),
]


def _sign_in(page: Any, base: str, username: str) -> None:
    from conftest import DEMO_PASSWORD

    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


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
    from pharmacrm.core import imports, tasks

    # the worker's job runs in the request that queues it (no worker process in the test)
    monkeypatch.setattr(tasks, "run_import", lambda job_id, commit: imports.run(job_id, commit=commit))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser_page

    def sign_in(username: str) -> None:
        _sign_in(page, live_server.url, username)

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


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_order_from_draft_to_invoiced(org: dict[str, Any], live_server: Any, browser_page: Any) -> None:
    """rep_east orders for a qualified pharmacy from its page and submits; manager_east confirms and ships
    with batch and expiry; rep_east records the receipt; finance invoices: the order is invoiced."""
    import datetime

    from conftest import DEMO_PASSWORD
    from pharmacrm.core.policy import today
    from pharmacrm.customers import qualification, services
    from pharmacrm.org.models import Division
    from pharmacrm.org.roles import Role
    from pharmacrm.org.services import create_user
    from pharmacrm.sales import orders
    from pharmacrm.sales import services as catalogue
    from pharmacrm.sales.models import Order

    steward = org["steward"]
    pharmacy = services.create_institution(actor=steward, name="老百姓大药房（徐汇店）", kind="pharmacy",
                                           division=Division.objects.get(pk="310104"), owner=org["rep_east"])
    for kind, categories in (("business", []), ("drug_trading", ["chemical"])):
        licence = qualification.add_licence(actor=steward, institution=pharmacy, kind=kind, number=f"{kind}-1",
                                            valid_to=today() + datetime.timedelta(days=400), categories=categories)
        qualification.review_licence(actor=steward, licence=licence, approve=True)
    finance = create_user(actor=None, username="finance", full_name="财务", role=Role.FINANCE,
                          team=org["teams"]["company"], email="finance@example.com", password=DEMO_PASSWORD)
    orders.set_credit_limit(actor=finance, institution=pharmacy, limit_fen=10_000_000)
    catalogue.create_product(actor=org["admin"], code="HK-CV-001", generic_name="阿托伐他汀钙片", dosage_form="tablet",
                             strength="20mg", pack="7片/盒", approval_number="国药准字H20230101",
                             marketing_authorisation_holder="华康制药", therapeutic_area="cardiovascular",
                             list_price_fen=3650, category="chemical")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser_page

    def sign_in(username: str) -> None:
        _sign_in(page, live_server.url, username)

    def sign_out() -> None:
        page.click("#user-menu")
        page.click("text=退出")
        page.wait_for_load_state()

    sign_in("rep_east")
    page.goto(f"{live_server.url}{pharmacy.get_absolute_url()}")
    page.click("text=新建订单")
    page.select_option("#id_lines-0-product", label="阿托伐他汀钙片 20mg 7片/盒")
    page.fill("#id_lines-0-quantity", "100")
    page.click("button[name=submit_now]")
    page.wait_for_url("**/sales/orders/*/")
    assert "已提交" in page.content() and "¥3,650.00" in page.content()
    order = Order.objects.get()
    sign_out()

    sign_in("manager_east")
    page.goto(f"{live_server.url}{order.get_absolute_url()}")
    page.click("#order-actions button:has-text('确认')")
    page.wait_for_load_state()
    assert "已确认" in page.content()
    page.click("#order-actions button:has-text('登记发货')")
    page.fill("#ship-form input[name=carrier]", "顺丰速运")
    page.fill("#ship-form input[name=tracking_number]", "SF1234567890")
    page.fill("#id_ship-0-batch_number", "240101")
    page.fill("#id_ship-0-expiry_date", str(today() + datetime.timedelta(days=700)))
    page.click("#ship-form button[type=submit]")
    page.wait_for_load_state()
    assert "已发货" in page.content()
    sign_out()

    sign_in("rep_east")
    page.goto(f"{live_server.url}{order.get_absolute_url()}#tab-shipments")
    page.fill("#tab-shipments input[name=received_by]", "王店长")
    page.click("#tab-shipments button:has-text('登记签收')")
    page.wait_for_load_state()
    assert "已签收" in page.content()
    sign_out()

    sign_in("finance")
    page.goto(f"{live_server.url}{order.get_absolute_url()}#tab-invoices")
    page.fill("#id_number", "INV-0001")
    page.check("#invoice-form input[name=shipments]")
    page.click("#invoice-form button[type=submit]")
    page.wait_for_load_state()
    order.refresh_from_db()
    assert order.status == "invoiced" and "已开票" in page.content()
    page.wait_for_timeout(400)  # the invoices tab fades in (the page was asked for #tab-invoices)
    page.screenshot(path=str(SCREENSHOTS / "order-invoiced.png"), full_page=True)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_flow_file_mapping_queue_and_purchases_tab(org: dict[str, Any], live_server: Any, browser_page: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The steward imports a distributor's GBK flow file; one terminal name matches nothing, so she maps it
    from the queue by customer code; rep_east then sees both lines on the customer's purchases tab."""
    from pharmacrm.core import imports, tasks
    from pharmacrm.core.policy import today
    from pharmacrm.customers import services
    from pharmacrm.org.models import Division
    from pharmacrm.sales import services as catalogue

    monkeypatch.setattr(tasks, "run_import", lambda job_id, commit: imports.run(job_id, commit=commit))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    steward, hospital = org["steward"], org["institution_east"]
    services.update_institution(actor=steward, institution=hospital, changes={"code": "ZS-001"})
    services.create_institution(actor=steward, name="国药控股上海有限公司", kind="distributor",
                                division=Division.objects.get(pk="310101"), owner=org["rep_east"])
    catalogue.create_product(actor=org["admin"], code="ATV20", generic_name="阿托伐他汀钙片", dosage_form="tablet",
                             strength="20mg", pack="7片/盒", approval_number="国药准字H20051408",
                             marketing_authorisation_holder="华康制药", therapeutic_area="cardiovascular",
                             list_price_fen=2880, category="chemical")
    day = today().replace(day=1).isoformat()
    content = ("销售日期,经销商,终端名称,终端城市,产品,规格,数量,金额（元）,批号\n"
               f"{day},国药控股上海有限公司,复旦大学附属中山医院,上海,阿托伐他汀钙片,20mg,100,2880.00,B1\n"
               f"{day},国药控股上海有限公司,中山医院（枫林路）,上海,阿托伐他汀钙片,20mg,50,1440.00,B1\n")
    page, base = browser_page, live_server.url

    _sign_in(page, base, "steward")
    page.goto(f"{base}/imports/new/?kind=sales.flow")
    page.set_input_files("#id_file", files=[{"name": "流向.csv", "mimeType": "text/csv",
                                              "buffer": content.encode("gbk")}])
    page.click("form[enctype='multipart/form-data'] button[type=submit]")
    page.wait_for_url("**/imports/*/")
    page.click("form[action$='/check/'] button[type=submit]")
    page.wait_for_load_state()
    page.click("form[action$='/import/'] button[type=submit]")
    page.wait_for_load_state()
    assert "已匹配1行" in page.content()
    page.screenshot(path=str(SCREENSHOTS / "flow-import-done.png"), full_page=True)
    page.click("text=打开映射队列")
    page.wait_for_url("**/sales/flow-mappings/")
    page.click("text=中山医院（枫林路）")
    page.fill("#id_code", "ZS-001")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/sales/flow-mappings/")
    assert "已映射" in page.content() and "没有待映射的名称" in page.content()

    page.click("#user-menu")
    page.click("text=退出")
    page.wait_for_load_state()
    _sign_in(page, base, "rep_east")
    page.goto(f"{base}{hospital.get_absolute_url()}")
    page.click("#purchases-tab")
    page.wait_for_selector("#tab-purchases .purchase-chart")
    text = page.inner_text("#tab-purchases")
    assert "¥4,320.00" in text and "阿托伐他汀钙片" in text and "150" in text
    page.screenshot(path=str(SCREENSHOTS / "purchases-tab.png"), full_page=True)
