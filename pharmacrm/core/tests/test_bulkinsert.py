"""The audited bulk insert: new keys never collide or reuse, values are stored as save() would store them."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pytest
from django.db import transaction

from pharmacrm.core import bulkinsert
from pharmacrm.core.audit import audited_bulk_create, audited_delete, verify_chain
from pharmacrm.core.models import AuditEntry
from pharmacrm.core.querysets import allow_bulk_writes
from pharmacrm.customers.models import Institution, Tag
from pharmacrm.org.models import Division

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_outside_a_transaction_it_refuses() -> None:
    with pytest.raises(RuntimeError, match="transaction"):
        bulkinsert.insert(Tag, [Tag(name="x")])


def test_keys_follow_the_highest_ever_handed_out(org: dict[str, Any]) -> None:
    east = org["institution_east"]
    west = org["institution_west"]
    audited_delete(west, actor=org["steward"], reason="test")  # the highest key is gone; it must not come back
    with transaction.atomic():
        rows = bulkinsert.insert(Institution, [
            Institution(name=f"批量{i}", kind="pharmacy", division_id="310104", owner=org["rep_east"])
            for i in range(3)])
    keys = [row.pk for row in rows]
    assert keys == sorted(keys) and len(set(keys)) == 3
    assert min(keys) > max(east.pk, west.pk)
    # the database's own counter agrees: the next ordinary insert gets a fresh key
    with allow_bulk_writes():  # a raw fixture: the audited helpers are not what is tested here
        following = Institution.objects.create(name="普通", kind="pharmacy", division_id="310104",
                                               owner=org["rep_east"])
    assert following.pk > max(keys)


def test_values_are_stored_as_save_would_store_them(org: dict[str, Any]) -> None:
    shanghai = Division.objects.get(pk="310104")
    made = Institution(name="值检查药房", kind="pharmacy", division=shanghai, phone="+86 138-0013-8000",
                       aliases=["旧名"], annual_budget=decimal.Decimal("1234.50"),
                       first_cooperation_date=datetime.date(2020, 5, 1), uscc_checksum_ok=False,
                       owner=org["rep_east"], bed_count=12)
    with transaction.atomic():
        bulkinsert.insert(Institution, [made])
    stored = Institution.objects.get(pk=made.pk)
    assert stored.phone == "13800138000"  # PhoneField normalises, as in save()
    assert stored.aliases == ["旧名"]
    assert stored.annual_budget == decimal.Decimal("1234.50")
    assert stored.first_cooperation_date == datetime.date(2020, 5, 1)
    assert stored.uscc_checksum_ok is False and stored.bed_count == 12
    assert stored.owner_id == org["rep_east"].pk and stored.division_id == "310104"
    assert stored.created_at is not None and stored.created_at == stored.updated_at == made.created_at
    assert stored.version == 1


def test_audited_bulk_create_writes_one_verifiable_entry_per_row(org: dict[str, Any]) -> None:
    before = AuditEntry.objects.count()
    rows = audited_bulk_create(Tag, [Tag(name=f"标签{i}") for i in range(5)], actor=org["steward"], reason="导入",
                               batch_size=2)
    entries = AuditEntry.objects.order_by("pk")[before:]
    assert [entry.object_id for entry in entries] == [str(row.pk) for row in rows]
    assert entries[0].changes == {"id": [None, rows[0].pk], "name": [None, "标签0"]}
    assert verify_chain().ok
