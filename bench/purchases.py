"""Purchase history at scale: refreshing the monthly totals, one terminal's purchases tab, a flow-file import.

The bench database gets ``lines`` purchase facts over the last 36 months (default 28 per institution,
which is 50M at 1.8M institutions), generated inside the database — one INSERT … SELECT per month, as
monthly flow files would arrive, so a terminal's rows are spread over the table — then indexed and
counted into monthly totals once. They are kept between runs, like the institutions.

* refresh: ``purchases.refresh_months()`` (rebuild every monthly total) as ``refresh_purchase_months`` runs it, outside
  a transaction and committed — a rebuild leaves the same totals — against the bare GROUP BY of the same
  facts into a temporary table, the floor the database sets (rolled back);
* purchases tab: the page a rep opens (``GET /sales/institutions/<id>/purchases/`` through the test
  client, a different terminal each run) against the tab's two queries in raw SQL;
* flow import: a GBK CSV of ``flow_rows`` lines naming real terminals as distributors write them (exact
  names, former names, near names in the same city, unknown names) through the import engine's commit run
  — reading, checking, matching, writing facts and monthly totals, queueing the unknown — against csv
  parsing plus one ``executemany`` of the same facts with their ids known; both rolled back.
"""

from __future__ import annotations

import csv
import io
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from typing import Any
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings

from bench.importing import _inline
from bench.importing import _timed as _rolled_back
from bench.scenarios import _p95, _q
from pharmacrm.core import imports
from pharmacrm.core.policy import today
from pharmacrm.customers.models import Institution
from pharmacrm.org.models import User
from pharmacrm.sales import purchases
from pharmacrm.sales.models import Product, Purchase, PurchaseMonth, month_of

MONTHS = 36
INDEX = "purchase_institution_month_idx"
INDEX_COLUMNS = "institution_id, month, product_id, quantity, amount_fen, purchased_on"


def ensure_purchases(lines: int) -> int:
    """Top the fact table up to ``lines`` rows (generated in SQL) and build the monthly totals."""
    have = Purchase._base_manager.count()
    if have >= lines:
        print(f"bench database holds {have} purchase lines (>= {lines}); not regenerating", flush=True)
        return have
    if not Product.objects.exists():
        call_command("seed_catalogue", if_empty=True)
    started = time.monotonic()
    print(f"generating {lines - have} purchase lines over {MONTHS} months …", flush=True)
    table = _q(Purchase._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {_q(INDEX)}")
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA cache_size = -2000000")
            cursor.execute("DROP TABLE IF EXISTS temp.bench_ids")
            cursor.execute("CREATE TEMP TABLE bench_ids (n INTEGER PRIMARY KEY, id INTEGER)")
            cursor.execute("INSERT INTO temp.bench_ids (id) SELECT id FROM customers_institution ORDER BY id")
            cursor.execute("DROP TABLE IF EXISTS temp.bench_products")
            cursor.execute("CREATE TEMP TABLE bench_products (n INTEGER PRIMARY KEY, id INTEGER)")
            cursor.execute("INSERT INTO temp.bench_products (id) SELECT id FROM sales_product ORDER BY id")
        else:
            cursor.execute("CREATE TEMP TABLE IF NOT EXISTS bench_ids AS SELECT row_number() OVER (ORDER BY id) AS n, "
                           "id FROM customers_institution")
            cursor.execute("CREATE UNIQUE INDEX IF NOT EXISTS bench_ids_n ON bench_ids (n)")
            cursor.execute("CREATE TEMP TABLE IF NOT EXISTS bench_products AS SELECT row_number() OVER (ORDER BY id) "
                           "AS n, id FROM sales_product")
        institutions = Institution._base_manager.count()
        products = Product.objects.count()
        per_month = -(-(lines - have) // MONTHS)
        this_month = month_of(today())
        for step in range(MONTHS):
            month = purchases.add_months(this_month, -step)
            key_base = -(10**12) - (have + step * per_month)  # below any real line key's usual range
            cursor.execute(_generate_sql(), {"n": per_month, "month": month, "year": month // 100,
                                             "mon": month % 100, "institutions": institutions,
                                             "products": products, "key_base": key_base})
            print(f"  {purchases.month_label(month)}: {(step + 1) * per_month} lines, "
                  f"{time.monotonic() - started:.0f} s", flush=True)
        print("indexing …", flush=True)
        cursor.execute(f"CREATE INDEX {_q(INDEX)} ON {table} ({INDEX_COLUMNS})")
    print("monthly totals …", flush=True)
    rows = purchases.refresh_months()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"{Purchase._base_manager.count()} purchase lines, {rows} monthly totals in "
          f"{time.monotonic() - started:.0f} s", flush=True)
    return Purchase._base_manager.count()


def _generate_sql() -> str:
    """``n`` facts of one month: terminals skewed towards the big buyers (product of two uniforms), any
    product, 1–200 packs at ¥5–¥300 a pack, a day of the month; keys below the hashes' usual range."""
    table = _q(Purchase._meta.db_table)
    columns = "institution_id, product_id, purchased_on, month, quantity, amount_fen, source, batch_number, line_key"
    if connection.vendor == "sqlite":
        return (f"WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < %(n)s), "
                f"draw AS (SELECT i, abs(random()) %% 1000000 AS a, abs(random()) %% 1000000 AS b, "
                f"1 + abs(random()) %% 200 AS q, 500 + abs(random()) %% 29500 AS price FROM seq) "
                f"INSERT INTO {table} ({columns}) SELECT "
                f"(SELECT id FROM temp.bench_ids "
                f"WHERE n = min(%(institutions)s, 1 + (a * b) / (1000000000000 / %(institutions)s))), "
                f"(SELECT id FROM temp.bench_products WHERE n = 1 + (a + b) %% %(products)s), "
                f"printf('%%04d-%%02d-%%02d', %(year)s, %(mon)s, 1 + abs(random()) %% 28), %(month)s, q, q * price, "
                f"'flow', '', %(key_base)s - i FROM draw")
    return (f"INSERT INTO {table} ({columns}) SELECT i.id, p.id, make_date(%(year)s, %(mon)s, 1 + (d.r * 27)::int), "
            f"%(month)s, d.q, d.q * d.price, 'flow', '', %(key_base)s - d.s FROM (SELECT s, "
            f"1 + floor(random() * random() * %(institutions)s)::bigint AS inst, "
            f"1 + floor(random() * %(products)s)::bigint AS prod, 1 + floor(random() * 200)::int AS q, "
            f"500 + floor(random() * 29500)::int AS price, random() AS r FROM generate_series(1, %(n)s) AS s) d "
            f"JOIN bench_ids i ON i.n = d.inst JOIN bench_products p ON p.n = d.prod")


# --- refresh ---------------------------------------------------------------------------------------------


def _refresh() -> float:
    started = time.perf_counter()
    purchases.refresh_months()
    return time.perf_counter() - started


def _raw_group_by() -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_months AS SELECT institution_id, month, product_id, "
                       "SUM(quantity) AS q, SUM(amount_fen) AS a, COUNT(*) AS n, "
                       f"MAX({purchases.DAY_OF[connection.vendor]}) AS d "
                       f"FROM {_q(Purchase._meta.db_table)} GROUP BY institution_id, month, product_id")
        cursor.execute("DROP TABLE bench_months")
    return time.perf_counter() - started


