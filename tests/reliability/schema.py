"""The OpenAPI schema the code generates, built once per test process for the checks that walk every operation
(#8, #12, #13, #21): generating it takes seconds, and it depends on the code only."""

from __future__ import annotations

import copy
import functools
from typing import Any


@functools.cache
def _generated() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def api_schema() -> dict[str, Any]:
    """A copy of the schema, free to change (a check that proves itself edits it)."""
    return copy.deepcopy(_generated())
