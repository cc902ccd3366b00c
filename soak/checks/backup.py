"""#26 Backup/restore drill: ``manage.py backup`` while writers run, ``manage.py restore`` into a fresh database.

The copy must be the source at one transaction boundary. Every write transaction appends to the audit chain
under the chain head's lock, so the copy's head (entry count N, last hash) names the boundary: the copy is
right when each table holds exactly the source's rows (same content hash per row) minus the rows created by
the source's audit entries after N. The writers only insert (call logs through
``engagement.services.log_communication``), so that subtraction is the whole difference.
Then: ``PRAGMA integrity_check`` / ``foreign_key_check`` (PostgreSQL: every foreign key restored and
validated), ``verify_audit_chain`` exit 0, and a smoke test of the API on the copy under gunicorn.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import urllib.request
from collections import Counter
from typing import Any

from soak.core import DEMO_PASSWORD, Check, Context, Verdict, gunicorn, sqlite_path, worker_result

WRITERS = 2


class Database:
    """Plain DB-API access to a PharmaCRM database (no Django in the soak process)."""

    def __init__(self, vendor: str, env: dict[str, str]):
        self.vendor = vendor
        if vendor == "sqlite":
            self.conn: Any = sqlite3.connect(f"file:{sqlite_path(env)}?mode=ro", uri=True)
        else:
            import psycopg

            self.conn = psycopg.connect(env["DATABASE_URL"], autocommit=True)

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.vendor == "sqlite":
            return self.conn.execute(sql, params).fetchall()
        return self.conn.execute(sql.replace("?", "%s"), params or None).fetchall()

    def tables(self) -> dict[str, list[str]]:
        """Table name → primary-key columns (empty when it has none)."""
        found: dict[str, list[str]] = {}
        if self.vendor == "sqlite":
            for (name,) in self.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"):
                info = self.rows(f'PRAGMA table_info("{name}")')
                found[name] = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5]]
        else:
            for (name,) in self.rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"):
                found[name] = [row[0] for row in self.rows(
                    "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                    "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = ?::regclass AND i.indisprimary", (f'"{name}"',))]
        return found

    def digests(self, table: str, pk: list[str]) -> dict[Any, str] | Counter:
        """Per row: primary key → sha256 of the row's values (a multiset of digests without a key)."""
        cursor = self.conn.execute(f'SELECT * FROM "{table}"')
        columns = [d[0] for d in cursor.description]
        index = [columns.index(name) for name in pk]
        result: dict[Any, str] = {}
        bag: Counter = Counter()
        for row in cursor.fetchall():
            digest = hashlib.sha256(repr(tuple(row)).encode()).hexdigest()
            if index:
                result[tuple(row[i] for i in index)] = digest
            else:
                bag[digest] += 1
        return result if index else bag

    def close(self) -> None:
        self.conn.close()


def compare(source: Database, copy: Database) -> tuple[list[str], dict[str, Any]]:
    """Problems (empty when the copy is the source at the copy's audit boundary) and a summary."""
    problems: list[str] = []
    head = copy.rows("SELECT entry_count, last_hash FROM core_auditchainhead WHERE id = 1")[0]
    boundary, last_hash = int(head[0]), head[1]
    entries = source.rows("SELECT id, entry_hash, action, content_type_id, object_id FROM core_auditentry ORDER BY id")
    if boundary == 0 or boundary > len(entries) or entries[boundary - 1][1] != last_hash:
        problems.append(f"the copy's chain head (entry {boundary}) is not an entry of the source's chain")
        return problems, {}
    boundary_id = entries[boundary - 1][0]
    types = {row[0]: f"{row[1]}_{row[2]}" for row in source.rows("SELECT id, app_label, model FROM django_content_type")}
    later_creates: set[tuple[str, str]] = set()
    later_other: list[str] = []
    for _id, _hash, action, type_id, object_id in entries[boundary:]:
        if action == "create" and type_id in types:
            later_creates.add((types[type_id], str(object_id)))
        elif action in ("update", "delete"):
            later_other.append(f"{types.get(type_id)} {object_id} {action}")
    if later_other:
        problems.append(f"the writers changed rows in place after the boundary: {later_other[:3]}")
    source_tables, copy_tables = source.tables(), copy.tables()
    if set(source_tables) != set(copy_tables):
        problems.append(f"tables differ: {sorted(set(source_tables) ^ set(copy_tables))[:5]}")
    compared = rows = 0
    for table, pk in sorted(copy_tables.items()):
        if table not in source_tables or table == "core_auditchainhead":
            continue
        compared += 1
        before, after = copy.digests(table, pk), source.digests(table, pk)
        rows += sum(before.values()) if isinstance(before, Counter) else len(before)
        if isinstance(before, Counter):
            if before != after:
                problems.append(f"{table}: content differs (no primary key)")
            continue
        changed = [key for key, digest in before.items() if after.get(key) != digest]
        if changed:
            problems.append(f"{table}: {len(changed)} rows differ or are missing in the source, e.g. {changed[:2]}")
        extra = [key for key in after if key not in before]
        if table == "core_auditentry":
            unexplained = [key for key in extra if key[0] <= boundary_id]
        else:
            unexplained = [key for key in extra if (table, str(key[0])) not in later_creates]
        if unexplained:
            problems.append(f"{table}: {len(unexplained)} rows committed before the boundary are missing from the "
                            f"copy, e.g. {unexplained[:2]}")
    return problems, {"boundary": boundary, "after_boundary": len(entries) - boundary, "tables": compared,
                      "rows": rows}


