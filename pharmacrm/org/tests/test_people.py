"""The organisation pages: team chart, people directory, role/team/territory changes, deactivation."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from conftest import DEMO_PASSWORD, login
from pharmacrm.core.models import AuditEntry
from pharmacrm.customers.models import Institution
from pharmacrm.org import services
from pharmacrm.org.models import User


def assignment(org: dict[str, Any], person: str, **changes: Any) -> dict[str, Any]:
    user = org[person]
    data = {"role": user.role, "team": user.team_id or "", "version": user.version, "reason": "调岗",
            "territories": [division.pk for division in user.territories.all()]}
    data.update(changes)
    return data


def test_team_chart_is_for_every_colleague_but_people_pages_are_not(client: Any, org: dict[str, Any]) -> None:
    login(client, org["rep_east"])
    chart = client.get("/org/").content.decode()
    assert "华东一组" in chart and "manager_east" in chart
    assert f"/org/users/{org['rep_west'].pk}/" not in chart  # names only, no links into the directory
    assert client.get("/org/users/").status_code == 403
    assert client.get(f"/org/users/{org['rep_west'].pk}/").status_code == 403
    assert client.get("/org/users/", {"format": "csv"}).status_code == 403

    login(client, org["leader"])
    assert f"/org/users/{org['rep_west'].pk}/" in client.get("/org/").content.decode()
    listing = client.get("/org/users/", {"team": org["teams"]["east"].pk}).content.decode()
    assert "rep_east" in listing and "rep_west" not in listing  # a team filter covers its subtree only
    assert client.get(f"/org/users/{org['rep_west'].pk}/").status_code == 200
    assert client.post(f"/org/users/{org['rep_west'].pk}/assignment/", assignment(org, "rep_west")).status_code == 403


def test_a_users_history_is_for_people_administrators_and_themselves(client: Any, org: dict[str, Any]) -> None:
    content_type = ContentType.objects.get_for_model(User).pk
    client.post("/login/", {"username": "admin", "password": "wrong"})  # puts an IP address in admin's history
    login(client, org["rep_east"])
    assert client.get(f"/history/{content_type}/{org['admin'].pk}/").status_code == 404
    assert client.get(f"/history/{content_type}/{org['rep_east'].pk}/").status_code == 200
    login(client, org["compliance"])
    assert client.get(f"/history/{content_type}/{org['admin'].pk}/").status_code == 200


def test_admin_moves_a_rep_into_management_and_scope_follows(client: Any, org: dict[str, Any]) -> None:
    rep = org["rep_east"]
    assert set(Institution.objects.visible_to(rep)) == {org["institution_east"]}
    login(client, org["admin"])
    response = client.post(f"/org/users/{rep.pk}/assignment/", assignment(
        org, "rep_east", role="regional_manager", team=org["teams"]["company"].pk,
        territories=["310000", "510000"], reason="晋升为大区经理"))
    assert response.status_code == 302

    rep = User.objects.get(pk=rep.pk)
    assert rep.role == "regional_manager" and rep.version == org["rep_east"].version + 1
    assert list(rep.groups.values_list("name", flat=True)) == ["regional_manager"]
    assert set(Institution.objects.visible_to(rep)) == {org["institution_east"], org["institution_west"]}
    entries = AuditEntry.objects.filter(content_type__model="user", object_id=str(rep.pk), reason="晋升为大区经理")
    assert {field for entry in entries for field in entry.changes} == {"role", "team", "territories"}


@pytest.mark.parametrize(("changes", "field"), [
    ({"role": "regional_manager", "territories": []}, "territories"),
    ({"role": "manager", "team": ""}, "team"),
    ({"territories": ["310104"]}, "territories"),  # a district
    ({"reason": "   "}, "reason"),
    ({"role": "wizard"}, "role"),
])
def test_bad_assignments_are_refused_field_by_field_without_a_write(client: Any, org: dict[str, Any],
                                                                    changes: dict[str, Any], field: str) -> None:
    rep = org["rep_east"]
    login(client, org["admin"])
    before = AuditEntry.objects.count()
    response = client.post(f"/org/users/{rep.pk}/assignment/", assignment(org, "rep_east", **changes))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert User.objects.get(pk=rep.pk).role == "rep"
    assert AuditEntry.objects.count() == before


def test_stale_assignment_is_refused(client: Any, org: dict[str, Any]) -> None:
    rep = org["rep_east"]
    stale = assignment(org, "rep_east", role="academic_rep")
    services.update_assignment(actor=org["admin"], user=rep, role="rep", team=org["teams"]["west"],
                               territories=list(rep.territories.all()), reason="临时支援")
    login(client, org["admin"])
    response = client.post(f"/org/users/{rep.pk}/assignment/", stale)
    assert response.status_code == 400
    assert "已被他人修改" in str(response.context["form"].non_field_errors())
    assert User.objects.get(pk=rep.pk).role == "rep"


def test_the_last_administrator_cannot_be_demoted_or_deactivated(org: dict[str, Any]) -> None:
    admin = org["admin"]
    with pytest.raises(ValidationError) as demoted:
        services.update_assignment(actor=admin, user=admin, role="leader", team=admin.team, territories=[],
                                   reason="test")
    assert "role" in demoted.value.message_dict
    with pytest.raises(ValidationError):
        services.set_active(actor=admin, user=admin, active=False, reason="test")
    second = services.create_user(actor=admin, username="admin2", full_name="admin2", role="admin")
    with pytest.raises(ValidationError):
        services.set_active(actor=admin, user=admin, active=False, reason="self")  # never yourself
    services.set_active(actor=second, user=admin, active=False, reason="离职")
    assert not User.objects.get(pk=admin.pk).is_active


def test_deactivation_ends_sessions_and_api_tokens(client: Any, api_client: Any, org: dict[str, Any]) -> None:
    from django.test import Client

    rep_session = Client()
    login(rep_session, org["rep_east"])
    assert rep_session.get("/").status_code == 200
    token = api_client.post("/api/v1/auth/token/", {"username": "rep_east", "password": DEMO_PASSWORD},
                            format="json").json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/institutions/").status_code == 200

    login(client, org["admin"])
    response = client.post(f"/org/users/{org['rep_east'].pk}/active/", {"active": "0", "reason": "离职"})
    assert response.status_code == 302
    assert rep_session.get("/").status_code == 302  # back to the login page
    assert api_client.get("/api/v1/institutions/").status_code == 401
    entry = AuditEntry.objects.filter(object_id=str(org["rep_east"].pk), content_type__model="user").latest("id")
    assert entry.changes == {"is_active": [True, False], "session_generation": [0, 1]} and entry.reason == "离职"

    missing_reason = client.post(f"/org/users/{org['rep_east'].pk}/active/", {"active": "1", "reason": ""})
    assert missing_reason.status_code == 302
    assert not User.objects.get(pk=org["rep_east"].pk).is_active
    client.post(f"/org/users/{org['rep_east'].pk}/active/", {"active": "1", "reason": "返聘"})
    assert User.objects.get(pk=org["rep_east"].pk).is_active


def test_people_export_is_audited(client: Any, org: dict[str, Any]) -> None:
    login(client, org["compliance"])
    response = client.get("/org/users/", {"format": "csv", "role": "rep"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "rep_east" in body and "compliance" not in body.split("\n", 1)[1]
    assert AuditEntry.objects.filter(action="export", actor=org["compliance"], object_repr="users").exists()



def test_api_changes_assignments_through_the_same_service(api_client: Any, org: dict[str, Any]) -> None:
    rep = org["rep_east"]
    url = f"/api/v1/users/{rep.pk}/assignment/"
    body = {"role": "regional_manager", "team": org["teams"]["company"].pk, "territories": [], "reason": "晋升"}
    api_client.force_authenticate(org["compliance"])
    assert api_client.post(url, body, format="json").status_code == 403

    api_client.force_authenticate(org["admin"])
    refused = api_client.post(url, body, format="json")
    assert refused.status_code == 400 and "territories" in refused.json()["error"]["fields"]
    stale = api_client.post(url, {**body, "territories": ["310000"]}, format="json", HTTP_IF_MATCH='"99"')
    assert stale.status_code == 412
    assert User.objects.get(pk=rep.pk).role == "rep"
    done = api_client.post(url, {**body, "territories": ["310000"]}, format="json",
                           HTTP_IF_MATCH=f'"{rep.version}"')
    assert done.status_code == 200 and done.json()["role"] == "regional_manager"

    deactivated = api_client.post(f"/api/v1/users/{rep.pk}/deactivate/", {"reason": "离职"}, format="json")
    assert deactivated.status_code == 200
    assert api_client.get(f"/api/v1/users/{rep.pk}/").status_code == 404  # the directory lists active people
    assert api_client.post(f"/api/v1/users/{rep.pk}/reactivate/", {"reason": ""}, format="json").status_code == 400
    assert api_client.post(f"/api/v1/users/{rep.pk}/reactivate/", {"reason": "返聘"}, format="json").status_code == 200


def test_a_territories_only_change_makes_older_forms_stale(client: Any, org: dict[str, Any]) -> None:
    from pharmacrm.org.models import Division

    rep = org["rep_east"]
    stale = assignment(org, "rep_east", role="academic_rep")
    services.update_assignment(actor=org["admin"], user=rep, role=rep.role, team=rep.team,
                               territories=[Division.objects.get(pk="320000")], reason="改派江苏")
    login(client, org["admin"])
    assert client.post(f"/org/users/{rep.pk}/assignment/", stale).status_code == 400
    rep = User.objects.get(pk=rep.pk)
    assert rep.role == "rep" and list(rep.territories.values_list("pk", flat=True)) == ["320000"]


def test_only_people_administrators_may_call_the_services(org: dict[str, Any]) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.set_active(actor=org["compliance"], user=org["rep_east"], active=False, reason="x")
    with pytest.raises(PermissionDenied):
        services.update_assignment(actor=org["leader"], user=org["rep_east"], role="manager",
                                   team=org["rep_east"].team, territories=[], reason="x")
    assert User.objects.get(pk=org["rep_east"].pk).is_active
