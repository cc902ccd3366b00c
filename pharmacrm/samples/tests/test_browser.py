"""Browser journey: rep_east opens his hospital, hands out samples, the doctor signs on the canvas, and the signed
disbursement shows with its signature image."""

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
def test_rep_hands_out_samples_and_the_doctor_signs(org: dict[str, Any], live_server: Any,
                                                     browser_page: Any) -> None:
    from pharmacrm.samples.models import Disbursement
    from pharmacrm.samples.tests.factories import make_world

    world = make_world(org)
    page = browser_page
    _sign_in(page, live_server.url, "rep_east")
    page.goto(f"{live_server.url}{org['institution_east'].get_absolute_url()}")
    page.click("text=发放样品")
    page.wait_for_url("**/samples/disbursements/new/?institution=*")
    page.select_option("#id_contact", str(world["doctor"].pk))
    page.select_option("#id_lot", str(world["lot"].pk))
    page.fill("#id_quantity", "2")
    page.fill("#id_place", "心内科办公室")
    page.click("#disbursement-form button[type=submit]")  # no signature yet: refused on its field
    page.wait_for_load_state()
    assert "接收人须在屏幕上签名" in page.content() and not Disbursement.objects.exists()
    box = page.locator("canvas.signature-canvas").bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 60)
    page.mouse.down()
    for step in range(1, 30):
        page.mouse.move(box["x"] + 40 + step * 12, box["y"] + 60 + (step % 5) * 10)
    page.mouse.up()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "samples-disburse-signed.png"), full_page=True)
    page.click("#disbursement-form button[type=submit]")
    page.wait_for_url("**/samples/disbursements/*/")
    disbursement = Disbursement.objects.get()
    assert disbursement.quantity == 2 and disbursement.signature.mime_type == "image/png"
    assert page.locator("img.signature-image").evaluate("img => img.naturalWidth") > 50
    page.screenshot(path=str(SCREENSHOTS / "samples-disbursement-detail.png"), full_page=True)
