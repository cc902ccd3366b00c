"""#28a kill -9 during an import and during the nightly grading run; #28b a full disk.

28a: a 10,000-row institution import (``core.imports``, the worker's ``run``) is killed once half of it is
written inside its transaction → 0 rows of the batch, integrity ok, the page's "run again" imports all 10,000.
The grading job (``grading.tasks.nightly_grading``: ``start_run`` + ``execute``) on the demo data is killed
inside its write transaction → the classification table hashes as before, no grade changes of the dead run,
and a new run (allowed at once: the dead run is recognised) gives the same classification hash as before.

28b: SQLite's ``max_page_count`` set a few pages above the file's size (``PHARMACRM_SQLITE_MAX_PAGES``, a
test-only hook) → a write request gets a 507 JSON, the business row and its audit entry are both absent, the
database is intact; once the limit is lifted the same request succeeds.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

from soak.checks.backup import Database
from soak.core import DEMO_PASSWORD, Check, Context, Verdict, gunicorn, sqlite_path

IMPORT_ROWS = 10_000
HEADER = "客户编码,客户名称*,统一社会信用代码,客户类型,医院等级,省份,城市,区县,电话,床位数,负责代表,标签,曾用名"


def _scalar(context: Context, env: dict[str, str], sql: str) -> Any:
    db = Database(context.vendor, env)
    try:
        return db.rows(sql)[0][0]
    finally:
        db.close()


def _integrity(context: Context, env: dict[str, str]) -> str:
    if context.vendor != "sqlite":
        return "n/a (PostgreSQL)"
    with sqlite3.connect(sqlite_path(env)) as conn:
        return "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))


def _kill_when(proc: subprocess.Popen, ready: Any, timeout: float = 240) -> bool:
    """Read the worker's JSON lines until ``ready(line)``; then SIGKILL it. False when it ended first."""
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("{") and ready(json.loads(line)):
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            return True
        if time.monotonic() > deadline:
            break
    proc.kill()
    proc.wait()
    return False


def _classification_hash(context: Context, env: dict[str, str]) -> tuple[str, int]:
    """The classes of every customer, without the run id and date that differ between runs."""
    db = Database(context.vendor, env)
    try:
        rows = db.rows("SELECT institution_id, size, tenure, depth, grade, ka_rank, round(grade_score * 1000), "
                       "round(ka_score * 1000), amount_12_fen, credit FROM grading_classification "
                       "ORDER BY institution_id")
    finally:
        db.close()
    return hashlib.sha256(repr([tuple(str(v) for v in row) for row in rows]).encode()).hexdigest()[:16], len(rows)


