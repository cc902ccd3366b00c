"""SQL for the database guard that keeps audit entries append-only (per engine).

Used by migration core/0003 and by the test suite, which must lift the guard
while it flushes tables between transactional tests.
"""

from __future__ import annotations

from typing import Any

INSTALL = {
    "sqlite": [
        """CREATE TRIGGER IF NOT EXISTS core_auditentry_no_update BEFORE UPDATE ON core_auditentry
           BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;""",
        """CREATE TRIGGER IF NOT EXISTS core_auditentry_no_delete BEFORE DELETE ON core_auditentry
           BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;""",
    ],
    "postgresql": [
        """CREATE OR REPLACE FUNCTION core_auditentry_append_only() RETURNS trigger AS $$
           BEGIN RAISE EXCEPTION 'audit entries are append-only'; END; $$ LANGUAGE plpgsql;""",
        "DROP TRIGGER IF EXISTS core_auditentry_no_update ON core_auditentry;",
        """CREATE TRIGGER core_auditentry_no_update BEFORE UPDATE OR DELETE ON core_auditentry
           FOR EACH ROW EXECUTE FUNCTION core_auditentry_append_only();""",
        "DROP TRIGGER IF EXISTS core_auditentry_no_truncate ON core_auditentry;",
        """CREATE TRIGGER core_auditentry_no_truncate BEFORE TRUNCATE ON core_auditentry
           FOR EACH STATEMENT EXECUTE FUNCTION core_auditentry_append_only();""",
    ],
}

REMOVE = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS core_auditentry_no_update;",
        "DROP TRIGGER IF EXISTS core_auditentry_no_delete;",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS core_auditentry_no_update ON core_auditentry;",
        "DROP TRIGGER IF EXISTS core_auditentry_no_truncate ON core_auditentry;",
    ],
}


def _run(statements: dict[str, list[str]], connection: Any) -> None:
    with connection.cursor() as cursor:
        for statement in statements.get(connection.vendor, []):
            cursor.execute(statement)


def install_audit_guard(connection: Any) -> None:
    _run(INSTALL, connection)


def remove_audit_guard(connection: Any) -> None:
    _run(REMOVE, connection)
