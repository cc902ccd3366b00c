"""Samples API: every endpoint through the same services and scope; bad input is a 400 with field errors."""

from __future__ import annotations

from typing import Any

import pytest

from pharmacrm.core.policy import today
from pharmacrm.samples import services
from pharmacrm.samples.models import Disbursement, Reconciliation, StockTransfer
from pharmacrm.samples.tests.factories import data_url, give, make_world

pytestmark = pytest.mark.django_db

BASE = "/api/v1/samples"


@pytest.fixture
def world(org: dict[str, Any]) -> dict[str, Any]:
    return make_world(org)


def _fields(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, (response.status_code, response.content)
    return response.json()["error"]["fields"]


def test_receipt_transfer_and_inventory(api_client: Any, org: dict[str, Any], world: dict[str, Any]) -> None:
    rep, academic, lot = world["rep"], world["academic"], world["lot"]
    api_client.force_authenticate(world["marketing"])
    assert "quantity" in _fields(api_client.post(f"{BASE}/receipts/", {"lot": lot.pk, "to_holder": rep.pk,
                                                                       "quantity": 0}, format="json"))
    assert "to_holder" in _fields(api_client.post(f"{BASE}/receipts/", {"lot": lot.pk, "to_holder": 999999,
                                                                        "quantity": 1}, format="json"))
    receipt = api_client.post(f"{BASE}/receipts/", {"lot": lot.pk, "to_holder": rep.pk, "quantity": 5}, format="json")
    assert receipt.status_code == 201 and receipt.json()["status"] == "pending"
    lots = api_client.post(f"{BASE}/lots/", {"product": world["product"].pk, "batch_number": "B9",
                                             "expiry_date": str(today())}, format="json")
    assert lots.status_code == 201
    assert "batch_number" in _fields(api_client.post(f"{BASE}/lots/", {"product": world["product"].pk,
                                                                       "batch_number": "B9",
                                                                       "expiry_date": str(today())}, format="json"))

    api_client.force_authenticate(rep)
    assert api_client.get(f"{BASE}/inventory/").json()["results"][0]["quantity"] == 20
    url = f"{BASE}/receipts/{receipt.json()['id']}"
    assert api_client.post(f"{url}/confirm/").json()["status"] == "confirmed"
    assert api_client.post(f"{url}/confirm/").status_code == 409
    assert api_client.get(f"{BASE}/inventory/").json()["results"][0]["quantity"] == 25
    assert api_client.post(f"{BASE}/receipts/", {"lot": lot.pk, "to_holder": rep.pk, "quantity": 5},
                           format="json").status_code == 403
    assert "quantity" in _fields(api_client.post(f"{BASE}/transfers/", {"lot": lot.pk, "to_holder": academic.pk,
                                                                        "quantity": 26}, format="json"))
    transfer = api_client.post(f"{BASE}/transfers/", {"lot": lot.pk, "to_holder": academic.pk, "quantity": 5},
                               format="json")
    assert transfer.status_code == 201
    turl = f"{BASE}/transfers/{transfer.json()['id']}"
    assert api_client.post(f"{turl}/confirm/").status_code == 403  # only the recipient confirms
    assert "reason" in _fields(api_client.post(f"{turl}/cancel/", {}, format="json"))
    api_client.force_authenticate(academic)
    assert api_client.post(f"{turl}/confirm/").json()["status"] == "confirmed"
    assert [row["quantity"] for row in api_client.get(f"{BASE}/inventory/").json()["results"]] == [5]

    api_client.force_authenticate(org["rep_west"])
    assert api_client.get(f"{BASE}/inventory/").json()["results"] == []
    assert api_client.get(f"{BASE}/transfers/").json()["results"] == []
    assert api_client.get(f"{url}/").status_code == 404
    assert api_client.post(f"{turl}/cancel/", {"reason": "x"}, format="json").status_code == 404


def test_returns_adjustments_and_the_ledger(api_client: Any, org: dict[str, Any], world: dict[str, Any]) -> None:
    rep, lot = world["rep"], world["lot"]
    api_client.force_authenticate(rep)
    assert api_client.post(f"{BASE}/movements/returns/", {"lot": lot.pk, "quantity": 2},
                           format="json").status_code == 201
    assert "quantity" in _fields(api_client.post(f"{BASE}/movements/returns/", {"lot": lot.pk, "quantity": 19},
                                                 format="json"))
    assert "reason" in _fields(api_client.post(f"{BASE}/movements/adjustments/", {"lot": lot.pk, "quantity": -1},
                                               format="json"))
    assert "reason" in _fields(api_client.post(f"{BASE}/movements/adjustments/", {"lot": lot.pk, "quantity": -1,
                                                                                  "reason": " "}, format="json"))
    adjusted = api_client.post(f"{BASE}/movements/adjustments/", {"lot": lot.pk, "quantity": -1, "reason": "破损"},
                               format="json")
    assert adjusted.status_code == 201 and adjusted.json()["kind"] == "adjustment"
    ledger = api_client.get(f"{BASE}/movements/").json()["results"]
    assert [row["quantity"] for row in ledger][:3] == [-1, -2, 20]
    assert services.stock_of(rep, lot) == 17
    api_client.force_authenticate(org["rep_west"])
    assert api_client.get(f"{BASE}/movements/").json()["results"] == []


def test_disbursement_api_refusals_and_scope(api_client: Any, org: dict[str, Any], world: dict[str, Any]) -> None:
    api_client.force_authenticate(world["rep"])
    good = {"contact": world["doctor"].pk, "lot": world["lot"].pk, "quantity": 2, "place": "心内科",
            "signature": data_url()}
    for bad, field in (({"signature": ""}, "signature"), ({"quantity": 10**12}, "quantity"),
                       ({"quantity": "十"}, "quantity"), ({"quantity": -1}, "quantity"), ({"contact": "x"}, "contact"),
                       ({"lot": world["expired"].pk}, "lot"), ({"quantity": 11}, "quantity"),
                       ({"institution": org["institution_west"].pk}, "institution"),
                       ({"disbursed_at": "昨天"}, "disbursed_at"), ({"place": ""}, "place"),
                       ({"signature": "data:image/png;base64,%%%"}, "signature")):
        assert field in _fields(api_client.post(f"{BASE}/disbursements/", {**good, **bad}, format="json")), bad
    assert not Disbursement.objects.exists()
    created = api_client.post(f"{BASE}/disbursements/", good, format="json")
    assert created.status_code == 201 and created.json()["number"].startswith("SD")
    assert created.json()["signature_url"].startswith("/files/") or created.json()["signature_url"]
    api_client.force_authenticate(org["rep_west"])
    assert api_client.get(f"{BASE}/disbursements/").json()["results"] == []
    assert api_client.get(f"{BASE}/disbursements/{created.json()['id']}/").status_code == 404
    api_client.force_authenticate(org["compliance"])
    assert len(api_client.get(f"{BASE}/disbursements/").json()["results"]) == 1
    assert api_client.post(f"{BASE}/disbursements/", good, format="json").status_code == 403


def test_reconciliation_api(api_client: Any, org: dict[str, Any], world: dict[str, Any]) -> None:
    rep, lot = world["rep"], world["lot"]
    give(world, 1)
    api_client.force_authenticate(rep)
    assert "lines" in _fields(api_client.post(f"{BASE}/reconciliations/", {"lines": [{"lot": lot.pk, "counted": 18}]},
                                              format="json"))
    assert "lines" in _fields(api_client.post(f"{BASE}/reconciliations/", {"lines": "all"}, format="json"))
    assert "lines" in _fields(api_client.post(f"{BASE}/reconciliations/", {"lines": [{"lot": lot.pk,
                                                                                      "counted": -3}]}, format="json"))
    created = api_client.post(f"{BASE}/reconciliations/", {"lines": [{"lot": lot.pk, "counted": 18,
                                                                      "reason": "少一盒"}]}, format="json")
    assert created.status_code == 201 and created.json()["lines"][0]["difference"] == -1
    url = f"{BASE}/reconciliations/{created.json()['id']}"
    assert api_client.post(f"{url}/approve/").status_code == 403
    api_client.force_authenticate(org["rep_west"])
    assert api_client.post(f"{url}/approve/").status_code == 404
    api_client.force_authenticate(org["manager_east"])
    assert "reason" in _fields(api_client.post(f"{url}/send-back/", {}, format="json"))
    assert api_client.post(f"{url}/send-back/", {"reason": "请复盘"}, format="json").json()["status"] == "sent_back"
    api_client.force_authenticate(rep)
    again = api_client.post(f"{url}/submit/", {"lines": [{"lot": lot.pk, "counted": 19}]}, format="json")
    assert again.status_code == 200 and again.json()["status"] == "submitted"
    api_client.force_authenticate(org["manager_east"])
    approved = api_client.post(f"{url}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert api_client.post(f"{url}/approve/").status_code == 409
    assert services.stock_of(rep, lot) == 19 and Reconciliation.objects.count() == 1
    assert StockTransfer.objects.count() == 1
