"""Role × scope: who sees which institutions, in lists, pages and the API."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import login
from pharmacrm.customers.models import Contact, Institution


@pytest.mark.parametrize(
    ("persona", "sees_east", "sees_west"),
    [
        ("rep_east", True, False),
        ("rep_west", False, True),
        ("manager_east", True, False),
        ("regional_east", True, False),
        ("steward", True, True),
        ("compliance", True, True),
        ("leader", True, True),
    ],
)
def test_institution_visibility_by_role(org: dict[str, Any], persona: str, sees_east: bool, sees_west: bool) -> None:
    visible = set(Institution.objects.visible_to(org[persona]))
    assert (org["institution_east"] in visible) is sees_east
    assert (org["institution_west"] in visible) is sees_west


def test_rep_cannot_open_other_territory(client: Any, org: dict[str, Any]) -> None:
    login(client, org["rep_east"])
    assert client.get(org["institution_east"].get_absolute_url()).status_code == 200
    assert client.get(org["institution_west"].get_absolute_url()).status_code == 404
    assert client.get("/customers/institutions/999999/").status_code == 404


def test_rep_list_and_search_show_only_own(client: Any, org: dict[str, Any]) -> None:
    login(client, org["rep_east"])
    page = client.get("/customers/institutions/", {"q": "医院"}).content.decode()
    assert "复旦大学附属中山医院" in page
    assert "四川大学华西医院" not in page


def test_rep_cannot_fetch_other_by_api(api_client: Any, org: dict[str, Any]) -> None:
    api_client.force_authenticate(org["rep_east"])
    listing = api_client.get("/api/v1/institutions/").json()
    assert [row["id"] for row in listing["results"]] == [org["institution_east"].pk]
    assert api_client.get(f"/api/v1/institutions/{org['institution_west'].pk}/").status_code == 404
    assert api_client.patch(f"/api/v1/institutions/{org['institution_west'].pk}/", {"name": "x"},
                            format="json").status_code == 404


NAME = 2  # column of the institution's name in the export (after ID and customer code)


def export_rows(client: Any, **params: str) -> list[list[str]]:
    import csv

    response = client.get("/customers/institutions/", {"format": "csv", **params})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(b"".join(response.streaming_content).decode("utf-8-sig").splitlines()))


def test_export_holds_only_what_the_user_may_see(client: Any, org: dict[str, Any]) -> None:
    from pharmacrm.core.models import AuditEntry

    login(client, org["rep_east"])
    assert client.get("/customers/institutions/", {"format": "csv"}).status_code == 403  # reps do not export
    assert "format=csv" not in client.get("/customers/institutions/").content.decode()

    login(client, org["manager_east"])
    assert "format=csv" in client.get("/customers/institutions/").content.decode()
    names = [row[NAME] for row in export_rows(client)[1:]]
    assert names == ["复旦大学附属中山医院"]
    entry = AuditEntry.objects.filter(action="export", actor=org["manager_east"]).get()
    assert entry.changes["model"] == "customers.Institution"

    login(client, org["steward"])
    assert sorted(row[NAME] for row in export_rows(client)[1:]) == ["四川大学华西医院", "复旦大学附属中山医院"]
    assert [row[NAME] for row in export_rows(client, q="华西")[1:]] == ["四川大学华西医院"]  # filters apply


def test_export_with_bad_filters_is_a_clear_400(client: Any, org: dict[str, Any]) -> None:
    login(client, org["steward"])
    response = client.get("/customers/institutions/", {"format": "csv", "kind": "spaceship"})
    assert response.status_code == 400
    assert "kind" in response.content.decode()


def test_contacts_follow_their_institution(client: Any, api_client: Any, org: dict[str, Any]) -> None:
    from pharmacrm.customers.services import create_contact

    east = create_contact(actor=org["steward"], institution=org["institution_east"], name="王芳", department="心内科",
                          title="chief_physician", mobile="13812345678")
    west = create_contact(actor=org["steward"], institution=org["institution_west"], name="李强", department="药剂科",
                          title="pharmacist", mobile="13987654321")
    login(client, org["rep_east"])
    assert client.get(east.get_absolute_url()).status_code == 200
    assert client.get(west.get_absolute_url()).status_code == 404
    page = client.get("/customers/contacts/").content.decode()
    assert "王芳" in page and "李强" not in page
    assert "138****5678" in client.get(east.get_absolute_url()).content.decode()
    api_client.force_authenticate(org["rep_east"])
    assert [row["id"] for row in api_client.get("/api/v1/contacts/").json()["results"]] == [east.pk]
    assert api_client.get(f"/api/v1/contacts/{west.pk}/").status_code == 404
    api_client.force_authenticate(org["steward"])
    assert {row["id"] for row in api_client.get("/api/v1/contacts/").json()["results"]} == {east.pk, west.pk}


def test_a_contact_is_visible_where_they_currently_work(client: Any, org: dict[str, Any]) -> None:
    """Multi-site practice: a Chengdu professor with a current affiliation at a Shanghai hospital is the
    Shanghai rep's contact too, listed on that hospital's page; once the affiliation ends, no longer."""
    import datetime

    from pharmacrm.customers.services import add_affiliation, create_contact, end_affiliation

    professor = create_contact(actor=org["steward"], institution=org["institution_west"], name="周教授",
                               department="肝胆外科", title="chief_physician")
    login(client, org["rep_east"])
    assert client.get(professor.get_absolute_url()).status_code == 404
    stint = add_affiliation(actor=org["steward"], contact=professor, institution=org["institution_east"],
                            department="肝外科", start_date=datetime.date(2026, 1, 1))
    assert client.get(professor.get_absolute_url()).status_code == 200
    assert "周教授" in client.get("/customers/contacts/").content.decode()
    hospital = client.get(org["institution_east"].get_absolute_url()).content.decode()
    assert "周教授" in hospital and "多点执业" in hospital
    assert list(Contact.objects.visible_to(org["rep_west"]).filter(pk=professor.pk)) == [professor]  # still theirs

    end_affiliation(actor=org["steward"], affiliation=stint, end_date=datetime.date(2026, 3, 31))
    assert client.get(professor.get_absolute_url()).status_code == 404
    assert "周教授" not in client.get(org["institution_east"].get_absolute_url()).content.decode()


def test_notifications_are_private(client: Any, api_client: Any, org: dict[str, Any]) -> None:
    from pharmacrm.core.notifications import notify

    mine = notify(org["rep_east"], "拜访提醒")
    theirs = notify(org["rep_west"], "西南提醒")
    api_client.force_authenticate(org["rep_east"])
    assert [row["id"] for row in api_client.get("/api/v1/notifications/").json()["results"]] == [mine.pk]
    assert api_client.get(f"/api/v1/notifications/{theirs.pk}/").status_code == 404
    login(client, org["rep_east"])
    assert client.get(f"/notifications/{theirs.pk}/").status_code == 404
    assert "拜访提醒" in client.get("/notifications/").content.decode()


@pytest.mark.parametrize(("persona", "status"), [("rep_east", 403), ("manager_east", 403), ("compliance", 200)])
def test_audit_trail_is_for_compliance_and_admins(client: Any, api_client: Any, org: dict[str, Any], persona: str,
                                                  status: int) -> None:
    login(client, org[persona])
    assert client.get("/audit/").status_code == status
    assert client.get("/audit/?format=csv").status_code == status
    api_client.force_authenticate(org[persona])
    assert api_client.get("/api/v1/audit-entries/").status_code == status


def test_history_tab_needs_the_record_to_be_visible(client: Any, org: dict[str, Any]) -> None:
    from django.contrib.contenttypes.models import ContentType

    content_type = ContentType.objects.get_for_model(Institution).pk
    login(client, org["rep_east"])
    own = client.get(f"/history/{content_type}/{org['institution_east'].pk}/")
    assert own.status_code == 200 and "steward" in own.content.decode()  # the creating steward's entry
    assert client.get(f"/history/{content_type}/{org['institution_west'].pk}/").status_code == 404


def test_audit_export_is_audited_and_formula_safe(client: Any, org: dict[str, Any]) -> None:
    from pharmacrm.core.models import AuditEntry
    from pharmacrm.customers.services import update_institution

    update_institution(actor=org["steward"], institution=org["institution_east"], changes={"address": "=HYPERLINK(1)"},
                       reason="=cmd|' /C calc'!A0")
    login(client, org["compliance"])
    body = b"".join(client.get("/audit/?format=csv").streaming_content).decode("utf-8-sig")
    assert "'=cmd" in body
    assert AuditEntry.objects.filter(action="export", actor=org["compliance"]).exists()
