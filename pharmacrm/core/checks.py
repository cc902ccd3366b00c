"""Start-up checks: SQLite must run with the production PRAGMAs (RELIABILITY.md pitfall 3).

OPTIONS at the wrong nesting level are silently ignored by Django; asking the
connection what it really runs with catches that before the first "database is
locked" does.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, register
from django.db import connection

#: PRAGMA synchronous values: 2 is FULL (GxP records must survive a power cut, pitfall 9)
SYNCHRONOUS_FULL = 2


@register(Tags.database)
def sqlite_pragmas(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[Error]:
    if not databases or "default" not in databases or connection.vendor != "sqlite":
        return []
    with connection.cursor() as cursor:
        journal = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        busy = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
        synchronous = cursor.execute("PRAGMA synchronous").fetchone()[0]
        foreign_keys = cursor.execute("PRAGMA foreign_keys").fetchone()[0]
    in_memory = "memory" in str(connection.settings_dict["NAME"])
    errors = []
    if journal != "wal" and not in_memory:
        errors.append(Error(f"SQLite journal_mode is {journal}, expected wal", id="pharmacrm.E001"))
    if busy < 5000:
        errors.append(Error(f"SQLite busy_timeout is {busy} ms, expected ≥ 5000", id="pharmacrm.E002"))
    if synchronous != SYNCHRONOUS_FULL and not in_memory:
        errors.append(Error(f"SQLite synchronous is {synchronous}, expected 2 (FULL)", id="pharmacrm.E003"))
    if foreign_keys != 1:
        errors.append(Error("SQLite foreign_keys is off", id="pharmacrm.E004"))
    if connection.settings_dict.get("OPTIONS", {}).get("transaction_mode") != "IMMEDIATE":
        errors.append(Error("SQLite transaction_mode is not IMMEDIATE: a read-then-write transaction fails at once "
                            "with 'database is locked' instead of waiting", id="pharmacrm.E005"))
    return errors
