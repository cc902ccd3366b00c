"""Pitfalls 1–3 of RELIABILITY.md (check 24's configuration half): the start-up check reads the PRAGMAs the
connection really runs with, so options at the wrong nesting level (silently ignored by Django) are caught.
ASVS 2.3.3 (availability under concurrent writes)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from pharmacrm.core.checks import sqlite_pragmas

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite PRAGMAs")]


def _ids() -> set[str]:
    return {error.id for error in sqlite_pragmas(databases=["default"])}


def test_production_pragmas_pass() -> None:
    assert _ids() == set()


def test_a_lost_busy_timeout_is_named() -> None:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 0")
    try:
        assert "pharmacrm.E002" in _ids()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 20000")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # safety level: not inside a transaction
def test_relaxed_durability_is_named() -> None:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous = NORMAL")
    try:
        assert "pharmacrm.E003" in _ids()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = FULL")


def test_deferred_transactions_are_named(monkeypatch: Any) -> None:
    options = dict(connection.settings_dict["OPTIONS"], transaction_mode="DEFERRED")
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)
    assert "pharmacrm.E005" in _ids()

