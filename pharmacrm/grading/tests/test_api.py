"""Grading API: scoped reads, amounts hidden from academic reps, drafts with field-level errors, preview and
submit, runs and strategies only for marketing."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import DEMO_PASSWORD
from pharmacrm.grading.choices import VersionStatus
from pharmacrm.grading.models import GradingRun, RuleVersion, Strategy
from pharmacrm.grading.tests.test_engine import buy, grade_all, place, world  # noqa: F401  (the fixture)
from pharmacrm.org.roles import Role
from pharmacrm.org.services import create_user

pytestmark = pytest.mark.django_db


def test_classifications_are_scoped_and_amounts_need_the_purchase_right(api_client: Any,
                                                                      world: dict[str, Any]) -> None:  # noqa: F811
    clinic = place(world, "长宁诊所")
    buy(world, clinic, "250000")
    grade_all(world)
    api_client.force_authenticate(world["rep_east"])
    rows = api_client.get("/api/v1/grading/classifications/").json()["results"]
    assert {row["institution"] for row in rows} == {clinic.pk, world["institution_east"].pk}
    mine = api_client.get(f"/api/v1/grading/classifications/{clinic.pk}/").json()
    assert (mine["size"], mine["amount_12_fen"], mine["rules"]["size"]) == ("medium", 25_000_000,
                                                                          RuleVersion.objects.get(dimension="size").pk)
    assert api_client.get(f"/api/v1/grading/classifications/{world['institution_west'].pk}/").status_code == 404
    assert [row["institution"] for row in api_client.get(
        "/api/v1/grading/classifications/?size=medium").json()["results"]] == [clinic.pk]
    assert api_client.get("/api/v1/grading/classifications/?size=huge").status_code == 400
    academic = create_user(actor=None, username="academic", full_name="学术", role=Role.ACADEMIC_REP,
                           team=world["teams"]["east"], email="ac@example.com", password=DEMO_PASSWORD)
    place(world, "学术医院", academic_owner=academic)
    grade_all(world)
    api_client.force_authenticate(academic)
    row = api_client.get("/api/v1/grading/classifications/").json()["results"][0]
    assert row["grade"] and row["amount_12_fen"] is None


def test_marketing_drafts_previews_and_submits_through_the_api(api_client: Any,
                                                              world: dict[str, Any]) -> None:  # noqa: F811
    grade_all(world)
    api_client.force_authenticate(world["rep_east"])
    draft = {"dimension": "size", "effective_from": "2099-01-01", "parameters": {"medium_min_yuan": 50_000}}
    assert api_client.post("/api/v1/grading/rules/", draft, format="json").status_code == 403
    assert api_client.post("/api/v1/grading/runs/").status_code == 403
    api_client.force_authenticate(world["marketing"])
    for bad, field in (({"parameters": {"medium_min_yuan": 2_000_000}}, "medium_min_yuan"),
                       ({"parameters": {"medium_min_yuan": "很多"}}, "parameters"),
                       ({"parameters": {"giant_min_yuan": 1}}, "parameters"),
                       ({"effective_from": "2000-01-01"}, "effective_from"),
                       ({"dimension": "colour"}, "dimension")):
        response = api_client.post("/api/v1/grading/rules/", {**draft, **bad}, format="json")
        assert response.status_code == 400 and field in response.json()["error"]["fields"], (bad, response.json())
    assert RuleVersion.objects.count() == 5
    created = api_client.post("/api/v1/grading/rules/", draft, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert api_client.post(f"/api/v1/grading/rules/{pk}/submit/").status_code == 400  # not previewed
    assert api_client.post(f"/api/v1/grading/rules/{pk}/preview/").json()["preview"]["customers"] == 2
    changed = api_client.patch(f"/api/v1/grading/rules/{pk}/", {"effective_from": "2099-02-01",
                                                                "parameters": {"medium_min_yuan": 60_000}},
                               format="json", HTTP_IF_MATCH=api_client.get(f"/api/v1/grading/rules/{pk}/")["ETag"]
                               ).json()
    assert changed["parameters"]["medium_min_yuan"] == 60_000 and changed["preview"] is None  # preview again
    preview = api_client.post(f"/api/v1/grading/rules/{pk}/preview/").json()["preview"]
    assert preview["customers"] == 2
    submitted = api_client.post(f"/api/v1/grading/rules/{pk}/submit/").json()
    assert submitted["status"] == VersionStatus.PENDING and submitted["approval"]
    response = api_client.patch(f"/api/v1/grading/rules/{pk}/", {"effective_from": "2099-01-02", "parameters": {}},
                                format="json", HTTP_IF_MATCH=api_client.get(f"/api/v1/grading/rules/{pk}/")["ETag"])
    assert response.status_code == 409  # only drafts change


def test_runs_and_strategies(api_client: Any, world: dict[str, Any],  # noqa: F811
                             django_capture_on_commit_callbacks: Any, monkeypatch: Any) -> None:
    from pharmacrm.grading import services, tasks

    monkeypatch.setattr(tasks, "run_grading", lambda run_id: services.execute(GradingRun.objects.get(pk=run_id)))
    api_client.force_authenticate(world["marketing"])
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/v1/grading/runs/")
    assert response.status_code == 202
    run = GradingRun.objects.get(pk=response.json()["id"])
    assert run.status == "done" and run.customers == 2
    strategy = Strategy.objects.get(dimension="grade", klass="premium")
    url = f"/api/v1/grading/strategies/{strategy.pk}/"
    assert api_client.patch(url, {"visit_every_days": 0}, format="json").status_code == 400
    assert api_client.patch(url, {"visit_every_days": 14}, format="json",
                            HTTP_IF_MATCH=api_client.get(url)["ETag"]).json()["visit_every_days"] == 14
    api_client.force_authenticate(world["rep_east"])
    assert api_client.get(url).json()["visit_every_days"] == 14
    assert api_client.patch(url, {"visit_every_days": 1}, format="json").status_code == 403
