"""RELIABILITY.md #25 (retry part) — bounded retry on PostgreSQL SQLSTATE 40001/40P01 (``core.retry``).

Pass: a unit of work aborted with a serialization failure or a deadlock runs again and succeeds; other errors
and the last failed attempt surface unchanged; inside a caller's transaction nothing is retried (only the
outermost transaction can be). The service entry points that lock several rows carry the retry. On
PostgreSQL, two SERIALIZABLE writers on one hot credit limit leave 0 errors with the retry and a
serialization failure without it (``make soak`` runs 8 × 100). Guards ASVS 2.3.3, Annex 11 §10.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import OperationalError, close_old_connections, connection, connections, transaction

from pharmacrm.core import retry
from pharmacrm.core.retry import retry_on_conflict


class _DriverError(Exception):
    def __init__(self, sqlstate: str):
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def _failing(sqlstate: str, times: int) -> tuple[Any, list[int]]:
    calls: list[int] = []

    def work() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise OperationalError("could not serialize access") from _DriverError(sqlstate)
        return "done"

    return work, calls


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: Any) -> None:
    monkeypatch.setattr(retry.time, "sleep", lambda seconds: None)


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_serialization_failures_and_deadlocks_are_retried(sqlstate: str) -> None:
    work, calls = _failing(sqlstate, times=3)
    assert retry_on_conflict(work)() == "done" and len(calls) == 4


def test_other_errors_surface_at_once() -> None:
    work, calls = _failing("23505", times=1)  # unique violation: retrying cannot help
    with pytest.raises(OperationalError):
        retry_on_conflict(work)()
    assert len(calls) == 1


def test_retries_are_bounded() -> None:
    work, calls = _failing("40001", times=100)
    with pytest.raises(OperationalError):
        retry_on_conflict(work, attempts=4)()
    assert len(calls) == 4


@pytest.mark.django_db
def test_no_retry_inside_a_callers_transaction() -> None:
    work, calls = _failing("40001", times=1)
    with pytest.raises(OperationalError), transaction.atomic():
        retry_on_conflict(work)()
    assert len(calls) == 1


def test_service_entry_points_that_lock_several_rows_retry() -> None:
    from pharmacrm.sales import orders
    from pharmacrm.samples import services as samples

    for function in (orders.set_credit_limit, orders.adjust_credit_limit, orders.confirm_order, samples.disburse,
                     samples.create_transfer, samples.confirm_transfer, samples.cancel_transfer,
                     samples.return_stock, samples.adjust_stock):
        assert getattr(function, "retries_conflicts", False), function.__qualname__


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SERIALIZABLE conflicts are PostgreSQL's")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("retried", [True, False])
def test_hot_row_under_serializable(org: dict[str, Any], retried: bool) -> None:
    import psycopg

    from pharmacrm.org.roles import Role
    from pharmacrm.org.services import create_user
    from pharmacrm.sales import orders
    from pharmacrm.sales.models import CreditLimit

    finance = create_user(actor=None, username="finance", full_name="finance", role=Role.FINANCE,
                          team=org["teams"]["company"], email="finance@example.com", password="pharmacrm-demo")
    institution = org["institution_east"]
    orders.set_credit_limit(actor=finance, institution=institution, limit_fen=0)
    adjust = orders.adjust_credit_limit if retried else orders.adjust_credit_limit.__wrapped__
    barrier = threading.Barrier(3)
    failures: list[BaseException] = []
    committed: list[int] = []

    def writer() -> None:
        try:
            barrier.wait()
            for _ in range(10):
                try:
                    adjust(actor=finance, institution=institution, by_fen=1)
                    committed.append(1)
                except OperationalError as error:
                    failures.append(error)
        finally:
            close_old_connections()

    options = connections["default"].settings_dict["OPTIONS"]  # shared by the threads' new connections
    options["isolation_level"] = psycopg.IsolationLevel.SERIALIZABLE
    try:
        threads = [threading.Thread(target=writer) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        options.pop("isolation_level", None)
    assert CreditLimit.objects.get(institution=institution).limit_fen == len(committed)
    if retried:
        assert failures == [] and len(committed) == 30
    else:
        assert failures and all(retry.sqlstate(error) in retry.RETRYABLE_SQLSTATES for error in failures)
