"""RELIABILITY check 20 (in-process half): API fuzzing, no 5xx, no leaks.

Pass criterion: schemathesis, in process over the WSGI application and the schema the app serves, sends
generated requests to every operation, signed in as ``rep_a`` (rep_east, a territory) and as an all-scope role
(leader); 0 responses are server errors and 0 bodies match ``Traceback|File "/|SELECT |django\\.db``.
``max_examples`` is small, the derandomised seed fixed and only the generation phase runs (the explicit phase sent
~800 boundary requests per operation: 20 minutes for the whole API), so CI stays within ~3 minutes; the boundary
cases (schemathesis' coverage phase) and ``--checks all`` belong to the HTTP run against gunicorn in ``make soak``.

Guards: OWASP ASVS 16.5.1 (no internals in errors), 2.2.1 (input validated), Annex 11 §5 (data checked on input).

Writes land in the seeded demo company (tests/reliability/world.py) inside each test's savepoint and are rolled
back after every operation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.failures import Failure

LEAK = re.compile(r'Traceback|File "/|SELECT |django\.db')
ROLES = ("rep_east", "leader")


class InternalsLeaked(Failure):
    def __init__(self, match: str) -> None:
        super().__init__(operation="", title="Response body shows internals", message=f"the body contains {match!r}")


def no_internals(ctx: CheckContext, response: Any, case: Any) -> bool | None:
    found = LEAK.search(response.text or "")
    if found:
        raise InternalsLeaked(found.group(0))
    return None


pytestmark = pytest.mark.slow  # the seeded demo company, every API operation fuzzed


@pytest.fixture(scope="module")
def world(seeded_company: dict[str, Any]) -> dict[str, Any]:
    return seeded_company


@pytest.fixture(scope="module")
def tokens(world: dict[str, Any]) -> dict[str, str]:
    from pharmacrm.org.services import issue_api_token

    return {role: issue_api_token(world[role]) for role in ROLES}


@pytest.fixture(scope="module", autouse=True)
def keep_the_connection(world: dict[str, Any]) -> Iterator[None]:
    """As Django's test client does, keep the WSGI handler from closing the connection after each request: it would
    close the test's transaction (whose autocommit differs from the settings')."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _schema() -> Any:
    """The schema the app serves, through its WSGI handler (no database needed to build it)."""
    from django.core.wsgi import get_wsgi_application

    return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


schema = _schema()


@schema.parametrize()
@settings(max_examples=2, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_no_server_error_and_no_internals(case: Any, tokens: dict[str, str], db: Any) -> None:
    for role in ROLES:
        case.call_and_validate(headers={"Authorization": f"Token {tokens[role]}"},
                               checks=[not_a_server_error, no_internals])
