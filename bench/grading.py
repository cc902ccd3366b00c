"""Grading at scale: a full recompute of every customer's classes and a preview of a rule change.

* recompute: ``grading.services.execute`` as the nightly job runs it (committed: history, the new classes,
  notifications) against one hand-written query computing the same classes into a temporary table — the
  floor the database sets; medians of up to three of each. The bench checks the two agree class by class.
* preview: drafting a size-threshold change and previewing what it would move (rolled back).

A third of the bench customers get annual purchases in our categories once (kept, like the purchases), so
cooperation depth has shares to work with.
"""

from __future__ import annotations

import datetime
import statistics
import time
from collections.abc import Iterator
from typing import Any

from django.db import connection

from bench.importing import _timed as _rolled_back
from pharmacrm.core.policy import today
from pharmacrm.grading import engine, rules, services
from pharmacrm.grading.choices import Dimension, RunKind
from pharmacrm.grading.models import Classification
from pharmacrm.org.models import User


def ensure_category_totals() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM customers_institution WHERE annual_category_purchases IS NOT NULL")
        if cursor.fetchone()[0]:
            return
        cursor.execute("UPDATE customers_institution SET annual_category_purchases = 50000 + (id * 7919) % 5000000 "
                       "WHERE id % 3 = 0")


def _hand_written(as_of: datetime.date) -> str:
    """The classes of every customer in one statement, thresholds written in (the seed defaults, v1)."""
    size, tenure, depth = rules.defaults("size"), rules.defaults("tenure"), rules.defaults("depth")
    grade, ka = rules.defaults("grade"), rules.defaults("key_account")
    clamp = engine.DIALECT[connection.vendor]["clamp"].format
    days = engine.DIALECT[connection.vendor]["days_since"].format("since").replace("%(as_of)s", f"'{as_of}'")
    m0 = as_of.year * 100 + as_of.month
    m12, m24 = engine.add_months(m0, -11), engine.add_months(m0, -23)
    month_start = engine.DIALECT[connection.vendor]["month_start"].format("first_month").replace("%%", "%")
    weights = sum(grade[name] for name in rules.GRADE_WEIGHTS)
    ka_weights = sum(ka[name] for name in rules.KEY_ACCOUNT_WEIGHTS)
    influence = " ".join(f"WHEN hospital_grade = '{key}' THEN {ka['influence_' + key]}" for key in rules.INFLUENCE_GRADES)
    influence += " " + " ".join(f"WHEN kind = '{key}' THEN {ka['influence_' + key]}" for key in rules.INFLUENCE_KINDS)
    long_before = engine.years_before(as_of, tenure["long_over_years"])
    medium_by = engine.years_before(as_of, tenure["medium_from_years"])
    return f"""
    WITH b AS (
        SELECT institution_id, SUM(CASE WHEN month >= {m12} THEN amount_fen ELSE 0 END) AS a12,
               SUM(CASE WHEN month < {m12} THEN amount_fen ELSE 0 END) AS p12,
               SUM(CASE WHEN month >= {m12} THEN lines ELSE 0 END) AS l12, MAX(month) AS last_month
        FROM sales_purchasemonth WHERE month >= {m24} AND month <= {m0} GROUP BY institution_id
    ), o AS (
        SELECT institution_id, SUM(total_fen) AS owed FROM sales_order
        WHERE status IN ('confirmed', 'partially_shipped', 'shipped', 'received', 'invoiced') GROUP BY institution_id
    ), c AS (
        SELECT i.id, i.kind, i.hospital_grade, COALESCE(b.a12, 0) AS a12, COALESCE(b.p12, 0) AS p12,
               COALESCE(b.l12, 0) AS l12, b.last_month,
               COALESCE(i.first_cooperation_date, CASE WHEN f.first_month IS NOT NULL THEN {month_start} END) AS since,
               CASE WHEN i.annual_category_purchases > 0 THEN i.annual_category_purchases * 100 END AS total,
               CASE WHEN cl.limit_fen IS NULL THEN {grade['credit_b']} WHEN COALESCE(o.owed, 0) > cl.limit_fen
                    THEN {grade['credit_c']} ELSE {grade['credit_a']} END AS credit
        FROM customers_institution i
        LEFT JOIN (SELECT id, CASE WHEN first_cooperation_date IS NULL THEN (SELECT MIN(month) FROM sales_purchasemonth
                   WHERE institution_id = x.id AND month <= {m0}) END AS first_month FROM customers_institution x) f
            ON f.id = i.id
        LEFT JOIN b ON b.institution_id = i.id LEFT JOIN o ON o.institution_id = i.id
        LEFT JOIN sales_creditlimit cl ON cl.institution_id = i.id
        WHERE i.merged_into_id IS NULL
    ), s AS (
        SELECT c.*,
               CASE WHEN a12 > 0 THEN 100.0 * CUME_DIST() OVER (PARTITION BY a12 > 0 ORDER BY a12) ELSE 0.0 END AS vol,
               CASE WHEN p12 > 0 THEN {clamp(f"((a12 - p12) * 100.0 / p12 - ({grade['growth_zero_percent']})) * 100.0 / "
                                             f"({grade['growth_full_percent']} - ({grade['growth_zero_percent']}))")}
                    WHEN a12 > 0 THEN {grade['growth_unknown_score']} ELSE 0 END AS gro,
               {clamp(f"l12 * 100.0 / {grade['frequency_full']}")} AS fre,
               CASE WHEN last_month IS NULL THEN 0 ELSE {clamp(
                   f"100.0 - (({m0} / 100) * 12 + {m0} % 100 - ((last_month / 100) * 12 + last_month % 100)) * 100.0 "
                   f"/ {grade['recency_zero_months']}")} END AS rec,
               CASE WHEN since IS NULL THEN 0 ELSE {clamp(f"{days} * 100.0 / ({grade['tenure_full_years']} * 365.25)")}
                   END AS ten,
               CASE {influence} ELSE {ka['influence_other']} END AS inf
        FROM c
    ), g AS (
        SELECT s.*, ROUND(CAST(({grade['w_volume']} * vol + {grade['w_growth']} * gro + {grade['w_frequency']} * fre
                    + {grade['w_recency']} * rec + {grade['w_tenure']} * ten + {grade['w_credit']} * credit)
                    / {weights}.0 AS NUMERIC), 1) AS score,
               ROUND(CAST(({ka['w_amount']} * vol + {ka['w_frequency']} * fre + {ka['w_tenure']} * ten
                    + {ka['w_influence']} * inf) / {ka_weights}.0 AS NUMERIC), 1) AS ka
        FROM s
    )
    SELECT id,
           CASE WHEN a12 >= {size['large_min_yuan'] * 100} THEN 'large' WHEN a12 >= {size['medium_min_yuan'] * 100}
                THEN 'medium' ELSE 'small' END AS size,
           CASE WHEN since IS NULL THEN 'none' WHEN since < '{long_before}' THEN 'long'
                WHEN since <= '{medium_by}' THEN 'medium' ELSE 'short' END AS tenure,
           CASE WHEN a12 <= 0 THEN 'to_develop' WHEN total IS NULL THEN 'unknown'
                WHEN a12 * 100 >= {depth['core_share_percent']} * total THEN 'core' ELSE 'potential' END AS depth,
           CASE WHEN score >= {grade['premium_min']} THEN 'premium' WHEN score >= {grade['general_min']} THEN 'general'
                ELSE 'potential' END AS grade,
           CASE WHEN ka >= {ka['min_score']} AND ROW_NUMBER() OVER (ORDER BY ka DESC, id) <= {ka['top_n']}
                THEN 1 ELSE 0 END AS candidate
    FROM g
    """


