"""The institution list costs the same number of queries for 25 rows as for 100 (no N+1), for every scope,
and the scoped list returns exactly the rows ``visible_to`` allows, newest first."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import login
from pharmacrm.core.audit import audited_bulk_create
from pharmacrm.customers import search
from pharmacrm.customers.models import Institution
from pharmacrm.org.models import Division

LIST = "/customers/institutions/"


@pytest.fixture
def many(org: dict[str, Any]) -> list[Institution]:
    """150 institutions over three districts, owners, academic owners and kinds."""
    districts = [Division.objects.get(pk=code) for code in ("310104", "310115", "510107")]
    owners = [org["rep_east"], org["rep_west"], org["manager_east"]]
    rows = []
    for number in range(150):
        district, owner = districts[number % 3], owners[number % 3]
        rows.append(Institution(
            name=f"测试药房{number:03d}", kind="pharmacy" if number % 2 else "clinic", division=district,
            province_code=district.code[:2] + "0000", city_code=district.code[:4] + "00", owner=owner,
            team_id=owner.team_id, academic_owner=org["rep_east"] if number % 5 == 0 else None,
            qualification_status="qualified"))
    created = audited_bulk_create(Institution, rows, actor=org["steward"], reason="test")
    search.index_institutions(created)  # as the services do: search keys and full-text rows
    return created


def _get(client: Any, headers: dict[str, str] | None = None, **params: Any) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST, params, headers=headers)
    assert response.status_code == 200
    return response, len(queries)


@pytest.mark.parametrize("persona", ["rep_east", "manager_east", "regional_east", "steward"])
@pytest.mark.parametrize("params", [{}, {"kind": "pharmacy", "qualification": "qualified"}, {"q": "测试药房"}])
def test_list_queries_do_not_grow_with_the_page_size(client: Any, org: dict[str, Any], many: list[Institution],
                                                     persona: str, params: dict[str, str]) -> None:
    login(client, org[persona])
    _get(client)  # the session's first request also records its activity time
    _small, small_queries = _get(client, page_size=25, **params)
    large, large_queries = _get(client, page_size=100, **params)
    assert len(large.context["rows"]) > 25  # the larger page really holds more rows
    assert large_queries == small_queries
    _partial, partial_queries = _get(client, {"HX-Request": "true", "HX-Target": "rows"}, page_size=100, **params)
    assert partial_queries <= large_queries


@pytest.mark.parametrize("persona", ["rep_east", "manager_east", "regional_east", "steward"])
def test_scoped_list_is_visible_to_newest_first(client: Any, org: dict[str, Any], many: list[Institution],
                                                persona: str) -> None:
    """The union-of-ids scope (``org.scope.scope_ids``) means the same rows as the OR of its conditions."""
    from django.db.models import Q

    from pharmacrm.customers.models import INSTITUTION_OWNERS
    from pharmacrm.org.scope import scope_filter, scope_of

    user = org[persona]
    condition = scope_filter(scope_of(user), owner=INSTITUTION_OWNERS, team="team", province="province_code",
                             city="city_code", district="division")
    expected = list(Institution.objects.filter(condition if condition is not None else Q()).live()
                    .order_by("-id").values_list("pk", flat=True))
    assert list(Institution.objects.visible_to(user).live().order_by("-id").values_list("pk", flat=True)) == expected
    login(client, user)
    response, _queries = _get(client, page_size=200)
    assert [row.pk for row in response.context["rows"]] == expected[:200]


def test_owner_filter_lists_field_users_and_keeps_the_choice(client: Any, org: dict[str, Any],
                                                             many: list[Institution]) -> None:
    """The owner and region selects are written without a template per option; same markup and choice."""
    rep = org["rep_east"]
    login(client, org["steward"])
    response = client.get(LIST, {"owner": rep.pk, "region": "310000", "page_size": 200})
    page = response.content.decode()
    assert f'<option value="{rep.pk}" selected>{rep.full_name}</option>' in page
    assert '<option value="310000" selected>' in page and f'<option value="{org["rep_west"].pk}">' in page
    rows = response.context["rows"]
    assert rows and all(rep.pk in (row.owner_id, row.academic_owner_id) and row.province_code == "310000"
                        for row in rows)
    assert client.get(LIST, {"owner": 999999}).context["filterset"].errors  # not a field user: a form error
