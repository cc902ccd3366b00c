"""RELIABILITY check 23 — optimistic locking for human edits (ASVS 2.3.4, 21 CFR 11.10(e); NetBox
``test_update_object_with_etag``).

Parametrised over every API endpoint that supports PATCH, found from the router (a new one fails here until it is
added). Pass: GET gives an ETag (the record's version); PATCH with ``If-Match`` → 200 and a new ETag; PATCH again
with the old ETag → 412, never applied; PATCH without ``If-Match`` (a blind write) → 428, never applied; the audit
trail shows exactly one change. DELETE endpoints (saved filters, cases — voiding) follow the same rule. The check is
also run once with the API's precondition switched off, to show it notices blind writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conftest import DEMO_PASSWORD
from pharmacrm.api_urls import router
from pharmacrm.core.models import AuditEntry
from pharmacrm.org.roles import Role
from pharmacrm.org.services import create_user

pytestmark = pytest.mark.django_db


def patchable_prefixes() -> list[str]:
    return [prefix for prefix, viewset, _basename in router.registry if hasattr(viewset, "partial_update")]


@pytest.fixture
def world(org: dict[str, Any]) -> dict[str, Any]:
    from pharmacrm.core.saved_filters import create_saved_filter
    from pharmacrm.samples.tests.factories import make_world
    from pharmacrm.service import services

    company = org["teams"]["company"]
    agent = create_user(actor=None, username="agent", full_name="agent", role=Role.SERVICE, team=company,
                        email="agent@example.com", password=DEMO_PASSWORD)
    samples = make_world(org)
    case = services.open_case(actor=agent, institution=org["institution_east"], kind="quality", title="包装破损",
                              description="外盒压痕", product=samples["product"], batch_number="B2401")
    saved = create_saved_filter(actor=org["rep_east"], list_name="customers:institution_list", name="东区")
    return {**org, **samples, "agent": agent, "case": case, "saved": saved}


def _content_item(w: dict[str, Any]) -> Any:
    from pharmacrm.content import services

    return services.save_item(actor=w["marketing"], kind="trend", title="基层市场趋势", interpretation="解读")


def _template(w: dict[str, Any]) -> Any:
    from pharmacrm.engagement import care

    return care.save_template(actor=w["marketing"], title="生日祝福", text="祝您生日快乐", occasion="birthday")


def _rule_draft(w: dict[str, Any], client: Any) -> Any:
    from pharmacrm.grading.models import RuleVersion

    response = client.post("/api/v1/grading/rules/", {"dimension": "size", "effective_from": "2099-01-01",
                                                      "parameters": {"medium_min_yuan": 50_000}}, format="json")
    assert response.status_code == 201, response.content
    return RuleVersion.objects.get(pk=response.json()["id"])


def _strategy(w: dict[str, Any]) -> Any:
    from pharmacrm.grading.models import Strategy

    return Strategy.objects.order_by("id").first()


#: prefix → (actor, the record (from world, client), two successive changes)
EDITS: dict[str, tuple[str, Callable[[dict[str, Any], Any], Any], dict[str, Any], dict[str, Any]]] = {
    "saved-filters": ("rep_east", lambda w, c: w["saved"], {"name": "东区一"}, {"name": "东区二"}),
    "customers": ("steward", lambda w, c: w["institution_east"], {"phone": "021-64041990", "reason": "核实"},
                  {"phone": "021-64041991", "reason": "核实"}),
    "institutions": ("steward", lambda w, c: w["institution_east"], {"address": "枫林路180号", "reason": "核实"},
                     {"address": "枫林路181号", "reason": "核实"}),
    "contacts": ("steward", lambda w, c: w["doctor"], {"department": "心内科"}, {"department": "心血管内科"}),
    "products": ("admin", lambda w, c: w["product"], {"pack": "14片/盒"}, {"pack": "28片/盒"}),
    "samples/lots": ("marketing", lambda w, c: w["lot"], {"notes": "冷藏"}, {"notes": "常温"}),
    "grading/rules": ("marketing", _rule_draft, {"effective_from": "2099-02-01", "parameters": {}},
                      {"effective_from": "2099-03-01", "parameters": {}}),
    "grading/strategies": ("marketing", lambda w, c: _strategy(w), {"visit_every_days": 21},
                           {"visit_every_days": 28}),
    "care/templates": ("marketing", lambda w, c: _template(w), {"text": "祝您生日快乐，身体健康"},
                       {"text": "生日快乐"}),
    "content/items": ("marketing", lambda w, c: _content_item(w), {"title": "基层市场新趋势"},
                      {"title": "县域市场趋势"}),
    "cases": ("agent", lambda w, c: w["case"], {"title": "外包装破损", "reason": "标题更正"},
              {"title": "外箱破损", "reason": "标题更正"}),
}


def test_every_patch_endpoint_is_covered() -> None:
    assert set(patchable_prefixes()) == set(EDITS), set(patchable_prefixes()) ^ set(EDITS)


def _changes(record: Any) -> int:
    return AuditEntry.objects.for_object(record).filter(action__in=("update", "transition")).count()


def _state(record: Any) -> tuple[Any, ...]:
    fresh = type(record)._base_manager.get(pk=record.pk)
    return fresh.version, fresh.updated_at


def run_locking_sequence(prefix: str, world: dict[str, Any], api_client: Any) -> None:
    actor, record_of, first, second = EDITS[prefix]
    if actor == "admin":
        from conftest import login

        login(api_client, world[actor])
    api_client.force_authenticate(world[actor])
    record = record_of(world, api_client)
    url = f"/api/v1/{prefix}/{record.pk}/"
    read = api_client.get(url)
    assert read.status_code == 200, read.content
    etag = read["ETag"]
    assert etag == f'"{type(record)._base_manager.get(pk=record.pk).version}"'
    changes_before = _changes(record)

    blind = api_client.patch(url, first, format="json")
    assert blind.status_code == 428, (prefix, blind.status_code, blind.content[:200])

    fresh = api_client.patch(url, first, format="json", HTTP_IF_MATCH=etag)
    assert fresh.status_code == 200, (prefix, fresh.content[:300])
    assert fresh["ETag"] != etag
    after_first = _state(record)

    stale = api_client.patch(url, second, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412, (prefix, stale.status_code, stale.content[:200])
    assert stale.json()["error"]["code"] == "stale_version"
    assert stale["ETag"] == fresh["ETag"]
    assert _state(record) == after_first  # never applied
    assert _changes(record) == changes_before + 1


@pytest.mark.parametrize("prefix", patchable_prefixes())
def test_patch_needs_the_current_version(prefix: str, world: dict[str, Any], api_client: Any) -> None:
    run_locking_sequence(prefix, world, api_client)


@pytest.mark.parametrize("prefix", ["saved-filters", "cases"])
def test_delete_needs_the_current_version(prefix: str, world: dict[str, Any], api_client: Any) -> None:
    actor = {"saved-filters": world["rep_east"], "cases": None}[prefix]
    if actor is None:
        actor = create_user(actor=None, username="qa", full_name="qa", role=Role.QA,
                            team=world["teams"]["company"], email="qa@example.com", password=DEMO_PASSWORD)
    record = world["saved" if prefix == "saved-filters" else "case"]
    api_client.force_authenticate(actor)
    url = f"/api/v1/{prefix}/{record.pk}/"
    body = {"reason": "重复登记"}
    assert api_client.delete(url, body, format="json").status_code == 428
    assert api_client.delete(url, body, format="json", HTTP_IF_MATCH='"99"').status_code == 412
    assert type(record)._base_manager.filter(pk=record.pk).exists()
    assert api_client.delete(url, body, format="json",
                             HTTP_IF_MATCH=api_client.get(url)["ETag"]).status_code in (200, 204)


def test_the_check_notices_blind_writes_when_the_precondition_is_off(world: dict[str, Any], api_client: Any,
                                                                     monkeypatch: Any) -> None:
    from pharmacrm.core.api import base

    monkeypatch.setattr(base, "check_precondition", lambda request, obj: None)
    with pytest.raises(AssertionError, match="428"):
        run_locking_sequence("samples/lots", world, api_client)