def _api_smoke(base: str) -> str | None:
    """Log in through the API as a rep and an all-scope role and read a few lists: None when all is well."""
    for username in ("rep_east", "leader"):
        request = urllib.request.Request(base + "/api/v1/auth/token/", method="POST",
                                         data=json.dumps({"username": username, "password": DEMO_PASSWORD}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            token = json.load(response)["token"]
        for path in ("/api/v1/institutions/", "/api/v1/contacts/", "/api/v1/orders/", "/api/v1/communications/"):
            request = urllib.request.Request(base + path, headers={"Authorization": f"Token {token}"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    body = json.load(response)
            except Exception as error:  # noqa: BLE001
                return f"{username} GET {path}: {error}"
            if not isinstance(body, dict) or "results" not in body:
                return f"{username} GET {path}: unexpected body"
    return None


def drill(context: Context) -> Verdict:
    env = context.migrated_env("c26", demo=True)
    stop = context.workdir / "stop-writers"
    writers = [context.spawn(env, "write_until", stop_file=str(stop), pause=0.005) for _ in range(WRITERS)]
    time.sleep(6)  # Django loads and the writers are writing
    suffix = "sqlite3" if context.vendor == "sqlite" else "dump"
    backup = context.workdir / f"backup.{suffix}"
    t0 = time.monotonic()
    context.manage(env, "backup", "--output", str(backup))
    backup_s = time.monotonic() - t0
    time.sleep(1)
    stop.touch()
    written = [worker_result(proc, *proc.communicate(timeout=60)) for proc in writers]
    committed = sum(r["committed"] for r in written)
    writer_errors = [r["errors"] for r in written if r["errors"]]

    restored = context.fresh_env("c26_restore")
    context.manage(restored, "restore", str(backup), "--yes")
    source, copy = Database(context.vendor, env), Database(context.vendor, restored)
    try:
        problems, summary = compare(source, copy)
        if context.vendor == "sqlite":
            integrity = copy.rows("PRAGMA integrity_check")[0][0]
            dangling = copy.rows("PRAGMA foreign_key_check")
            storage = f"integrity_check {integrity}, foreign_key_check {len(dangling)} rows"
            problems += [] if integrity == "ok" and not dangling else [storage]
        else:
            keys = copy.rows("SELECT count(*), count(*) FILTER (WHERE NOT convalidated) FROM pg_constraint "
                             "WHERE contype = 'f'")[0]
            source_keys = source.rows("SELECT count(*) FROM pg_constraint WHERE contype = 'f'")[0][0]
            storage = f"{keys[0]}/{source_keys} foreign keys restored, {keys[1]} not validated"
            problems += [] if keys[0] == source_keys and keys[1] == 0 else [storage]
    finally:
        source.close()
        copy.close()
    chain = context.manage(restored, "verify_audit_chain", check=False)
    if chain.returncode != 0:
        problems.append(f"verify_audit_chain exit {chain.returncode}: {chain.stderr[-300:]}")
    with gunicorn(restored, workers=1, log=context.workdir / "gunicorn-restored.log") as (base, _proc):
        smoke = _api_smoke(base)
    if smoke:
        problems.append(f"API smoke test: {smoke}")
    if writer_errors or committed < 10:
        problems.append(f"writers: {committed} committed, errors {writer_errors}")
    detail = (f"backup {backup_s:.1f} s with {WRITERS} writers ({committed} commits); copy = source at audit entry "
              f"{summary.get('boundary')} ({summary.get('after_boundary')} later entries excluded), "
              f"{summary.get('tables')} tables / {summary.get('rows')} rows equal; {storage}; "
              f"verify_audit_chain exit {chain.returncode}; API smoke {'ok' if not smoke else 'FAILED'}")
    if problems:
        detail += " — " + "; ".join(problems[:4])
    return Verdict(not problems, detail)


CHECKS = [Check("26", "backup/restore drill", drill, budget_s=180, databases=("sqlite", "postgresql"))]