def kill_import_and_grading(context: Context) -> Verdict:
    env = context.migrated_env("c28a", demo=True)
    problems: list[str] = []
    path = context.workdir / "institutions.csv"
    rows = [f"KILL{i:05d},断电测试医院{i},,公立医院,,北京,北京市,东城区,,,rep_beijing,," for i in range(IMPORT_ROWS)]
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    prepared = context.worker(env, "prepare_import", path=str(path))
    if prepared["error_rows"]:
        return Verdict(False, f"the import file did not check clean: {prepared}")
    count_sql = "SELECT count(*) FROM customers_institution WHERE code LIKE 'KILL%'"
    worker = context.spawn(env, "run_import", job=prepared["job"])
    killed = _kill_when(worker, lambda line: line.get("progress", 0) >= IMPORT_ROWS // 2)
    left = _scalar(context, env, count_sql)
    integrity = _integrity(context, env)
    if not killed or left or integrity not in ("ok", "n/a (PostgreSQL)"):
        problems.append(f"import: killed={killed}, {left} rows left, integrity {integrity}")
    rerun = context.worker(env, "rerun_import", job=prepared["job"])
    after = _scalar(context, env, count_sql)
    if rerun["status"] != "done" or after != IMPORT_ROWS or not rerun["interrupted"]:
        problems.append(f"import re-run: {rerun}, {after} rows")
    import_detail = (f"import killed at ≥{IMPORT_ROWS // 2}/{IMPORT_ROWS} rows: {left} left, integrity {integrity}; "
                     f"re-run imported {after}")

    first = context.worker(env, "grading_run")
    before, customers = _classification_hash(context, env)
    changes_before = _scalar(context, env, "SELECT count(*) FROM grading_gradechange")
    worker = context.spawn(env, "grading_run", announce=True)
    killed = _kill_when(worker, lambda line: line.get("writing"))
    during, _ = _classification_hash(context, env)
    changes_during = _scalar(context, env, "SELECT count(*) FROM grading_gradechange")
    integrity = _integrity(context, env)
    try:
        again = context.worker(env, "grading_run")
    except RuntimeError as error:
        again = {"status": f"refused: {str(error)[-200:]}"}
    after, _ = _classification_hash(context, env)
    if not killed or during != before or changes_during != changes_before or integrity not in ("ok", "n/a (PostgreSQL)"):
        problems.append(f"grading: killed={killed}, hash {before}→{during}, grade changes {changes_before}→"
                        f"{changes_during}, integrity {integrity}")
    if again.get("status") != "done" or after != before:
        problems.append(f"grading re-run: {again.get('status')}, hash {after} vs {before}")
    detail = (f"{import_detail}; grading ({customers} customers, first run {first['status']}) killed in its write: "
              f"classification hash {before}→{during}, grade changes +{changes_during - changes_before}, "
              f"integrity {integrity}; re-run {again.get('status')} with hash {after}")
    if problems:
        detail += " — " + "; ".join(problems)
    return Verdict(not problems, detail)


# --- 28b --------------------------------------------------------------------------------------------------------


def _token(base: str, username: str) -> str:
    request = urllib.request.Request(base + "/api/v1/auth/token/", method="POST",
                                     data=json.dumps({"username": username, "password": DEMO_PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["token"]


def _post(base: str, path: str, token: str, payload: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(base + path, method="POST", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body)
        except ValueError:
            return error.code, body[:200]


def disk_full(context: Context) -> Verdict:
    env = context.migrated_env("c28b", demo=True)
    db = sqlite_path(env)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        institution = conn.execute("SELECT i.id FROM customers_institution i JOIN org_user u ON u.id = i.owner_id "
                                   "WHERE u.username = 'rep_east' ORDER BY i.id LIMIT 1").fetchone()[0]
    communications = "SELECT count(*) FROM engagement_communication WHERE summary LIKE 'disk full %'"
    audit = "SELECT count(*) FROM core_auditentry"
    payload = {"institution": institution, "channel": "phone", "summary": "disk full " + "长" * 1500}
    problems: list[str] = []
    full_env = {**env, "PHARMACRM_SQLITE_MAX_PAGES": str(pages + 2)}
    with gunicorn(full_env, workers=1, log=context.workdir / "gunicorn-full.log") as (base, _proc):
        token = _token(base, "rep_east")
        audit_before = _scalar(context, env, audit)
        statuses = []
        for _ in range(20):  # each write takes pages until one does not fit
            status, body = _post(base, "/api/v1/communications/", token, payload)
            statuses.append(status)
            if status != 201:
                break
        full_status, full_body = statuses[-1], body
        rows_full = _scalar(context, env, communications)
        audit_full = _scalar(context, env, audit)
    written_ok = statuses.count(201)
    if full_status != 507 or not (isinstance(full_body, dict) and full_body.get("error", {}).get("code") == "storage_full"):
        problems.append(f"full disk answered {full_status} {str(full_body)[:200]}")
    if rows_full != written_ok or audit_full - audit_before != written_ok * _entries_per_write(context, env):
        problems.append(f"partial rows: {rows_full} communications for {written_ok} accepted writes, audit +"
                        f"{audit_full - audit_before}")
    integrity = _integrity(context, env)
    with gunicorn(env, workers=1, log=context.workdir / "gunicorn-freed.log") as (base, _proc):
        token = _token(base, "rep_east")
        freed_status, _body = _post(base, "/api/v1/communications/", token, payload)
    if freed_status != 201 or integrity != "ok":
        problems.append(f"after freeing space: {freed_status}, integrity {integrity}")
    detail = (f"max_page_count={pages + 2}: {written_ok} writes fitted, then {full_status} "
              f"{(full_body or {}).get('error', {}).get('code') if isinstance(full_body, dict) else full_body}; "
              f"rows {rows_full} = accepted writes, audit entries +{audit_full - audit_before}; integrity {integrity}; "
              f"after freeing space the write → {freed_status}")
    if problems:
        detail += " — " + "; ".join(problems)
    return Verdict(not problems, detail)


def _entries_per_write(context: Context, env: dict[str, str]) -> int:
    """Audit entries one call log adds (its creation entry)."""
    return 1


CHECKS = [
    Check("28a", "kill -9 during an import and the grading run", kill_import_and_grading, budget_s=240,
          databases=("sqlite", "postgresql")),
    Check("28b", "disk full", disk_full, budget_s=120),
]
