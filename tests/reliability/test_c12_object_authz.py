"""RELIABILITY check 12: object-level authorisation matrix (IDOR / BOLA).

Pass criterion: over every operation of the OpenAPI schema (so a new endpoint is in the matrix the day it is
added), ``rep_b`` reaching a record outside its scope — GET, PATCH, PUT, DELETE or a POST action on
``/{id}/`` — gets exactly the refusal an id that does not exist gets (404; 403/405 where the role lacks the right
for any record; an identical 400 where an action checks its input first), so nothing tells the two apart, and no
audit entry is written; every detail endpoint is exercised on at least one out-of-scope record unless listed as
company-wide with a reason; every list returns only rows of the caller's scope (and
none whose institution lies outside it); the HTML detail page of every model's out-of-scope record is a 404;
``anon`` gets 401/403 on every API operation except the documented allowlist below.

Guards: OWASP ASVS 8.2.1/8.2.2/8.3.1; 21 CFR 11.10(d)(g) (access limited to authorised individuals).

The records come from the demo seeds (tests/reliability/world.py), which write through every app's services.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import resolve
from rest_framework.test import APIClient

from conftest import login
from tests.reliability import schema as openapi

#: operations anonymous callers may use, and why
ANON_ALLOWLIST = {
    ("post", "/api/v1/auth/token/"): "login: exchanges username + password for a token",
    ("post", "/api/v1/account-requests/"): "public self-service request for an account (throttled, reviewed)",
}

#: list endpoints whose rows are not territory-scoped for reps, with the reason (rep_b legitimately sees them all)
SHARED_WITH_REPS = {
    "/api/v1/products/": "the product catalogue is company-wide reference data",
    "/api/v1/policy-params/": "company policy parameters are public to staff",
    "/api/v1/teams/": "the team tree is the colleague directory",
    "/api/v1/users/": "the colleague directory is open to every signed-in user",
    "/api/v1/grading/rules/": "grading rules are company-wide",
    "/api/v1/grading/strategies/": "service strategies per class are company-wide",
    "/api/v1/content/items/": "approved academic content is for every rep",
    "/api/v1/content/schedules/": "the content calendar is company-wide",
    "/api/v1/care/templates/": "approved greeting templates are for every rep",
    "/api/v1/surveys/question-sets/": "question sets are company-wide",
    "/api/v1/samples/lots/": "sample lots are company stock reference data",
    "/api/v1/grading/runs/": "a grading run is a company-wide job record (its class changes are scoped)",
    "/api/v1/surveys/campaigns/": "a campaign is a company-wide definition (its invitations and responses are scoped)",
}

NONEXISTENT = "987654321"


pytestmark = pytest.mark.slow  # the seeded demo company, every operation as every role


@pytest.fixture(scope="module")
def world(seeded_company: dict[str, Any]) -> dict[str, Any]:
    return seeded_company


def schema_operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = openapi.api_schema()
    return [(method, path, operation) for path, item in schema["paths"].items()
            for method, operation in item.items() if method in {"get", "post", "put", "patch", "delete"}]


def view_model(path: str) -> type | None:
    match = resolve(re.sub(r"\{[^}]+\}", NONEXISTENT, path))
    cls = getattr(match.func, "cls", None)
    model = getattr(cls, "model", None) or getattr(getattr(cls, "queryset", None), "model", None)
    return model


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def call(client: APIClient, method: str, url: str) -> Any:
    return getattr(client, method)(url, {} if method != "get" else None, format="json")


def list_ids(client: APIClient, path: str) -> list[Any]:
    response = client.get(path, {"page_size": 200})
    if response.status_code in (400, 403):  # the role may not list these at all, or a filter is required
        return []
    assert response.status_code == 200, (path, response.status_code, response.content[:300])
    body = response.json()
    rows = body["results"] if isinstance(body, dict) and "results" in body else body
    return rows if isinstance(rows, list) else []


def audit_count() -> int:
    from pharmacrm.core.models import AuditEntry

    return AuditEntry.objects.count()


@pytest.mark.django_db
def test_anonymous_callers_are_refused_everywhere_but_the_allowlist(world: dict[str, Any]) -> None:
    client = APIClient()
    failures = []
    seen = set()
    for method, path, _ in schema_operations():
        seen.add((method, path))
        if (method, path) in ANON_ALLOWLIST:
            continue
        response = call(client, method, re.sub(r"\{[^}]+\}", "1", path))
        if response.status_code not in (401, 403):
            failures.append(f"{method.upper()} {path} → {response.status_code}")
    assert not failures, "anonymous access:\n" + "\n".join(failures)
    assert set(ANON_ALLOWLIST) <= seen, "allowlist names operations that no longer exist"


@pytest.mark.django_db
def test_rep_b_cannot_reach_other_territories_records(world: dict[str, Any]) -> None:
    from pharmacrm.customers.models import Institution

    rep_b = world["rep_west"]
    client = api(rep_b)
    operations = schema_operations()
    before = audit_count()
    failures: list[str] = []
    covered: set[str] = set()
    visible_institutions = set(Institution.objects.visible_to(rep_b).values_list("pk", flat=True))
    for method, path, _ in operations:
        if method != "get" or "{" in path or not path.startswith("/api/v1/"):
            continue
        model = view_model(path)
        if model is None or not hasattr(model._default_manager, "visible_to"):
            continue
        visible = set(model._default_manager.visible_to(rep_b).values_list("pk", flat=True))
        rows = list_ids(client, path)
        for row in rows:
            if isinstance(row, dict) and "id" in row and row["id"] not in visible:
                failures.append(f"LIST {path}: row {row['id']} is outside rep_b's scope")
            institution = row.get("institution") if isinstance(row, dict) else None
            institution_id = institution.get("id") if isinstance(institution, dict) else institution
            if (path not in SHARED_WITH_REPS and isinstance(institution_id, int)
                    and institution_id not in visible_institutions):
                failures.append(f"LIST {path}: row {row.get('id')} belongs to out-of-scope institution "
                                f"{institution_id}")

    for method, path, _ in operations:
        if "{" not in path or not path.startswith("/api/v1/"):
            continue
        model = view_model(path)
        assert model is not None, f"{path}: cannot tell which model it serves; add it to the matrix"
        foreign = model._default_manager.exclude(pk__in=model._default_manager.visible_to(rep_b).values("pk"))
        targets = list(foreign.order_by("pk").values_list("pk", flat=True)[:2])
        list_path = path.split("{")[0]
        if not targets:
            if not model._default_manager.exists():
                failures.append(f"{method.upper()} {path}: no {model.__name__} at all — add one in world.py")
            elif list_path not in SHARED_WITH_REPS:
                failures.append(f"{method.upper()} {path}: the seeds leave no out-of-scope {model.__name__} "
                                "for rep_b — seed one, or list the endpoint in SHARED_WITH_REPS with a reason")
            continue
        covered.add(path)
        missing_response = call(client, method, re.sub(r"\{[^}]+\}", NONEXISTENT, path))
        missing = missing_response.status_code
        for pk in targets:
            response = call(client, method, re.sub(r"\{[^}]+\}", str(pk), path))
            status = response.status_code
            if status == 400 and response.content != missing_response.content:
                status = -400  # a validation answer that differs from a missing record's tells them apart
            if status != missing or status not in (400, 403, 404, 405):
                failures.append(f"{method.upper()} {path} on foreign {model.__name__} {pk} → {status} "
                                f"(nonexistent id → {missing})")
    assert not failures, "object-level authorisation:\n" + "\n".join(failures)
    assert audit_count() == before, "rep_b's refused requests wrote audit entries"
    assert covered, "no detail operation was exercised"


@pytest.mark.django_db
def test_html_detail_pages_of_other_territories_are_404(world: dict[str, Any]) -> None:
    rep_b = world["rep_west"]
    client = login(Client(), rep_b)
    failures = []
    tried = 0
    for model in apps.get_models():
        if not model.__module__.startswith("pharmacrm.") or not hasattr(model, "get_absolute_url"):
            continue
        manager = model._default_manager
        if not hasattr(manager, "visible_to"):
            continue
        for obj in manager.exclude(pk__in=manager.visible_to(rep_b).values("pk")).order_by("pk")[:2]:
            url = obj.get_absolute_url()
            status = client.get(url).status_code
            missing = client.get(url.replace(f"/{obj.pk}/", f"/{NONEXISTENT}/")).status_code
            tried += 1
            if status != missing or status not in (403, 404):  # 403: the role may open no such page at all
                failures.append(f"{model._meta.label} {obj.pk} {url} → {status} (nonexistent id → {missing})")
    assert not failures, "detail pages of out-of-scope records:\n" + "\n".join(failures)
    assert tried >= 10


def test_the_matrix_notices_a_leak(monkeypatch: pytest.MonkeyPatch, world: dict[str, Any], db: Any) -> None:
    """A viewset that forgets its scoping (serves every visit) must be reported by the matrix."""
    from pharmacrm.engagement.api.views import VisitViewSet
    from pharmacrm.engagement.models import Visit

    monkeypatch.setattr(VisitViewSet, "get_queryset", lambda self: Visit.objects.all())
    with pytest.raises(AssertionError, match=r"/api/v1/visits/\{id\}/ on foreign Visit"):
        test_rep_b_cannot_reach_other_territories_records(world)