# --- the purchases tab ------------------------------------------------------------------------------------


def _tab_sql() -> tuple[str, str]:
    table = _q(PurchaseMonth._meta.db_table)
    return (f"SELECT month, product_id, quantity, amount_fen, lines FROM {table} "
            f"WHERE institution_id = %s AND month >= %s AND month <= %s",
            f"SELECT month, last_day FROM {table} WHERE institution_id = %s ORDER BY month DESC, last_day DESC "
            f"LIMIT 1")


def _tab(repeat: int) -> dict[str, Any]:
    leader = User.objects.get(username="leader")
    client = Client()
    client.force_login(leader)
    rng = random.Random(11)
    top = Institution._base_manager.order_by("id").values_list("id", flat=True)
    ids = list(top[:2000])  # the generator favours low ids: the busiest terminals
    picks = [rng.choice(ids) for _ in range(repeat)]
    until = month_of(today())
    first = purchases.add_months(until, -23)
    rows = sum(1 for _ in PurchaseMonth._base_manager.filter(institution_id=picks[0], month__gte=first))
    months_sql, last_sql = _tab_sql()

    def orm(pk: int) -> None:
        response = client.get(f"/sales/institutions/{pk}/purchases/", secure=True)
        if response.status_code != 200:
            raise AssertionError(f"purchases tab: HTTP {response.status_code}")

    def raw(pk: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(months_sql, [pk, first, until])
            cursor.fetchall()
            cursor.execute(last_sql, [pk])
            cursor.fetchall()

    for pk in picks[:5]:
        orm(pk)
        raw(pk)
    timings = {}
    for side, function in (("orm", orm), ("raw", raw)):
        samples = []
        for pk in picks:
            started = time.perf_counter()
            function(pk)
            samples.append((time.perf_counter() - started) * 1000)
        timings[side] = samples
    orm_median, raw_median = statistics.median(timings["orm"]), statistics.median(timings["raw"])
    return {"name": "purchases tab (page)", "rows": rows, "orm_median_ms": round(orm_median, 3),
            "orm_p95_ms": round(_p95(timings["orm"]), 3), "raw_median_ms": round(raw_median, 3),
            "raw_p95_ms": round(_p95(timings["raw"]), 3), "ratio": round(orm_median / raw_median, 2)}


# --- flow import -------------------------------------------------------------------------------------------

FLOW_HEADER = ["销售日期", "经销商", "终端名称", "终端城市", "产品", "规格", "数量", "金额（元）", "批号"]


def build_flow_file(rows: int, seed: int = 5) -> tuple[bytes, list[tuple[int, int, int, int]]]:
    """A distributor's month: ``rows`` lines over a few thousand terminals, in GBK. Also returns, for the raw
    side, each line's (terminal id or 0 when unknown, product id, quantity, amount)."""
    rng = random.Random(seed)
    terminals = list(Institution._base_manager.filter(merged_into__isnull=True, city_code__startswith="31")
                     .order_by("id").values_list("id", "name")[:20000])
    if len(terminals) < 100:
        terminals = list(Institution._base_manager.filter(merged_into__isnull=True).order_by("id")
                         .values_list("id", "name")[:20000])
    chosen = rng.sample(terminals, min(4000, len(terminals)))
    products = list(Product.objects.values_list("id", "generic_name", "strength"))
    distributor = (Institution._base_manager.filter(kind="distributor", merged_into__isnull=True)
                   .order_by("id").values_list("name", flat=True).first()) or "国药控股上海有限公司"
    day = today().replace(day=1).isoformat()
    lines, expected = [FLOW_HEADER], []
    for _ in range(rows):
        pk, name = rng.choice(chosen)
        roll = rng.random()
        if roll < 0.02:
            name, pk = f"未登记诊所{rng.randrange(300)}号", 0  # unknown: waits for a steward
        elif roll < 0.06:
            name = name[:-1] if len(name) > 6 else name  # a near name: the fuzzy match's work
        product_id, generic, strength = rng.choice(products)
        quantity = rng.randrange(1, 200)
        amount = quantity * rng.randrange(500, 30000)
        lines.append([day, distributor, name, "上海", generic, strength, str(quantity), f"{amount / 100:.2f}",
                      f"B{rng.randrange(10**6):06d}"])
        expected.append((pk, product_id, quantity, amount))
    out = io.StringIO()
    csv.writer(out).writerows(lines)
    return out.getvalue().encode("gbk"), expected


def _flow_import(steward: User, data: bytes, *, commit: bool) -> Any:
    def work() -> float:
        upload = SimpleUploadedFile("流向.csv", data, "text/csv")
        with _inline():
            job = imports.start(actor=steward, kind="sales.flow", upload=upload)
            job = imports.configure(actor=steward, job=job, mapping=job.mapping, mode="valid")
        started = time.perf_counter()
        job = imports.run(job.pk, commit=False)
        if job.error_rows or job.status != "checked":
            raise AssertionError(f"bench flow file: {job.message} {job.errors[:3]}")
        if not commit:
            return time.perf_counter() - started
        with _inline():
            job = imports.commit(actor=steward, job=job)
        started = time.perf_counter()
        job = imports.run(job.pk, commit=True)
        if job.status != "done" or not job.created_count:
            raise AssertionError(f"bench flow import: {job.status} {job.message}")
        return time.perf_counter() - started
    return work


def _flow_raw(data: bytes, expected: list[tuple[int, int, int, int]]) -> Any:
    def work() -> float:
        started = time.perf_counter()
        reader = csv.reader(io.StringIO(data.decode("gbk")))
        next(reader)
        facts = []
        for number, (row, (pk, product_id, quantity, amount)) in enumerate(zip(reader, expected, strict=True)):
            if pk:
                facts.append((pk, product_id, row[0], month_of(today()), quantity, amount, "flow", row[8],
                              -(2 * 10**12) - number))
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {_q(Purchase._meta.db_table)} (institution_id, product_id, purchased_on, "
                               "month, quantity, amount_fen, source, batch_number, line_key) "
                               "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", facts)
        return time.perf_counter() - started
    return work


def run(lines: int, flow_rows: int, repeat: int) -> Iterator[dict[str, Any]]:
    """Yields rows for the report as each is measured: name, rows, seconds or milliseconds, rows/s, ratio."""
    ensure_purchases(lines)
    facts = Purchase._base_manager.count()
    refresh = _refresh()  # committed: the totals it rebuilds are the ones it replaces
    raw = _rolled_back(_raw_group_by)
    yield {"name": f"refresh monthly totals ({facts} lines)", "rows": facts, "median_s": round(refresh, 2),
           "raw_s": round(raw, 2), "ratio": round(refresh / raw, 2) if raw else None}
    yield _tab(repeat)
    if not flow_rows:
        return
    # 200,000 rows in GBK are ~22 MB, above the default 20 MB import limit (policy imports.max_megabytes)
    limits = mock.patch.object(imports, "_limits", lambda: (100 * 1024 * 1024, max(flow_rows, 200_000)))
    with tempfile.TemporaryDirectory() as media, override_settings(MEDIA_ROOT=media), limits:
        steward = User.objects.get(username="steward")
        data, expected = build_flow_file(flow_rows)
        sides = {"dry run": _flow_import(steward, data, commit=False),
                 "commit": _flow_import(steward, data, commit=True), "raw insert": _flow_raw(data, expected)}
        for name, work in sides.items():
            seconds = statistics.median(_rolled_back(work) for _ in range(3 if flow_rows <= 50_000 else 1))
            yield {"name": f"flow import {flow_rows} rows: {name}", "rows": flow_rows, "median_s": round(seconds, 2),
                   "rows_per_s": round(flow_rows / seconds), "megabytes": round(len(data) / 1024 / 1024, 1)}
