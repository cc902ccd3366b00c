"""Sample pages: they render for the roles that use them, refuse the others, show field errors and never 500."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import login
from pharmacrm.core.policy import today
from pharmacrm.samples import services
from pharmacrm.samples.models import Disbursement, Reconciliation, StockMovement, StockTransfer
from pharmacrm.samples.tests.factories import data_url, give, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org: dict[str, Any]) -> dict[str, Any]:
    return make_world(org)


def _page(client: Any, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def test_pages_render_for_the_rep(client: Any, org: dict[str, Any], world: dict[str, Any]) -> None:
    disbursement = give(world, 2)
    login(client, world["rep"])
    home = _page(client, "/")
    assert "/samples/" in home and "样品" in home
    inventory = _page(client, "/samples/")
    assert "B2401" in inventory and "18" in inventory and "下次盘点" in inventory
    for url in ("/samples/movements/", "/samples/transfers/", "/samples/disbursements/", "/samples/reconciliations/",
                "/samples/lots/", "/samples/transfers/new/", "/samples/returns/new/", "/samples/adjustments/new/",
                "/samples/reconciliations/new/", disbursement.get_absolute_url(),
                f"/samples/disbursements/new/?institution={org['institution_east'].pk}"):
        _page(client, url)
    detail = _page(client, disbursement.get_absolute_url())
    assert disbursement.signature.get_absolute_url() in detail and "王医生" in detail
    signature = client.get(disbursement.signature.get_absolute_url())
    assert signature.status_code == 200 and b"".join(signature.streaming_content).startswith(b"\x89PNG")
    customer = _page(client, org["institution_east"].get_absolute_url())
    assert "/samples/disbursements/new/?institution=" in customer and disbursement.get_absolute_url() in customer
    for url in ("/samples/receipts/new/", "/samples/lots/new/"):
        _page(client, url, 403)


def test_the_recipient_s_page_lists_the_samples_they_received(client: Any, org: dict[str, Any],
                                                               world: dict[str, Any]) -> None:
    disbursement = give(world, 2)
    contact_page = world["doctor"].get_absolute_url()
    login(client, world["rep"])
    page = _page(client, contact_page)
    assert disbursement.get_absolute_url() in page and "阿托伐他汀钙片 × 2" in page
    filtered = _page(client, f"/samples/disbursements/?contact={world['doctor'].pk}")
    assert disbursement.get_absolute_url() in filtered
    assert disbursement.get_absolute_url() not in _page(client, f"/samples/disbursements/?contact={org['admin'].pk + 999}")
    login(client, org["steward"])  # sees the contact, not the samples
    assert disbursement.get_absolute_url() not in _page(client, contact_page)


def test_other_reps_and_roles_are_refused(client: Any, org: dict[str, Any], world: dict[str, Any]) -> None:
    disbursement = give(world, 1)
    transfer = StockTransfer.objects.get()
    login(client, org["rep_west"])
    assert "王医生" not in _page(client, "/samples/disbursements/")
    assert "B2401" not in _page(client, "/samples/")
    _page(client, disbursement.get_absolute_url(), 404)
    _page(client, transfer.get_absolute_url(), 404)
    assert client.get(disbursement.signature.get_absolute_url()).status_code == 404
    _page(client, f"/samples/disbursements/new/?institution={org['institution_east'].pk}", 404)
    assert client.post(f"/samples/transfers/{transfer.pk}/confirm/").status_code == 404
    login(client, org["steward"])
    _page(client, "/samples/", 403)
    assert "/samples/" not in _page(client, "/")


def test_disbursing_on_the_page(client: Any, org: dict[str, Any], world: dict[str, Any]) -> None:
    login(client, world["rep"])
    url = f"/samples/disbursements/new/?institution={org['institution_east'].pk}"
    form = {"contact": world["doctor"].pk, "lot": world["lot"].pk, "quantity": "2", "place": "心内科",
            "signature": data_url()}
    for bad, field_text in (({"signature": ""}, "签"), ({"quantity": "999999999"}, ""), ({"quantity": "二"}, ""),
                            ({"quantity": "-3"}, ""), ({"contact": "99999"}, ""), ({"lot": "abc"}, ""),
                            ({"place": ""}, ""), ({"signature": "data:image/png;base64,AAAA"}, "PNG"),
                            ({"quantity": "21"}, "10"), ({"disbursed_at": "明天"}, "")):
        response = client.post(url, {**form, **bad})
        assert response.status_code == 400, bad
        assert "is-invalid" in response.content.decode() or "invalid-feedback" in response.content.decode()
        assert field_text in response.content.decode()
    assert not Disbursement.objects.exists()
    response = client.post(url, {**form, "notes": "学术交流用（GBK：喆堃）"})
    assert response.status_code == 302
    disbursement = Disbursement.objects.get()
    assert disbursement.quantity == 2 and disbursement.signature is not None
    assert services.stock_of(world["rep"], world["lot"]) == 18


def test_receipt_transfer_return_adjustment_pages(client: Any, org: dict[str, Any], world: dict[str, Any]) -> None:
    rep, academic, lot = world["rep"], world["academic"], world["lot"]
    login(client, world["marketing"])
    assert client.post("/samples/receipts/new/", {"lot": lot.pk, "to_holder": rep.pk, "quantity": ""}).status_code == 400
    assert client.post("/samples/receipts/new/", {"lot": lot.pk, "to_holder": org["manager_east"].pk,
                                                  "quantity": "5"}).status_code == 400  # not a holder: not a choice
    response = client.post("/samples/receipts/new/", {"lot": lot.pk, "to_holder": rep.pk, "quantity": "5"})
    receipt = StockTransfer.objects.latest("id")
    assert response.status_code == 302 and receipt.status == "pending"
    assert client.post("/samples/lots/new/", {"product": world["product"].pk, "batch_number": "B2402",
                                              "expiry_date": "2020-01-01"}).status_code == 400
    login(client, rep)
    assert "B2401" in _page(client, receipt.get_absolute_url())
    client.post(f"/samples/transfers/{receipt.pk}/confirm/")
    assert services.stock_of(rep, lot) == 25
    bad = client.post("/samples/transfers/new/", {"lot": lot.pk, "to_holder": academic.pk, "quantity": "26"})
    assert bad.status_code == 400 and "25" in bad.content.decode()
    client.post("/samples/transfers/new/", {"lot": lot.pk, "to_holder": academic.pk, "quantity": "5"})
    transfer = StockTransfer.objects.latest("id")
    assert services.stock_of(rep, lot) == 20 and transfer.status == "pending"
    login(client, academic)
    client.post(f"/samples/transfers/{transfer.pk}/confirm/")
    assert services.stock_of(academic, lot) == 5
    login(client, rep)
    assert client.post("/samples/returns/new/", {"lot": lot.pk, "quantity": "3", "reason": "退回"}).status_code == 302
    bad = client.post("/samples/adjustments/new/", {"lot": lot.pk, "quantity": "-1", "reason": ""})
    assert bad.status_code == 400 and "原因" in bad.content.decode()
    bad = client.post("/samples/adjustments/new/", {"lot": lot.pk, "quantity": "5", "reason": "多了"})
    assert bad.status_code == 400  # reps do not add stock
    assert client.post("/samples/adjustments/new/", {"lot": lot.pk, "quantity": "-1",
                                                     "reason": "破损"}).status_code == 302
    assert services.stock_of(rep, lot) == 16
    assert list(StockMovement.objects.filter(holder=rep).order_by("-id").values_list("kind", flat=True)[:2]) == [
        "adjustment", "return"]


def test_reconciliation_pages(client: Any, org: dict[str, Any], world: dict[str, Any]) -> None:
    rep, lot = world["rep"], world["lot"]
    login(client, rep)
    page = _page(client, "/samples/reconciliations/new/")
    assert "B2401" in page and "20" in page
    form = {"counted_on": str(today()), "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "1",
            "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "1000", "lines-0-lot": lot.pk, "lines-0-counted": "19"}
    bad = client.post("/samples/reconciliations/new/", form)
    assert bad.status_code == 400 and "原因" in bad.content.decode() and not Reconciliation.objects.exists()
    assert client.post("/samples/reconciliations/new/", {**form, "lines-0-counted": "很多"}).status_code == 400
    response = client.post("/samples/reconciliations/new/", {**form, "lines-0-reason": "丢了一盒"})
    reconciliation = Reconciliation.objects.get()
    assert response.status_code == 302
    assert "/approve/" not in _page(client, reconciliation.get_absolute_url())  # not his own
    login(client, org["manager_east"])
    page = _page(client, reconciliation.get_absolute_url())
    assert "/approve/" in page and "丢了一盒" in page
    client.post(f"/samples/reconciliations/{reconciliation.pk}/send-back/", {"reason": ""})
    reconciliation.refresh_from_db()
    assert reconciliation.status == "submitted"
    client.post(f"/samples/reconciliations/{reconciliation.pk}/approve/")
    reconciliation.refresh_from_db()
    assert reconciliation.status == "approved" and services.stock_of(rep, lot) == 19
    login(client, org["rep_west"])
    assert client.post(f"/samples/reconciliations/{reconciliation.pk}/approve/").status_code == 404
    _page(client, reconciliation.get_absolute_url(), 404)


def test_lists_filter_and_head_office_edits_a_lot(client: Any, org: dict[str, Any], world: dict[str, Any]) -> None:
    give(world, 1)
    login(client, world["rep"])
    assert "B2401" in _page(client, "/samples/movements/?kind=disbursement")
    assert "王医生" not in _page(client, "/samples/disbursements/?disbursed_from=2999-01-01")
    assert "王医生" in _page(client, f"/samples/disbursements/?institution={org['institution_east'].pk}")
    for url in ("/samples/transfers/?status=nonsense", "/samples/reconciliations/?status=%E4%B8%AD",
                "/samples/disbursements/?disbursed_from=yesterday", "/samples/?page=abc&sort=x"):
        assert client.get(url).status_code in (200, 400), url
    _page(client, f"/samples/lots/{world['lot'].pk}/edit/", 403)
    login(client, world["marketing"])
    url = f"/samples/lots/{world['lot'].pk}/edit/"
    assert world["lot"].batch_number in _page(client, url)
    assert client.post(url, {"batch_number": "", "expiry_date": "不是日期", "version": "1"}).status_code == 400
    assert client.post(url, {"batch_number": "B2401", "expiry_date": "2030-01-31", "notes": "更正效期",
                             "version": "99"}).status_code == 400  # someone else saved first
    assert client.post(url, {"batch_number": "B2401", "expiry_date": "2030-01-31", "notes": "更正效期",
                             "version": str(world["lot"].version)}).status_code == 302
    world["lot"].refresh_from_db()
    assert str(world["lot"].expiry_date) == "2030-01-31"
    assert client.get("/samples/lots/999999/edit/").status_code == 404
