"""Backup and restore round trip: what was backed up comes back exactly, audit chain intact.

Runs on the configured database: SQLite (the test DB is a file) or PostgreSQL
when DATABASE_URL is set (pg_dump / pg_restore on PATH).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

# serialized_rollback: the flush after a transactional test also empties the migration-loaded
# divisions, groups and content types; restore them for the next test.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _table_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


def _digest(rows: Any) -> str:
    return hashlib.sha256(json.dumps(list(rows), default=str, ensure_ascii=False).encode()).hexdigest()


def _snapshot() -> dict[str, Any]:
    from pharmacrm.core.models import AuditChainHead, AuditEntry
    from pharmacrm.customers.models import Institution

    return {
        "counts": _table_counts(),
        "institutions": _digest(Institution.objects.order_by("pk").values_list()),
        "audit": _digest(AuditEntry.objects.order_by("pk").values_list("pk", "action", "object_id", "entry_hash")),
        "chain_head": list(AuditChainHead.objects.values_list("last_hash", "entry_count")),
    }


def _skip_without_tools() -> None:
    if connection.vendor == "postgresql" and not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump/pg_restore are not on PATH")


def test_restore_brings_back_the_backed_up_state(org: dict[str, Any], tmp_path: Path) -> None:
    from pharmacrm.core.audit import verify_chain
    from pharmacrm.customers.models import Institution
    from pharmacrm.customers.services import create_institution
    from pharmacrm.org.models import Division

    _skip_without_tools()
    before = _snapshot()
    assert before["counts"]["customers_institution"] == 2
    out = StringIO()
    call_command("backup", output=str(tmp_path / "demo.backup"), stdout=out)
    assert "backed up" in out.getvalue()
    assert (tmp_path / "demo.backup").stat().st_size > 0

    create_institution(actor=org["steward"], name="上海市第六人民医院", kind="public_hospital", hospital_grade="3A",
                       status="active", division=Division.objects.get(pk="310104"), owner=org["rep_east"])
    assert _snapshot()["counts"] != before["counts"]

    out = StringIO()
    call_command("restore", str(tmp_path / "demo.backup"), yes=True, stdout=out)
    assert "restored" in out.getvalue()
    if connection.vendor == "sqlite":
        assert "integrity_check: ok" in out.getvalue()

    assert _snapshot() == before
    assert not Institution.objects.filter(name="上海市第六人民医院").exists()
    report = verify_chain()
    assert report.ok, report.problem
    assert report.checked == before["counts"]["core_auditentry"]
    # The restored database keeps working: new writes extend the same chain.
    create_institution(actor=org["steward"], name="上海市第十人民医院", kind="public_hospital", hospital_grade="3A",
                       status="active", division=Division.objects.get(pk="310106"), owner=org["rep_east"])
    assert verify_chain().ok


def test_backup_and_restore_functions_default_path_and_missing_file(org: dict[str, Any], settings: Any,
                                                                    tmp_path: Path) -> None:
    from pharmacrm.core.backups import BackupError, backup_database, restore_database

    _skip_without_tools()
    settings.VAR_DIR = tmp_path
    path = backup_database()
    assert path.parent == tmp_path / "backups" and path.is_file()
    report = restore_database(path)
    assert report.vendor == connection.vendor
    with pytest.raises(BackupError):
        restore_database(tmp_path / "missing.sqlite3")