def _raw(as_of: datetime.date) -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_grades")
        cursor.execute(f"CREATE TEMPORARY TABLE bench_grades AS {_hand_written(as_of)}")
    return time.perf_counter() - started


def _agree() -> bool:
    """Do the hand-written classes equal the run's, customer by customer?"""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT COUNT(*) FROM bench_grades r JOIN grading_classification c ON c.institution_id = r.id
            WHERE r.size <> c.size OR r.tenure <> c.tenure OR r.depth <> c.depth OR r.grade <> c.grade
               OR r.candidate <> CASE WHEN c.ka_rank IS NULL THEN 0 ELSE 1 END""")
        differ = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM bench_grades")
        same_size = cursor.fetchone()[0] == Classification.objects.count()
        cursor.execute("DROP TABLE IF EXISTS bench_grades")
    return differ == 0 and same_size


def run(repeat: int = 3) -> Iterator[dict[str, Any]]:
    """The recompute and the hand-written query alternately, ``repeat`` times each (medians: one run of either
    moves by ±10 % on a busy machine); the classes are compared after the last pair."""
    ensure_category_totals()
    as_of = today()
    recomputes, raws = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        result = services.execute(services.start_run(actor=None, kind=RunKind.NIGHTLY, as_of=as_of))
        recomputes.append(time.perf_counter() - started)
        raws.append(_raw(as_of))
    agree = _agree()
    recompute, raw = statistics.median(recomputes), statistics.median(raws)
    yield {"name": f"grading: full recompute ({result.customers} customers)", "rows": result.customers,
           "median_s": round(recompute, 2), "raw_s": round(raw, 2), "ratio": round(recompute / raw, 2) if raw else None,
           "agrees_with_raw": agree, "runs": repeat}
    marketing = User.objects.get(username="marketing")

    def preview() -> float:
        draft = services.draft_version(actor=marketing, dimension=Dimension.SIZE, effective_from=as_of,
                                       parameters={**rules.defaults(Dimension.SIZE), "medium_min_yuan": 100_000})
        started = time.perf_counter()
        services.preview_version(actor=marketing, version=draft)
        return time.perf_counter() - started

    seconds = _rolled_back(preview)
    yield {"name": "grading: preview a size-threshold change", "rows": result.customers, "median_s": round(seconds, 2),
           "rows_per_s": round(result.customers / seconds) if seconds else None}
