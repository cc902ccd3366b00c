"""Institution edit form: inline errors, no partial write, stale edits refused, permission."""

from __future__ import annotations

from typing import Any

from conftest import login
from pharmacrm.core.models import AuditEntry
from pharmacrm.customers.models import Institution


def _form(institution: Institution, **changes: Any) -> dict[str, Any]:
    data = {"name": institution.name, "short_name": "", "kind": institution.kind,
            "hospital_grade": institution.hospital_grade, "status": institution.status, "address": "",
            "phone": "", "division": institution.division_id, "version": institution.version}
    data.update(changes)
    return data


def test_edit_saves_and_audits(client: Any, org: dict[str, Any]) -> None:
    institution = org["institution_east"]
    login(client, org["rep_east"])
    response = client.post(f"/customers/institutions/{institution.pk}/edit/", _form(institution, phone="021-64041990"))
    assert response.status_code == 302
    institution.refresh_from_db()
    assert institution.phone == "021-64041990" and institution.version == 2
    assert AuditEntry.objects.for_object(institution).filter(action="update").count() == 1


def test_bad_input_shows_inline_errors_and_writes_nothing(client: Any, org: dict[str, Any]) -> None:
    institution = org["institution_east"]
    login(client, org["rep_east"])
    response = client.post(f"/customers/institutions/{institution.pk}/edit/",
                           _form(institution, name="", kind="spaceship", phone="9" * 500))
    assert response.status_code == 400
    page = response.content.decode()
    assert page.count("invalid-feedback") >= 3
    institution.refresh_from_db()
    assert institution.version == 1 and institution.name == "复旦大学附属中山医院"


def test_stale_edit_is_refused(client: Any, org: dict[str, Any]) -> None:
    institution = org["institution_east"]
    login(client, org["rep_east"])
    stale = _form(institution, phone="021-64041991")
    client.post(f"/customers/institutions/{institution.pk}/edit/", _form(institution, phone="021-64041992"))
    response = client.post(f"/customers/institutions/{institution.pk}/edit/", stale)
    assert response.status_code == 400
    institution.refresh_from_db()
    assert institution.phone == "021-64041992"


def test_out_of_scope_and_view_only_roles_cannot_edit(client: Any, org: dict[str, Any]) -> None:
    login(client, org["rep_west"])
    assert client.get(f"/customers/institutions/{org['institution_east'].pk}/edit/").status_code == 404
    login(client, org["leader"])
    assert client.post(f"/customers/institutions/{org['institution_east'].pk}/edit/",
                       _form(org["institution_east"], phone="021-64041991")).status_code == 403
    org["institution_east"].refresh_from_db()
    assert org["institution_east"].phone == ""
