"""API contract: one error format, one pagination contract, optimistic locking, no mass assignment."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pharmacrm.core.audit import audited_bulk_create
from pharmacrm.core.models import AuditEntry
from pharmacrm.customers.models import Institution


def test_validation_errors_are_field_level(api_client: Any, org: dict[str, Any]) -> None:
    api_client.force_authenticate(org["steward"])
    url = f"/api/v1/institutions/{org['institution_east'].pk}/"
    response = api_client.patch(url, {"kind": "spaceship", "name": "x" * 500}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"kind", "name"}
    assert Institution.objects.get(pk=org["institution_east"].pk).name == org["institution_east"].name


def test_wrong_json_type_is_a_400_not_a_500(api_client: Any, org: dict[str, Any]) -> None:
    api_client.force_authenticate(org["steward"])
    url = f"/api/v1/institutions/{org['institution_east'].pk}/"
    for body in ('["a list"]', '"text"', "{bad json", '{"name": 12, "version": "abc"}'):
        response = api_client.patch(url, body, content_type="application/json", HTTP_IF_MATCH='"1"')
        assert response.status_code == 400, body
        assert "error" in response.json()


def test_gbk_bytes_are_refused_cleanly(api_client: Any, org: dict[str, Any]) -> None:
    api_client.force_authenticate(org["steward"])
    body = '{"name": "上海市第一人民医院"}'.encode("gbk")
    response = api_client.patch(f"/api/v1/institutions/{org['institution_east'].pk}/", body,
                                content_type="application/json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 400


def test_optimistic_locking_with_if_match(api_client: Any, org: dict[str, Any]) -> None:
    api_client.force_authenticate(org["steward"])
    url = f"/api/v1/institutions/{org['institution_east'].pk}/"
    etag = api_client.get(url)["ETag"]
    first = api_client.patch(url, {"phone": "021-64041991"}, format="json", HTTP_IF_MATCH=etag)
    assert first.status_code == 200 and first["ETag"] != etag
    stale = api_client.patch(url, {"phone": "021-64041992"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "stale_version"
    assert Institution.objects.get(pk=org["institution_east"].pk).phone == "021-64041991"
    assert AuditEntry.objects.for_object(org["institution_east"]).filter(action="update").count() == 1


def test_protected_fields_cannot_be_mass_assigned(api_client: Any, org: dict[str, Any]) -> None:
    api_client.force_authenticate(org["rep_east"])
    institution = org["institution_east"]
    response = api_client.patch(f"/api/v1/institutions/{institution.pk}/", {
        "owner": org["rep_west"].pk, "team": org["teams"]["west"].pk, "province_code": "510000",
        "version": 99, "id": 12345, "created_at": "2001-01-01T00:00:00Z", "address": "徐汇区枫林路180号",
    }, format="json")
    assert response.status_code in (200, 403, 412)  # 403: reps may not reassign customers
    institution.refresh_from_db()
    assert institution.owner_id == org["rep_east"].pk
    assert institution.team_id == org["teams"]["east"].pk
    assert institution.province_code == "310000"


def test_rep_without_permission_cannot_write(api_client: Any, org: dict[str, Any]) -> None:
    api_client.force_authenticate(org["leader"])  # leader may view, not change
    response = api_client.patch(f"/api/v1/institutions/{org['institution_east'].pk}/", {"phone": "1"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def _make_institutions(org: dict[str, Any], count: int) -> None:
    east = org["institution_east"]
    audited_bulk_create(Institution, [
        Institution(name=f"社区卫生服务中心{i}", kind="community_center", division_id=east.division_id,
                    province_code=east.province_code, city_code=east.city_code, owner=org["rep_east"],
                    team=org["teams"]["east"]) for i in range(count)
    ], actor=org["steward"])


def test_pagination_contract_and_cap(api_client: Any, org: dict[str, Any]) -> None:
    _make_institutions(org, 30)
    api_client.force_authenticate(org["rep_east"])
    first = api_client.get("/api/v1/institutions/", {"page_size": 10}).json()
    assert set(first) == {"results", "page", "next", "previous"}
    assert len(first["results"]) == 10 and first["page"] == 1 and first["previous"] is None
    last = api_client.get("/api/v1/institutions/", {"page_size": 10, "page": 4}).json()
    assert len(last["results"]) == 1 and last["next"] is None
    capped = api_client.get("/api/v1/institutions/", {"page_size": 100000}).json()
    assert len(capped["results"]) == 31
    junk = api_client.get("/api/v1/institutions/", {"page_size": "abc", "page": "-3"})
    assert junk.status_code == 200


@pytest.mark.parametrize("url", ["/api/v1/institutions/", "/customers/institutions/"])
def test_list_query_count_does_not_grow_with_rows(client: Any, api_client: Any, org: dict[str, Any], url: str) -> None:
    from conftest import login

    login(client, org["rep_east"])
    api_client.force_authenticate(org["rep_east"])
    caller = api_client if url.startswith("/api/") else client

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert caller.get(url).status_code == 200
        return len(queries)

    count()  # warm per-process caches (content types, permissions)
    few = count()
    _make_institutions(org, 40)
    assert count() == few


def test_healthz_reports_database_and_worker(client: Any, db: Any) -> None:
    from pharmacrm.core.tasks import beat

    body = client.get("/healthz").json()
    assert body["database"] == "ok" and body["worker"] == "missing"
    beat("test-worker")
    body = client.get("/healthz").json()
    assert body == {**body, "database": "ok", "worker": "ok", "status": "ok"}


def test_favicon_is_served_to_anyone(client: Any, db: Any) -> None:
    from django.templatetags.static import static

    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == static("core/favicon.svg")
    assert 'rel="icon"' in client.get("/login/").content.decode()


def test_a_starting_worker_is_alive_at_once(client: Any, db: Any) -> None:
    """The consumer runs its start-up hooks in each worker thread before taking any job."""
    from huey.contrib.djhuey import HUEY

    assert client.get("/healthz").json()["worker"] == "missing"
    HUEY._startup["beat_at_start"]()
    assert client.get("/healthz").json()["worker"] == "ok"


def test_schema_and_docs_are_served_locally(client: Any, db: Any) -> None:
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/").content.decode()
    assert "cdn" not in docs.lower() and "unpkg" not in docs.lower()
    assert "/static/drf_spectacular_sidecar/" in docs
