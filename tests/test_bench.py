"""``make bench`` works: every scenario once on small data (a few hundred institutions, two repeats), on the suite's
database engine. A scenario that errors fails the suite the day a change breaks it (a NOT NULL column once broke
the service section unnoticed); how long anything takes never fails it — speed lives in the bench's own numbers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent

#: one row per section of the report, each with the scenarios it must hold
SECTIONS = ("scenarios", "imports", "purchases", "grading", "engagement", "service")


@pytest.fixture
def bench_database(tmp_path: Path, django_db_blocker: Any) -> Any:
    """A database of the bench's own, beside this worker's test database, dropped afterwards."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        yield str(tmp_path / "bench.sqlite3")
        return
    name = f"{settings['NAME']}_bench"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    yield f"postgres://{settings['USER']}{password}@{settings['HOST']}:{settings['PORT']}/{name}"
    with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(name)} WITH (FORCE)")


@pytest.mark.slow  # seeds and measures in a process of its own
@pytest.mark.engine
def test_every_bench_scenario_runs_on_small_data(bench_database: str, tmp_path: Path) -> None:
    results = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--scale", "300", "--repeat", "2", "--import-rows", "200",
         "--flow-rows", "500", "--db", bench_database, "--results", str(results)],
        cwd=ROOT, env={**os.environ, "PHARMACRM_PLAIN_STATIC": "1"}, capture_output=True, text=True, timeout=900,
        check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    report = json.loads(results.read_text(encoding="utf-8"))
    assert report["institutions"] == 300
    empty = [section for section in SECTIONS if not report[section]]
    assert empty == [], f"sections that measured nothing: {empty}"
    nothing = [result["name"] for section in SECTIONS for result in report[section] if not result.get("rows")]
    assert nothing == [], f"scenarios over no rows: {nothing}"
