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


@register(Tags.database)
def personal_data_key_opens_the_data(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[Error]:
    """The personal-data key must open what is stored: a database restored or moved without its key (var/
    personal_data_key, or PERSONAL_DATA_KEY) would answer 500 on every page showing a contact's phone."""
    if not databases or "default" not in databases:
        return []
    from django.db.utils import DatabaseError

    from pharmacrm.core import crypto

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT mobile FROM customers_contact WHERE mobile LIKE %s LIMIT 1", [crypto.PREFIX + "%"])
            row = cursor.fetchone()
    except DatabaseError:  # not migrated yet
        return []
    if row is None:
        return []
    try:
        crypto.open_value(row[0])
    except Exception:  # noqa: BLE001 - InvalidTag or a malformed value: either way the key does not fit
        return [Error("The personal-data key does not open the stored personal data: restore var/personal_data_key "
                      "from the backup of this database, or set PERSONAL_DATA_KEY to the key it was written with",
                      id="pharmacrm.E006")]
    return []
