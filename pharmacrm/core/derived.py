"""Tables of derived data rewritten whole by a nightly job (customers' classes, their contact cadence): how each
database replaces every row in one transaction, fastest.

``replace_rows(cursor, table, insert, params)`` runs ``INSERT INTO <table> <insert>`` in place of the table's
rows. Readers go on reading the old rows until the caller's transaction commits.
"""

from __future__ import annotations

from typing import Any

from django.db import connection


def _in_place(cursor: Any, table: str, insert: str, params: dict[str, Any]) -> int:
    """SQLite: the old rows go in one truncation, the new ones are appended."""
    cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - a model's table name, never user input
    cursor.execute(f"INSERT INTO {table} {insert}", params)
    return cursor.rowcount


#: what rebuilds a table's keys and indexes on its replacement, as they stand on the old one
_TABLE_KEYS_SQL = """
    SELECT 'ALTER TABLE {table} ADD CONSTRAINT ' || quote_ident(conname) || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE conrelid = '{table}'::regclass AND contype IN ('p', 'u', 'x')
    UNION ALL
    SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
    WHERE i.indrelid = '{table}'::regclass
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"""


def _by_swap(cursor: Any, table: str, insert: str, params: dict[str, Any]) -> int:
    """PostgreSQL: the new rows fill a fresh table without indexes, which then takes the old one's place and gets
    its keys and indexes, built in one pass each under their own names.

    Deleting 1.8M rows and inserting 1.8M others into the same table took twice as long as this (each new key
    checked against the dead ones in the primary key, the table and its indexes growing until vacuumed). A grant
    or trigger someone added to the table by hand would not carry over: the project sets none on these tables.
    """
    cursor.execute(f"CREATE TABLE {table}_next "
                   f"(LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)")
    cursor.execute(f"INSERT INTO {table}_next {insert}", params)
    rows = cursor.rowcount
    cursor.execute(_TABLE_KEYS_SQL.format(table=table))
    keys = [statement for (statement,) in cursor.fetchall()]
    cursor.execute(f"DROP TABLE {table}")
    cursor.execute(f"ALTER TABLE {table}_next RENAME TO {table}")
    for statement in keys:
        cursor.execute(statement)
    cursor.execute(f"ANALYZE {table}")
    return rows


#: how each database replaces a derived table's rows
REPLACE = {"sqlite": _in_place, "postgresql": _by_swap}


def replace_rows(cursor: Any, table: str, insert: str, params: dict[str, Any]) -> int:
    """Replace every row of ``table`` with ``INSERT INTO table <insert>``; the number of rows written."""
    return REPLACE[connection.vendor](cursor, table, insert, params)
