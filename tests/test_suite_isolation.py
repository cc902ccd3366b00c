"""The suite's speed-ups keep tests apart (tests/dbstate.py).

Each test here first checks that no other test's writes are visible, then writes some of its own: whatever order
they run in (``-p randomly``) and whichever worker runs them, a later one fails if an earlier one's rows survived.
The personas' replay is checked against the builder it stands for.
"""

from __future__ import annotations

import datetime
import os
import uuid
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import DateTimeField
from django.forms.models import model_to_dict

import conftest
from pharmacrm.core.audit import verify_chain
from pharmacrm.core.models import AuditEntry
from pharmacrm.customers.models import Institution
from pharmacrm.customers.search import INSTITUTION_INDEX
from pharmacrm.org.models import Division, Team
from tests import dbstate

MARK = "隔离检查"


def nothing_left_behind(org: dict[str, Any]) -> None:
    """No team, user, institution, search term or audit entry of another test (nor of a shared seeded company), the
    migrated rows intact: only the personas are there."""
    from pharmacrm.org.models import User

    assert set(Institution.objects.values_list("pk", flat=True)) == {org["institution_east"].pk,
                                                                      org["institution_west"].pk}
    assert User.objects.count() == 8 and Team.objects.count() == 3
    assert not Team.objects.filter(name__startswith=MARK).exists()
    assert not Institution.objects.filter(name__startswith=MARK).exists()
    assert _search_ids("geli") == []  # the full-text side table, which a flush alone keeps
    assert not AuditEntry.objects.filter(object_repr__startswith=MARK).exists()
    assert Division.objects.count() == len(conftest._BASE.rows["org_division"])
    assert Division.objects.filter(pk="310104", name="徐汇区").exists()


def _search_ids(term: str) -> list[int]:
    sql, params = INSTITUTION_INDEX.matching_ids(term)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def leave_traces(org: dict[str, Any]) -> None:
    """A team and a customer (with its search terms and audit entries) that no later test may see."""
    from pharmacrm.customers.services import create_institution
    from pharmacrm.org.services import create_team

    create_team(actor=None, name=f"{MARK}{uuid.uuid4().hex[:6]}")
    create_institution(actor=org["steward"], name=f"{MARK}医院", kind="clinic", status="active",
                       division=Division.objects.get(pk="310104"), owner=org["rep_east"])
    assert _search_ids("geli")  # 隔离 → ge li: the terms were written


def audit_guard_refuses_an_edit() -> None:
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditentry SET object_repr = 'x'")


@pytest.mark.django_db
@pytest.mark.parametrize("round_", [1, 2, 3])
def test_a_rolled_back_test_leaves_nothing(org: dict[str, Any], round_: int) -> None:
    nothing_left_behind(org)
    leave_traces(org)
    audit_guard_refuses_an_edit()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", [1, 2, 3])
def test_a_committed_test_leaves_nothing_after_the_flush(org: dict[str, Any], round_: int) -> None:
    """Committed rows, search terms (which the flush alone keeps) and the guards lifted for the flush: all back."""
    nothing_left_behind(org)
    leave_traces(org)
    audit_guard_refuses_an_edit()


@pytest.mark.django_db
def test_the_reset_touches_no_database_but_the_test_one() -> None:
    """The reset after a flush empties every table: it refuses a connection that points anywhere else."""
    elsewhere = dbstate.BaseState(database="var/pharmacrm.sqlite3", tables=conftest._BASE.tables, rows={})
    with pytest.raises(RuntimeError, match="refusing to reset"):
        elsewhere.restore(connection)
    assert Division.objects.exists()


@pytest.mark.django_db
def test_each_worker_has_a_database_of_its_own() -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    name = str(connection.settings_dict["NAME"])
    if worker:
        assert name.endswith(f"_{worker}")
    assert "template" not in name


