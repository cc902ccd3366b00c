"""The service desk through the API: log, respond, move with If-Match, notes, PV; bad input → 400, scope → 404."""

from __future__ import annotations

from typing import Any

import pytest

from pharmacrm.service.models import Case

pytestmark = pytest.mark.django_db


def test_a_case_through_the_api(api_client: Any, desk: dict[str, Any]) -> None:
    api_client.force_authenticate(desk["rep_east"])
    for bad in ({}, {"institution": desk["institution_east"].pk, "kind": "gossip", "title": "t", "description": "d"},
                {"institution": "x", "kind": "complaint", "title": "t", "description": "d"},
                {"institution": desk["institution_east"].pk, "kind": "complaint", "title": "t" * 201,
                 "description": "d"},
                {"institution": desk["institution_west"].pk, "kind": "complaint", "title": "t", "description": "d"},
                {"institution": desk["institution_east"].pk, "kind": "quality", "title": "t", "description": "d"}):
        response = api_client.post("/api/v1/cases/", bad, format="json")
        assert response.status_code == 400, bad
    assert not Case.objects.exists()
    response = api_client.post("/api/v1/cases/", {"institution": desk["institution_east"].pk, "kind": "complaint",
                                                  "title": "发票错误", "description": "发票抬头错", "severity": "low"},
                               format="json")
    assert response.status_code == 201, response.data
    url = f"/api/v1/cases/{response.data['id']}/"
    assert {clock["kind"] for clock in response.data["clocks"]} == {"first_response", "contact", "resolution"}
    assert api_client.post(f"{url}respond/").status_code == 403  # the rep logged it; the desk works it
    assert api_client.post(f"{url}notes/", {"body": "客户很急"}, format="json").status_code == 201
    api_client.force_authenticate(desk["rep_west"])
    assert api_client.get(url).status_code == 404
    api_client.force_authenticate(desk["agent"])
    response = api_client.post(f"{url}respond/")
    assert response.status_code == 200 and response.data["status"] == "acknowledged"
    version = response.data["version"]
    assert api_client.post(f"{url}move/", {"to": "received"}, format="json").status_code == 400
    response = api_client.post(f"{url}move/", {"to": "resolved", "solution": "重开发票"}, format="json",
                               HTTP_IF_MATCH=f'"{version - 1}"')
    assert response.status_code in (409, 412)
    response = api_client.post(f"{url}move/", {"to": "resolved", "solution": "重开发票"}, format="json",
                               HTTP_IF_MATCH=f'"{version}"')
    assert response.status_code == 200 and response.data["status"] == "resolved"
    assert api_client.post(f"{url}move/", {"to": "closed"}, format="json").status_code == 409  # not confirmed
    response = api_client.post(f"{url}pv/", {"kind": "adr", "seriousness": "serious"}, format="json")
    assert response.status_code == 200 and response.data["pv_kind"] == "adr"
    assert api_client.post(f"{url}pv-report/", {"reference": "R1"}, format="json").status_code == 403
    api_client.force_authenticate(desk["pv"])
    assert api_client.get("/api/v1/case-clocks/?breached=1").status_code == 200
    response = api_client.post(f"{url}pv-report/", {"reference": "ADR-2026-1"}, format="json")
    assert response.status_code == 200 and response.data["pv_reference"] == "ADR-2026-1"
