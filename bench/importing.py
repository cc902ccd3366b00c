"""Import throughput: the institution import's dry run and commit against a raw INSERT of the same file.

The file is N new institutions (with USCC, district, owner, tag) in CSV, as a data steward
would upload it. Each side runs in a transaction that is rolled back, so the bench
database does not grow between runs. Rows per second are medians over the runs.

* dry run: upload, map, read and validate every row (``imports.start`` … ``imports.run(commit=False)``);
* commit: after a dry run, the same validation again (the data may have changed since), then
  the insert with one audit entry per row, the search index, the tags (``imports.run(commit=True)``);
* raw: ``csv`` parsing plus one ``executemany`` INSERT of the same columns — no validation,
  no audit, no index: the floor the database sets.
"""

from __future__ import annotations

import csv
import io
import random
import statistics
import tempfile
import time
from typing import Any
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone
from stdnum.cn import uscc

from pharmacrm.core import imports, tasks
from pharmacrm.customers.models import Institution
from pharmacrm.org.models import Division, User

HEADER = ["客户编码", "客户名称", "统一社会信用代码", "客户类型", "省份", "城市", "区县", "电话", "床位数", "负责代表", "标签"]
KINDS = {"公立医院": "public_hospital", "单体药店": "pharmacy", "诊所/门诊部": "clinic"}


class Rollback(Exception):
    """Raised to undo a timed run."""


def build_file(rows: int, run: int) -> bytes:
    """``rows`` new Shanghai institutions in the template's columns, valid, each with a checked USCC."""
    rng = random.Random(run)
    districts = list(Division.objects.filter(level="district", code__startswith="31").values_list("name", flat=True))
    lines = [HEADER]
    for i in range(rows):
        district = rng.choice(districts)
        base = f"9131{run:04d}{i:09d}"[:17]
        kind = rng.choice(list(KINDS))
        lines.append([f"BENCH{run}-{i:07d}", f"导入测试{district}第{i}号{kind}", base + uscc.calc_check_digit(base),
                      kind, "上海", "上海市", district, f"021-6{i % 10_000_000:07d}", str(i % 900), "rep_east", "重点"])
    out = io.StringIO()
    csv.writer(out).writerows(lines)
    return out.getvalue().encode("utf-8")


def _timed(work: Any) -> float:
    """Seconds the timed phase of ``work`` took; everything it wrote is rolled back."""
    seconds = 0.0
    try:
        with transaction.atomic():
            seconds = work()
            raise Rollback
    except Rollback:
        pass
    return seconds


def _inline() -> Any:
    return mock.patch.object(tasks, "run_import", lambda *args: None)  # the bench runs the job itself, not the worker


def _import(steward: User, data: bytes, *, commit: bool) -> Any:
    def work() -> float:
        upload = SimpleUploadedFile("bench.csv", data, "text/csv")
        started = time.perf_counter()
        with _inline():
            job = imports.start(actor=steward, kind="customers.institution", upload=upload)
            job = imports.configure(actor=steward, job=job, mapping=job.mapping, mode="all")
        job = imports.run(job.pk, commit=False)
        if job.error_rows:
            raise AssertionError(f"bench file has errors: {job.errors[:3]}")
        if not commit:
            return time.perf_counter() - started
        started = time.perf_counter()
        with _inline():
            job = imports.commit(actor=steward, job=job)
        job = imports.run(job.pk, commit=True)
        if job.created_count != job.total_rows:
            raise AssertionError(f"bench import created {job.created_count} of {job.total_rows}: {job.message}")
        return time.perf_counter() - started
    return work


def _raw(data: bytes, owner_id: int) -> Any:
    table = connection.ops.quote_name(Institution._meta.db_table)
    columns = ["code", "name", "uscc", "kind", "division_id", "province_code", "city_code", "phone", "bed_count",
               "owner_id", "created_at", "updated_at"]
    sql = (f"INSERT INTO {table} ({', '.join(columns)}, {', '.join(EMPTY_COLUMNS)}) "
           f"VALUES ({', '.join(['%s'] * (len(columns) + len(EMPTY_COLUMNS)))})")
    field = Institution._meta.get_field("created_at")

    def work() -> float:
        started = time.perf_counter()
        reader = csv.reader(io.StringIO(data.decode("utf-8")))
        next(reader)
        now = field.get_db_prep_save(timezone.now(), connection)
        rows = []
        for code, name, number, kind, _province, _city, _district, phone, beds, _owner, _tag in reader:
            division = DIVISIONS[_district]
            rows.append([code, name, number, KINDS[kind], division, division[:2] + "0000", division[:4] + "00", phone,
                         int(beds), owner_id, now, now, *EMPTY_VALUES])
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
        return time.perf_counter() - started
    return work


#: NOT NULL columns the raw side fills with their defaults, as the ORM would
EMPTY_COLUMNS: list[str] = []
EMPTY_VALUES: list[Any] = []
DIVISIONS: dict[str, str] = {}


def _defaults(skip: set[str]) -> None:
    EMPTY_COLUMNS.clear()
    EMPTY_VALUES.clear()
    for field in Institution._meta.concrete_fields:
        if field.primary_key or field.attname in skip or field.null:
            continue
        EMPTY_COLUMNS.append(connection.ops.quote_name(field.column))
        EMPTY_VALUES.append(field.get_db_prep_save(field.get_default(), connection))


def run(rows: int, repeat: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as media, override_settings(MEDIA_ROOT=media):  # uploads do not pile up
        return _run(rows, repeat)


def _run(rows: int, repeat: int) -> list[dict[str, Any]]:
    steward = User.objects.get(username="steward")
    owner = User.objects.get(username="rep_east")
    data = build_file(rows, run=7)
    DIVISIONS.update(Division.objects.filter(level="district", code__startswith="31").values_list("name", "code"))
    _defaults({"code", "name", "uscc", "kind", "division_id", "province_code", "city_code", "phone", "bed_count",
               "owner_id", "created_at", "updated_at"})
    sides = {"dry run": _import(steward, data, commit=False), "commit": _import(steward, data, commit=True),
             "raw insert": _raw(data, owner.pk)}
    results = []
    for name, work in sides.items():
        _timed(work)  # warm-up, and proves the side works before it is timed
        seconds = statistics.median(_timed(work) for _ in range(repeat))
        results.append({"name": f"import {rows} institutions: {name}", "rows": rows,
                        "median_s": round(seconds, 3), "rows_per_s": round(rows / seconds)})
    return results