def _values(people: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each persona's row, with ids replaced by persona names and without what says when it was written (and the
    salted password hash): ids differ between a replay and a build, what they point at may not."""
    flat = {**{k: v for k, v in people.items() if k != "teams"}, **{f"team {k}": v for k, v in people["teams"].items()}}
    names = {(type(value)._meta.label, value.pk): key for key, value in flat.items()}
    result = {}
    for key, instance in flat.items():
        row = {}
        for field in [*instance._meta.fields, *instance._meta.many_to_many]:
            if isinstance(field, DateTimeField) or field.name == "password":
                continue
            value = model_to_dict(instance, fields=[field.name]).get(field.name, getattr(instance, field.attname, None))
            target = field.related_model._meta.label if field.is_relation else type(instance)._meta.label
            if field.many_to_many:
                value = sorted(str(names.get((target, item.pk), item.pk)) for item in value)
            elif field.is_relation or field.primary_key:
                value = names.get((target, value), value)
            elif field.name == "path":  # a team's ids from the root down
                value = [names.get((target, int(pk)), pk) for pk in value.strip("/").split("/")]
            row[field.name] = value
        result[key] = row
    return result


def _table_counts() -> dict[str, int]:
    names = [table.name for table in dbstate.tables(connection)]
    return dict(zip(names, dbstate.count_rows(connection, names), strict=True))


@pytest.mark.django_db
def test_replayed_personas_are_the_ones_the_builder_writes() -> None:
    replays = conftest.personas.replays
    with transaction.atomic():
        replayed = conftest.personas()
        replayed_counts = _table_counts()
        assert verify_chain().ok  # the replayed audit entries continue the chain exactly
        replayed_values = _values(replayed)
        assert replayed["rep_east"].check_password(conftest.DEMO_PASSWORD)
        assert list(replayed["rep_east"].territories.values_list("pk", flat=True)) == ["310000"]
        transaction.set_rollback(True)
    assert conftest.personas.replays == replays + 1
    with transaction.atomic():
        built = conftest.build_personas()
        built_counts = _table_counts()
        built_values = _values(built)
        transaction.set_rollback(True)
    assert replayed_counts == built_counts
    assert replayed_values == built_values


@pytest.mark.django_db
def test_new_rows_get_free_ids_even_after_the_sequences_restart() -> None:
    """``manage.py flush`` restarts the id sequences (one reliability check flushes); replayed rows keep their ids,
    so the replay moves the sequences past them (PostgreSQL; SQLite's AUTOINCREMENT does it by itself)."""
    from django.core.management.color import no_style

    from pharmacrm.org.roles import Role
    from pharmacrm.org.services import create_user

    with connection.cursor() as cursor:  # what flush does to the sequences
        for sql in connection.ops.sequence_reset_by_name_sql(no_style(), [{"table": "org_user", "column": "id"}]):
            cursor.execute(sql)
    people = conftest.personas()
    taken = {value.pk for value in people.values() if hasattr(value, "username")}
    newcomer = create_user(actor=None, username="newcomer", full_name="newcomer", role=Role.REP)
    assert newcomer.pk not in taken


@pytest.mark.django_db
def test_a_database_not_as_captured_gets_the_builder() -> None:
    """A test that wrote to the personas' tables first: the replay would collide, so the builder runs."""
    from pharmacrm.org.services import create_team

    if conftest.personas.snapshot is None:  # this worker's first use: capture (and write nothing)
        conftest.personas.snapshot = dbstate.capture(connection, conftest.build_personas)
    create_team(actor=None, name=f"{MARK}先到")
    builds = conftest.personas.builds
    people = conftest.personas()
    assert conftest.personas.builds == builds + 1
    assert people["teams"]["east"].manager == people["manager_east"]
    assert verify_chain().ok


@pytest.mark.django_db
def test_a_test_travelling_in_time_gets_the_builder(time_machine: Any) -> None:
    time_machine.move_to(datetime.datetime(2021, 3, 1, 9, tzinfo=datetime.UTC), tick=False)
    people = conftest.personas()
    entry = AuditEntry.objects.filter(object_id=str(people["rep_east"].pk)).order_by("pk").first()
    assert entry is not None and entry.created_at.year == 2021
