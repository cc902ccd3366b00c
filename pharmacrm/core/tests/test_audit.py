"""Audit trail: complete, append-only, hash-chained, and verifiable."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from pharmacrm.core.audit import StaleVersion, audited_bulk_update, audited_update, verify_chain
from pharmacrm.core.models import AuditEntry
from pharmacrm.core.querysets import UnauditedBulkWrite
from pharmacrm.customers.models import Institution
from pharmacrm.customers.services import update_institution


def _drop_guards() -> None:  # inside the test transaction: rolled back afterwards
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER IF EXISTS core_auditentry_no_update")
            cursor.execute("DROP TRIGGER IF EXISTS core_auditentry_no_delete")
        else:
            cursor.execute("ALTER TABLE core_auditentry DISABLE TRIGGER USER")


def test_update_writes_one_entry_with_old_and_new_values(org: dict[str, Any]) -> None:
    institution = org["institution_east"]
    before = AuditEntry.objects.count()
    update_institution(actor=org["steward"], institution=institution, changes={"phone": "021-64041990"},
                       reason="号码核实")
    entry = AuditEntry.objects.order_by("-id").first()
    assert AuditEntry.objects.count() == before + 1
    assert entry.action == "update"
    assert entry.actor_id == org["steward"].pk
    assert entry.object_id == str(institution.pk)
    assert entry.changes == {"phone": ["", "021-64041990"]}
    assert entry.reason == "号码核实"


def test_nothing_changed_writes_no_entry(org: dict[str, Any]) -> None:
    institution = org["institution_east"]
    before = AuditEntry.objects.count()
    update_institution(actor=org["steward"], institution=institution, changes={"name": institution.name})
    assert AuditEntry.objects.count() == before


def test_stale_version_is_refused_and_not_applied(org: dict[str, Any]) -> None:
    institution = org["institution_east"]
    update_institution(actor=org["steward"], institution=institution, changes={"phone": "021-64041991"}, expected_version=1)
    with pytest.raises(StaleVersion):
        update_institution(actor=org["steward"], institution=Institution.objects.get(pk=institution.pk),
                           changes={"phone": "021-64041992"}, expected_version=1)
    assert Institution.objects.get(pk=institution.pk).phone == "021-64041991"


def test_bulk_writes_outside_the_audit_helpers_are_refused(org: dict[str, Any]) -> None:
    with pytest.raises(UnauditedBulkWrite):
        Institution.objects.filter(pk=org["institution_east"].pk).update(name="x")
    with pytest.raises(UnauditedBulkWrite):
        Institution.objects.filter(pk=org["institution_east"].pk).delete()
    with pytest.raises(UnauditedBulkWrite):
        Institution.objects.bulk_create([Institution(name="x")])


def test_audited_bulk_update_writes_one_entry_per_changed_row(org: dict[str, Any]) -> None:
    before = AuditEntry.objects.count()
    changed = audited_bulk_update(Institution.objects.all(), actor=org["admin"], reason="年度停用", status="suspended")
    assert changed == 2
    assert AuditEntry.objects.count() == before + 2
    assert set(Institution.objects.values_list("status", flat=True)) == {"suspended"}
    assert audited_bulk_update(Institution.objects.all(), actor=org["admin"], reason="again", status="suspended") == 0


def test_failed_write_leaves_no_entry(org: dict[str, Any]) -> None:
    before = AuditEntry.objects.count()
    with pytest.raises(Exception):
        audited_update(org["institution_east"], actor=org["steward"], changes={"kind": "not-a-kind"})
    assert AuditEntry.objects.count() == before


def test_orm_and_raw_sql_cannot_change_or_delete_entries(org: dict[str, Any]) -> None:
    entry = AuditEntry.objects.order_by("id").first()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="x")
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    for statement in (f"UPDATE core_auditentry SET reason = 'x' WHERE id = {entry.pk}",
                      f"DELETE FROM core_auditentry WHERE id = {entry.pk}"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEntry.objects.get(pk=entry.pk).reason == entry.reason


def test_chain_is_intact_after_normal_use(org: dict[str, Any]) -> None:
    report = verify_chain()
    assert report.ok, report
    assert report.checked == AuditEntry.objects.count() > 10
    out = StringIO()
    call_command("verify_audit_chain", stdout=out)
    assert "intact" in out.getvalue()


@pytest.mark.parametrize("tamper", ["alter", "remove", "insert", "remove_last"])
def test_verify_names_the_first_bad_entry(org: dict[str, Any], tamper: str) -> None:
    ids = list(AuditEntry.objects.order_by("id").values_list("id", flat=True))
    target = ids[len(ids) // 2]
    _drop_guards()
    with connection.cursor() as cursor:
        if tamper == "alter":
            cursor.execute("UPDATE core_auditentry SET reason = 'edited' WHERE id = %s", [target])
            expected = target
        elif tamper == "remove":
            cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [target])
            expected = ids[ids.index(target) + 1]
        elif tamper == "insert":
            cursor.execute(
                "INSERT INTO core_auditentry (id, created_at, actor_username, action, object_id, object_repr, changes,"
                " reason, request_id, previous_hash, entry_hash) SELECT %s, created_at, 'mallory', action, object_id,"
                " object_repr, changes, reason, request_id, previous_hash, 'forged' FROM core_auditentry WHERE id = %s",
                [ids[-1] + 1000, ids[-1]],
            )
            expected = ids[-1] + 1000
        else:
            cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [ids[-1]])
            expected = ids[-2]
    report = verify_chain()
    assert not report.ok
    assert report.first_bad_id == expected
    with pytest.raises(CommandError) as raised:
        call_command("verify_audit_chain")
    assert f"#{expected}" in str(raised.value)
