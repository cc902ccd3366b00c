"""RELIABILITY.md #28a (fast part) — a grading run whose process was killed does not block the next one.

Pass: a nightly run left "running" with nobody computing it (its process was killed: the computing lock
went with it) is marked failed and the next run starts at once; a run that some process is still computing
(the lock is held) refuses a second one; a just-requested on-demand run waiting in the queue is not taken
for dead; the worker does not compute a run that was marked failed meanwhile. Before, a killed run blocked
every new run for 6 hours. ``make soak`` kills the real job mid-write and compares classification hashes;
``pharmacrm/customers/tests/test_imports.py`` kills an import. Guards 21 CFR 11.10(c), Annex 11 §16.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from pharmacrm.grading import services
from pharmacrm.grading.choices import RunKind, RunStatus
from pharmacrm.grading.models import GradingRun

pytestmark = pytest.mark.django_db


@contextlib.contextmanager
def _another_process_computing() -> Iterator[None]:
    """Hold the computing lock the way a worker in another process would."""
    if connection.vendor == "postgresql":
        import psycopg

        params = connection.get_connection_params()
        with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}, autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(%s)", [services.COMPUTING_LOCK_KEY])
            yield
    else:
        with open(services.lock_path(), "a") as handle:  # a second open file description
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield


def _killed_nightly_run() -> GradingRun:
    """What kill -9 during the nightly job leaves: a run opened, never finished."""
    return services.start_run(actor=None, kind=RunKind.NIGHTLY)


def test_a_killed_run_is_recognised_and_the_next_one_starts(org: dict[str, Any]) -> None:
    dead = _killed_nightly_run()
    run = services.execute(services.start_run(actor=None, kind=RunKind.NIGHTLY))
    assert run.status == RunStatus.DONE
    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED and "interrupted" in dead.error


def test_a_run_being_computed_blocks_a_second_one(org: dict[str, Any]) -> None:
    running = _killed_nightly_run()
    with _another_process_computing(), pytest.raises(ValidationError):
        services.start_run(actor=None, kind=RunKind.NIGHTLY)
    running.refresh_from_db()
    assert running.status == RunStatus.RUNNING


def test_control_without_the_lock_check_the_killed_run_blocks(org: dict[str, Any], monkeypatch: Any) -> None:
    """The guard switched off (every running run taken as alive): the check above would have failed."""
    _killed_nightly_run()
    monkeypatch.setattr(services, "_interrupted", lambda running: [])
    with pytest.raises(ValidationError):
        services.start_run(actor=None, kind=RunKind.NIGHTLY)


def test_a_queued_on_demand_run_is_not_taken_for_dead(org: dict[str, Any]) -> None:
    from pharmacrm.org.roles import Role
    from pharmacrm.org.services import create_user

    marketing = create_user(actor=None, username="marketing", full_name="市场部", role=Role.MARKETING,
                            team=org["teams"]["company"], email="mk@example.com", password="pharmacrm-demo")
    queued = services.start_run(actor=marketing)  # the worker has not picked it up yet
    with pytest.raises(ValidationError):
        services.start_run(actor=None, kind=RunKind.NIGHTLY)
    queued.refresh_from_db()
    assert queued.status == RunStatus.RUNNING


def test_the_worker_skips_a_run_marked_failed(org: dict[str, Any]) -> None:
    dead = _killed_nightly_run()
    services.start_run(actor=None, kind=RunKind.NIGHTLY)  # marks ``dead`` failed
    assert services.execute(dead).status == RunStatus.FAILED
