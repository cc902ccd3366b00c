"""A bounded retry for transactions PostgreSQL aborts to stay consistent (RELIABILITY.md pitfall 6, check #25).

PostgreSQL ends one of two transactions with SQLSTATE ``40001`` (serialization failure: under SERIALIZABLE
or REPEATABLE READ, or a row locked with ``select_for_update`` that changed after the snapshot) or ``40P01``
(deadlock detected: two services took the same rows in opposite orders, e.g. a stock balance and the audit
chain head). Django raises both as ``OperationalError``. The transaction is rolled back whole, so running
the unit of work again — re-reading everything inside it — is safe and is what the Django docs ask for.

Only the outermost transaction can be retried: inside a caller's ``atomic`` block the caller's transaction
is already doomed, so the error goes up to whoever opened it. SQLite never raises these (it serialises
writers with the IMMEDIATE lock), so the helper is a no-op there.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

#: serialization_failure, deadlock_detected
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
#: attempts in all (the first one included)
ATTEMPTS = 10
#: the first back-off in seconds; it doubles per attempt (with full jitter) up to MAX_DELAY
BASE_DELAY = 0.01
MAX_DELAY = 0.5


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a database error (Django keeps the driver's exception as the cause)."""
    for candidate in (error, error.__cause__, error.__context__):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


def is_retryable(error: BaseException) -> bool:
    return isinstance(error, DatabaseError) and sqlstate(error) in RETRYABLE_SQLSTATES


#: PostgreSQL advisory-lock key of the retry queue (any number unique in the app)
RETRY_LOCK_KEY = 0x72657472  # "retr"


def _snapshot_isolation() -> bool:
    """True when this connection runs REPEATABLE READ or SERIALIZABLE (every waiter on a hot row then fails)."""
    if connection.vendor != "postgresql":
        return False
    level = (connection.settings_dict.get("OPTIONS") or {}).get("isolation_level")
    return level is not None and int(level) in (3, 4)  # psycopg.IsolationLevel.REPEATABLE_READ, SERIALIZABLE


def _queue(query: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(query, [RETRY_LOCK_KEY])
        return bool(cursor.fetchone()[0]) if query.startswith("SELECT pg_try") else True


class _RetryQueue:
    """Under snapshot isolation, retries take turns (PostgreSQL only; under READ COMMITTED nothing is queued).

    A call that failed once holds a session advisory lock — taken outside any transaction, so waiting for it
    costs no snapshot conflict — until it succeeds or gives up, and a first attempt that finds the lock held
    waits behind it. Without this, of eight writers on one row seven fail every round and an unlucky one can
    lose every attempt; with it a retry competes only with the transactions already in flight.
    """

    def __init__(self) -> None:
        self.active = _snapshot_isolation()
        self.held = False

    def before_first_attempt(self) -> None:
        if self.active and not _queue("SELECT pg_try_advisory_lock(%s)"):
            self.join()
        elif self.active:
            _queue("SELECT pg_advisory_unlock(%s)")  # nobody is retrying: go ahead without holding it

    def join(self) -> None:
        if self.active and not self.held:
            _queue("SELECT pg_advisory_lock(%s)")
            self.held = True

    def leave(self) -> None:
        if self.held:
            _queue("SELECT pg_advisory_unlock(%s)")
            self.held = False


def retry_on_conflict(func: F | None = None, *, attempts: int = ATTEMPTS) -> Any:
    """Run ``func`` again (at most ``attempts`` times in all) when PostgreSQL aborts it with 40001/40P01.

    Use it on service entry points that open their own transaction and lock several rows; everything the
    function does must be inside that transaction (no e-mail or file written before the commit).
    """

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if connection.in_atomic_block:  # the caller's transaction is the unit to retry, not this call
                return function(*args, **kwargs)
            queue = _RetryQueue()
            try:
                queue.before_first_attempt()
                for attempt in range(1, attempts + 1):
                    try:
                        return function(*args, **kwargs)
                    except DatabaseError as error:
                        if not is_retryable(error) or attempt == attempts:
                            raise
                        queue.join()
                        delay = random.uniform(0, min(MAX_DELAY, BASE_DELAY * 2 ** attempt))
                        logger.info("%s: SQLSTATE %s, attempt %s of %s, retrying in %.3f s",
                                    function.__qualname__, sqlstate(error), attempt, attempts, delay)
                        time.sleep(delay)
            finally:
                queue.leave()
            raise AssertionError("unreachable")  # pragma: no cover

        wrapper.retries_conflicts = True  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate
