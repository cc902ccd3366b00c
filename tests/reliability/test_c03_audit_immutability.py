"""RELIABILITY check 3 — audit immutability and tamper evidence (21 CFR 11.10(a)(e), ASVS 16.4.2, GB/T 35273 §11.7).

Pass: every way of changing or removing an audit entry fails — the ORM queryset (refused in Python), the ORM
below it (``_base_manager``, ``save()``/``delete()`` of an entry) and raw ``UPDATE``/``DELETE`` (and ``TRUNCATE`` on
PostgreSQL) raise ``DatabaseError`` from the trigger, on SQLite and PostgreSQL. With the trigger dropped
(``dbguards.remove_audit_guard``) an edit, a removal or a swap of two entries succeeds — and
``manage.py verify_audit_chain`` (call_command and a separate process) exits non-zero naming the first broken
entry; on clean data it exits 0. On PostgreSQL the application's non-owner role is refused UPDATE, DELETE and
TRUNCATE by privileges even with the trigger gone.

Personal-data access log: reveals of a contact's personal data are audit entries (``view_personal_data``) in this
same table, so they are covered here; a separate access-log table (privacy app) joins
``dbguards.APPEND_ONLY_TABLES`` when it exists.
"""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from pharmacrm.core.audit import verify_chain
from pharmacrm.core.dbguards import APPEND_ONLY_TABLES, grant_app_role, install_audit_guard, remove_audit_guard
from pharmacrm.core.models import AuditAction, AuditEntry

TABLE = "core_auditentry"


@pytest.fixture
def entries(org: dict[str, Any]) -> list[int]:
    """An audit trail with a personal-data access entry in it (the access log lives in the same table)."""
    from pharmacrm.customers.services import create_contact, reveal_personal_data

    contact = create_contact(actor=org["steward"], institution=org["institution_east"], name="王医生",
                             mobile="13912345678")
    reveal_personal_data(actor=org["steward"], contact=contact, purpose="api")
    assert AuditEntry.objects.filter(action=AuditAction.VIEW_PERSONAL_DATA).exists()
    return list(AuditEntry.objects.order_by("id").values_list("id", flat=True))


def _refused(statement: str, params: list[Any] | None = None) -> None:
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params or [])


@pytest.mark.django_db
def test_every_way_of_changing_an_entry_is_refused(entries: list[int]) -> None:
    target = entries[len(entries) // 2]
    entry = AuditEntry.objects.get(pk=target)
    original = entry.reason
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=target).update(reason="x")
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=target).delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.bulk_update([entry], ["reason"])
    for attempt in (lambda: AuditEntry._base_manager.filter(pk=target).update(reason="x"),
                    lambda: AuditEntry._base_manager.filter(pk=target).delete(),
                    lambda: (setattr(entry, "reason", "x"), entry.save())[1],
                    lambda: AuditEntry.objects.get(pk=target).delete()):
        with pytest.raises(DatabaseError), transaction.atomic():
            attempt()
    for table in APPEND_ONLY_TABLES:
        _refused(f"UPDATE {table} SET reason = 'x' WHERE id = %s", [target])
        _refused(f"DELETE FROM {table} WHERE id = %s", [target])
        _refused(f"DELETE FROM {table}")
        if connection.vendor == "postgresql":
            _refused(f"TRUNCATE {table}")
    assert AuditEntry.objects.get(pk=target).reason == original
    assert AuditEntry.objects.count() == len(entries)
    assert verify_chain().ok


