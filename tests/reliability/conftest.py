"""The roles of RELIABILITY.md's battery, on the shared ``org`` fixture.

rep_a and rep_b work different territories (Shanghai, Chengdu); manager leads rep_a's team.
"""

from __future__ import annotations

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

