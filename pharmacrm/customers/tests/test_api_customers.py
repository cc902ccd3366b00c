"""Customer API: create with duplicate/USCC rules, change requests, search, masking, scope."""

from __future__ import annotations

from typing import Any

from pharmacrm.core.models import AuditEntry
from pharmacrm.customers import services
from pharmacrm.customers.models import ChangeRequest, Contact, Institution


def test_create_and_search_customers(api_client: Any, org: dict[str, Any]) -> None:
    api_client.force_authenticate(org["rep_east"])
    body = {"name": "上海交通大学医学院附属瑞金医院", "kind": "public_hospital", "hospital_grade": "3A",
            "division": "310101", "phone": "021 6437 0045", "tags": ["医联体"]}
    response = api_client.post("/api/v1/customers/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["review_status"] == "pending" and data["phone"] == "021-64370045" and data["tags"] == ["医联体"]
    assert data["owner"] == org["rep_east"].pk

    again = api_client.post("/api/v1/customers/", {**body, "name": "上海交通大學醫學院附屬瑞金醫院"}, format="json")
    assert again.status_code == 400 and "name" in again.json()["error"]["fields"]  # similar name warning
    bad = api_client.post("/api/v1/customers/", {"name": "", "kind": "x", "division": "999999", "uscc": "1"},
                          format="json")
    assert bad.status_code == 400 and {"name", "kind", "division"} <= set(bad.json()["error"]["fields"])

    found = api_client.get("/api/v1/customers/", {"search": "rjyy"}).json()["results"]
    assert [row["name"] for row in found] == ["上海交通大学医学院附属瑞金医院"]
    assert api_client.get("/api/v1/customers/", {"search": "华西"}).json()["results"] == []


def test_rep_edit_of_locked_field_answers_with_the_change_request(api_client: Any, org: dict[str, Any]) -> None:
    institution = org["institution_east"]
    api_client.force_authenticate(org["rep_east"])
    url = f"/api/v1/customers/{institution.pk}/"
    response = api_client.patch(url, {"name": "中山医院", "reason": "简称"}, format="json",
                                HTTP_IF_MATCH=api_client.get(url)["ETag"])
    assert response.status_code == 200 and response.json()["name"] == "复旦大学附属中山医院"
    change_id = response.json()["change_request"]
    assert ChangeRequest.objects.filter(pk=change_id, status="pending").exists()
    assert api_client.post(f"/api/v1/change-requests/{change_id}/decide/", {"approve": True},
                           format="json").status_code == 403
    api_client.force_authenticate(org["steward"])
    decided = api_client.post(f"/api/v1/change-requests/{change_id}/decide/", {"approve": True}, format="json")
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    assert Institution.objects.get(pk=institution.pk).name == "中山医院"


def test_qualification_endpoint(api_client: Any, org: dict[str, Any]) -> None:
    api_client.force_authenticate(org["rep_east"])
    url = f"/api/v1/customers/{org['institution_east'].pk}/qualification/"
    answer = api_client.get(url, {"category": "chemical"}).json()
    assert answer["ok"] is False and answer["status"] == "missing" and answer["reasons"]
    assert api_client.get(url, {"category": "spaceship"}).status_code == 400
    api_client.force_authenticate(org["rep_west"])
    assert api_client.get(url, {"category": "chemical"}).status_code == 404


def test_contacts_api_masks_and_reveals_with_audit(api_client: Any, org: dict[str, Any]) -> None:
    api_client.force_authenticate(org["rep_east"])
    created = api_client.post("/api/v1/contacts/", {"institution": org["institution_east"].pk, "name": "樊嘉",
                                                    "mobile": "138 1234 5678"}, format="json")
    assert created.status_code == 201 and created.json()["mobile"] == "138****5678"
    contact_id = created.json()["id"]
    assert api_client.get("/api/v1/contacts/", {"search": "fanjia"}).json()["results"][0]["mobile"] == "138****5678"
    revealed = api_client.post(f"/api/v1/contacts/{contact_id}/reveal/")
    assert revealed.status_code == 200 and revealed.json()["mobile"] == "13812345678"
    assert AuditEntry.objects.filter(action="view_personal_data", object_id=str(contact_id)).count() == 1

    api_client.force_authenticate(org["leader"])
    assert api_client.post(f"/api/v1/contacts/{contact_id}/reveal/").status_code == 403
    api_client.force_authenticate(org["rep_west"])
    assert api_client.post(f"/api/v1/contacts/{contact_id}/reveal/").status_code == 404
    refused = api_client.post("/api/v1/contacts/", {"institution": org["institution_east"].pk, "name": "张三"},
                              format="json")
    assert refused.status_code == 400 and not Contact.objects.filter(name="张三").exists()


def test_licences_api_scope_and_review(api_client: Any, org: dict[str, Any]) -> None:
    api_client.force_authenticate(org["rep_east"])
    created = api_client.post("/api/v1/licences/", {"institution": org["institution_east"].pk,
                                                    "kind": "medical_institution", "number": "PDY-001",
                                                    "next_verification_on": "2030-01-01"}, format="json")
    assert created.status_code == 201 and created.json()["review_status"] == "pending"
    licence_id = created.json()["id"]
    assert api_client.post("/api/v1/licences/", {"institution": org["institution_west"].pk,
                                                 "kind": "business", "number": "1"}, format="json").status_code == 400
    assert api_client.post(f"/api/v1/licences/{licence_id}/review/", {"approve": True},
                           format="json").status_code == 403
    api_client.force_authenticate(org["rep_west"])
    assert api_client.get("/api/v1/licences/").json()["results"] == []
    api_client.force_authenticate(org["steward"])
    reviewed = api_client.post(f"/api/v1/licences/{licence_id}/review/", {"approve": True}, format="json")
    assert reviewed.status_code == 200 and reviewed.json()["review_status"] == "approved"
    institution = Institution.objects.get(pk=org["institution_east"].pk)
    assert institution.qualification_status == "qualified"
    assert services.is_steward(org["steward"])
