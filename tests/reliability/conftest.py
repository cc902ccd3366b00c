"""The roles of RELIABILITY.md's battery, on the shared ``org`` fixture.

rep_a and rep_b work different territories (Shanghai, Chengdu); manager leads rep_a's team.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def rep_a(org: dict[str, Any]) -> Any:
    return org["rep_east"]


@pytest.fixture
def rep_b(org: dict[str, Any]) -> Any:
    return org["rep_west"]


@pytest.fixture
def manager(org: dict[str, Any]) -> Any:
    return org["manager_east"]



@pytest.fixture(scope="module")
def seeded_company(django_db_setup: Any, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """The seeded demo company's users by username (tests/reliability/world.py), kept from one module of the
    ``company`` group to the next and rolled back after its last."""
    import conftest
    from tests.reliability.world import shared_company

    yield shared_company.get(django_db_blocker)
    if conftest.following is None or conftest.group_of(conftest.following) != "company":
        shared_company.release()
