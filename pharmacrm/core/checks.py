"""Start-up checks: SQLite must run with WAL and a busy timeout (RELIABILITY.md pitfall 3)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, register
from django.db import connection


@register(Tags.database)
def sqlite_pragmas(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[Error]:
    if not databases or "default" not in databases or connection.vendor != "sqlite":
        return []
    with connection.cursor() as cursor:
        journal = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        busy = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
    errors = []
    if journal != "wal" and "memory" not in str(connection.settings_dict["NAME"]):
        errors.append(Error(f"SQLite journal_mode is {journal}, expected wal", id="pharmacrm.E001"))
    if busy < 5000:
        errors.append(Error(f"SQLite busy_timeout is {busy} ms, expected ≥ 5000", id="pharmacrm.E002"))
    return errors