@pytest.mark.django_db
def test_without_the_trigger_the_same_statements_go_through(entries: list[int]) -> None:
    """The check can fail: with the guard removed, raw SQL changes an entry (rolled back with the test)."""
    target = entries[len(entries) // 2]
    remove_audit_guard(connection)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET reason = 'x' WHERE id = %s", [target])
        assert cursor.rowcount == 1
    assert AuditEntry.objects.get(pk=target).reason == "x"
    install_audit_guard(connection)
    _refused(f"UPDATE {TABLE} SET reason = 'y' WHERE id = %s", [target])


def _swap(cursor: Any, first: int, second: int) -> None:
    columns = "created_at, actor_id, actor_username, action, content_type_id, object_id, object_repr, changes, " \
              "reason, request_id, ip_address"
    names = [name.strip() for name in columns.split(",")]
    cursor.execute(f"SELECT {columns} FROM {TABLE} WHERE id = %s", [first])
    one = cursor.fetchone()
    cursor.execute(f"SELECT {columns} FROM {TABLE} WHERE id = %s", [second])
    two = cursor.fetchone()
    assignments = ", ".join(f"{name} = %s" for name in names)
    cursor.execute(f"UPDATE {TABLE} SET {assignments} WHERE id = %s", [*two, first])
    cursor.execute(f"UPDATE {TABLE} SET {assignments} WHERE id = %s", [*one, second])


def _tamper(kind: str, ids: list[int]) -> int:
    """Tamper with the trail (guard removed); returns the id the verifier must name."""
    target = ids[len(ids) // 2]
    remove_audit_guard(connection)
    with connection.cursor() as cursor:
        if kind == "edit":
            cursor.execute(f"UPDATE {TABLE} SET reason = 'edited' WHERE id = %s", [target])
            return target
        if kind == "delete":
            cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [target])
            return ids[ids.index(target) + 1]
        _swap(cursor, target, ids[ids.index(target) + 1])
        return target


def _verify_in_a_process() -> subprocess.CompletedProcess[str]:
    """manage.py verify_audit_chain in its own process, on the test database."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{Path(database['NAME']).resolve()}"
    else:
        url = (f"postgres://{database['USER']}{':' + database['PASSWORD'] if database['PASSWORD'] else ''}"
               f"@{database['HOST']}:{database['PORT']}/{database['NAME']}")
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "verify_audit_chain"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["edit", "delete", "swap"])
def test_verify_names_the_first_broken_entry(entries: list[int], kind: str) -> None:
    out = StringIO()
    call_command("verify_audit_chain", stdout=out)
    assert "intact" in out.getvalue()
    expected = _tamper(kind, entries)
    report = verify_chain()
    assert not report.ok and report.first_bad_id == expected, report
    with pytest.raises(CommandError) as raised:
        call_command("verify_audit_chain")
    assert raised.value.returncode == 1
    assert f"#{expected}" in str(raised.value)


@pytest.mark.slow  # a manage.py process each
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("kind", ["edit", "delete", "swap"])
def test_verify_exit_code_in_a_separate_process(entries: list[int], kind: str) -> None:
    clean = _verify_in_a_process()
    assert clean.returncode == 0, clean.stderr
    assert "intact" in clean.stdout
    expected = _tamper(kind, entries)
    broken = _verify_in_a_process()
    assert broken.returncode == 1, (broken.stdout, broken.stderr)
    assert f"#{expected}" in broken.stderr


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_postgres_app_role_may_not_change_the_trail_even_without_the_trigger(entries: list[int]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no roles: the trigger and the hash chain are its guards (tested above)")
    role = "pharmacrm_app_check3"
    target = entries[len(entries) // 2]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE ROLE {role} NOLOGIN")
    grant_app_role(connection, role)
    remove_audit_guard(connection)  # privileges alone now
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {role}")
            try:
                cursor.execute(f"SELECT count(*) FROM {TABLE}")
                assert cursor.fetchone()[0] == len(entries)
                for statement in (f"UPDATE {TABLE} SET reason = 'x' WHERE id = {target}",
                                  f"DELETE FROM {TABLE} WHERE id = {target}", f"TRUNCATE {TABLE}"):
                    with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
                        cursor.execute(statement)
                # the same role may change an ordinary table: the refusal is about the audit trail
                cursor.execute("UPDATE customers_institution SET phone = phone WHERE id = %s",
                               [AuditEntry.objects.filter(content_type__model="institution")
                                .values_list("object_id", flat=True).first()])
            finally:
                cursor.execute("RESET ROLE")
    finally:
        install_audit_guard(connection)
        with connection.cursor() as cursor:
            cursor.execute(f"REASSIGN OWNED BY {role} TO CURRENT_USER")
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")
    assert AuditEntry.objects.get(pk=target).reason != "x"
    assert verify_chain().ok


@pytest.mark.django_db
def test_public_has_no_update_delete_truncate_on_the_trail_on_postgres(entries: list[int]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no privileges")
    with connection.cursor() as cursor:
        cursor.execute("SELECT privilege_type FROM information_schema.role_table_grants "
                       "WHERE table_name = %s AND grantee = 'PUBLIC'", [TABLE])
        granted = {row[0] for row in cursor.fetchall()}
    assert not granted & {"UPDATE", "DELETE", "TRUNCATE"}
