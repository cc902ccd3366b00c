"""Role × scope: who sees which institutions, in lists, pages and the API."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import login
from pharmacrm.customers.models import Institution


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
