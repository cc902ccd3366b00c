"""SQL for the database guards that keep logs append-only (per engine).

* ``core_auditentry``: no UPDATE, DELETE or TRUNCATE, ever.
* ``privacy_personaldataaccess`` (the personal-data access log): no UPDATE or TRUNCATE; DELETE only of
  rows older than the legal floor of 180 days (the retention job), so even a wrong retention setting
  or a hand-written script cannot shorten the log below it.

Used by migrations core/0003 and privacy/0002 and by the test suite, which must lift the guards
while it flushes tables between transactional tests.

Two layers on PostgreSQL (RELIABILITY check 3): the trigger refuses UPDATE, DELETE and TRUNCATE for everyone but a
superuser who drops it; privileges refuse them for the application's role even then. Migration core/0005 revokes
them from PUBLIC; production connects as a role that does not own the tables (the owner and superusers bypass
privileges) and is granted what it needs with ``grant_app_role`` — for the audit table SELECT and INSERT only:

    python manage.py shell -c "from django.db import connection; \
        from pharmacrm.core.dbguards import grant_app_role; grant_app_role(connection, 'pharmacrm_app')"

SQLite has no roles: there the trigger and the hash chain (``verify_audit_chain``) are the guards.
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


PI_ACCESS_TABLE = "privacy_personaldataaccess"

INSTALL_PI_ACCESS = {
    "sqlite": [
        f"""CREATE TRIGGER IF NOT EXISTS {PI_ACCESS_TABLE}_no_update BEFORE UPDATE ON {PI_ACCESS_TABLE}
           BEGIN SELECT RAISE(ABORT, 'the personal-data access log is append-only'); END;""",
        f"""CREATE TRIGGER IF NOT EXISTS {PI_ACCESS_TABLE}_no_delete BEFORE DELETE ON {PI_ACCESS_TABLE}
           WHEN OLD."at" > strftime('%Y-%m-%d %H:%M:%f', 'now', '-180 days')
           BEGIN SELECT RAISE(ABORT, 'access-log entries are kept at least 180 days'); END;""",
    ],
    "postgresql": [
        f"""CREATE OR REPLACE FUNCTION {PI_ACCESS_TABLE}_guard() RETURNS trigger AS $$
           BEGIN
             IF TG_OP = 'DELETE' AND OLD."at" < now() - interval '180 days' THEN RETURN OLD; END IF;
             IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'access-log entries are kept at least 180 days'; END IF;
             RAISE EXCEPTION 'the personal-data access log is append-only';
           END; $$ LANGUAGE plpgsql;""",
        f"DROP TRIGGER IF EXISTS {PI_ACCESS_TABLE}_no_update ON {PI_ACCESS_TABLE};",
        f"""CREATE TRIGGER {PI_ACCESS_TABLE}_no_update BEFORE UPDATE OR DELETE ON {PI_ACCESS_TABLE}
           FOR EACH ROW EXECUTE FUNCTION {PI_ACCESS_TABLE}_guard();""",
        f"DROP TRIGGER IF EXISTS {PI_ACCESS_TABLE}_no_truncate ON {PI_ACCESS_TABLE};",
        f"""CREATE TRIGGER {PI_ACCESS_TABLE}_no_truncate BEFORE TRUNCATE ON {PI_ACCESS_TABLE}
           FOR EACH STATEMENT EXECUTE FUNCTION {PI_ACCESS_TABLE}_guard();""",
    ],
}

REMOVE_PI_ACCESS = {
    "sqlite": [
        f"DROP TRIGGER IF EXISTS {PI_ACCESS_TABLE}_no_update;",
        f"DROP TRIGGER IF EXISTS {PI_ACCESS_TABLE}_no_delete;",
    ],
    "postgresql": [
        f"DROP TRIGGER IF EXISTS {PI_ACCESS_TABLE}_no_update ON {PI_ACCESS_TABLE};",
        f"DROP TRIGGER IF EXISTS {PI_ACCESS_TABLE}_no_truncate ON {PI_ACCESS_TABLE};",
    ],
}


def _run(statements: dict[str, list[str]], connection: Any) -> None:
    with connection.cursor() as cursor:
        for statement in statements.get(connection.vendor, []):
            cursor.execute(statement)


def _has_table(connection: Any, table: str) -> bool:
    with connection.cursor() as cursor:
        return table in connection.introspection.table_names(cursor)


def install_pi_access_guard(connection: Any) -> None:
    _run(INSTALL_PI_ACCESS, connection)


def remove_pi_access_guard(connection: Any) -> None:
    _run(REMOVE_PI_ACCESS, connection)


def install_audit_guard(connection: Any) -> None:
    """The audit trail's guard, and the access log's where that table exists (the test suite's one call)."""
    _run(INSTALL, connection)
    if _has_table(connection, PI_ACCESS_TABLE):
        install_pi_access_guard(connection)


def remove_audit_guard(connection: Any) -> None:
    _run(REMOVE, connection)
    if _has_table(connection, PI_ACCESS_TABLE):
        remove_pi_access_guard(connection)


#: append-only tables: the audit trail (the access log's retention job deletes its old rows: its trigger keeps
#: the 180-day floor)
APPEND_ONLY_TABLES = ("core_auditentry",)


def revoke_audit_changes(connection: Any, role: str = "PUBLIC") -> None:
    """PostgreSQL: nobody but the owner may UPDATE, DELETE or TRUNCATE the append-only tables."""
    if connection.vendor != "postgresql":
        return
    quoted = role if role == "PUBLIC" else connection.ops.quote_name(role)
    with connection.cursor() as cursor:
        for table in APPEND_ONLY_TABLES:
            cursor.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {quoted}")


def grant_app_role(connection: Any, role: str) -> None:
    """PostgreSQL: the application's (non-owner) role reads and writes every table of ours, but only reads and
    appends to the append-only ones."""
    if connection.vendor != "postgresql":
        return
    quoted = connection.ops.quote_name(role)
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {quoted}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
    revoke_audit_changes(connection, role)
