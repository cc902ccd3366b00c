"""The grading engine: every customer's classes in a few set-based statements, the same on SQLite and PostgreSQL.

A run computes every customer's classes in one ``CREATE TEMP TABLE … AS SELECT`` built from two parts,
then makes one short write:

1. **inputs** (``_inputs_sql``): per customer, purchases of the last 12 months and the 12 before, purchases
   in 12 months and the last month with one (from the monthly totals, one pass), the date cooperation
   began (the master's first-cooperation date, else the first purchase), annual purchases in our
   categories when known, and credit (A within the limit, B no credit line, C over it).
2. **classes** (``_classify_sql`` over the inputs): component scores 0–100, the weighted grade and
   key-account scores, each dimension's class, the key-account candidate rank — all from the parameters
   of the rule versions in force, bound as query parameters.
3. **write** (one transaction): the classes that changed go to ``GradeChange``, the new classes replace the
   old ones (on PostgreSQL a fresh table takes the old one's place), owners are told how many of their
   customers changed class.

The temporary table is the connection's own, so on SQLite the long reading part holds no write lock;
only step 3 does. A preview runs step 2 over the stored inputs of the last run with a draft's
parameters and counts the moves — what publishing the draft would change, on the same data.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from pharmacrm.core.derived import replace_rows
from pharmacrm.core.notifications import notify
from pharmacrm.core.querysets import allow_bulk_writes
from pharmacrm.grading import rules
from pharmacrm.grading.choices import Dimension, RunStatus, VersionStatus
from pharmacrm.grading.models import Classification, GradeChange, GradingRun, RuleVersion
from pharmacrm.org.models import User
from pharmacrm.sales.choices import OPEN_RECEIVABLE_STATUSES
from pharmacrm.sales.purchases import add_months

#: the classified dimensions and their columns in ``Classification``
CLASS_COLUMNS = {Dimension.SIZE: "size", Dimension.TENURE: "tenure", Dimension.DEPTH: "depth",
                 Dimension.GRADE: "grade"}
RULE_COLUMNS = {Dimension.SIZE: "size_rule_id", Dimension.TENURE: "tenure_rule_id", Dimension.DEPTH: "depth_rule_id",
                Dimension.GRADE: "grade_rule_id", Dimension.KEY_ACCOUNT: "ka_rule_id"}
INPUT_COLUMNS = ("institution_id", "amount_12_fen", "amount_prev_12_fen", "lines_12", "last_month",
                 "cooperation_since", "since_first_purchase", "category_total_fen", "credit")
RESULT_COLUMNS = (*INPUT_COLUMNS, "volume_percentile", "s_volume", "s_growth", "s_frequency", "s_recency",
                  "s_tenure", "s_credit", "s_influence", "grade_score", "ka_score", "ka_rank", "size", "tenure",
                  "depth", "grade", *RULE_COLUMNS.values())
#: how many customers of each move a preview keeps as examples
PREVIEW_SAMPLES = 5

# --- the SQL that differs between the two databases ------------------------------------------------------

DIALECT = {
    "sqlite": {
        "clamp": "MAX(0.0, MIN(100.0, {}))",
        "days_since": "(julianday(%(as_of)s) - julianday({}))",
        "month_start": "printf('%%04d-%%02d-01', {0} / 100, {0} %% 100)",
        # a run's new classes sorted by customer: compared and written in key order, not looked up all over
        "ordered_run": True,
    },
    "postgresql": {
        "clamp": "GREATEST(0.0, LEAST(100.0, {}))",
        "days_since": "(CAST(%(as_of)s AS date) - {})",
        "month_start": "make_date({0} / 100, {0} %% 100, 1)",
        # hash joins and a heap table: the sort would be paid for nothing
        "ordered_run": False,
    },
}


def _sql(name: str, *args: str) -> str:
    return DIALECT[connection.vendor][name].format(*args)


def _inputs_sql() -> str:
    statuses = ", ".join(f"'{status}'" for status in OPEN_RECEIVABLE_STATUSES)  # choice values from code
    first = _sql("month_start", "i.first_month")
    return f"""
        WITH bought AS (
            SELECT institution_id,
                   SUM(CASE WHEN month >= %(m12)s THEN amount_fen ELSE 0 END) AS a12,
                   SUM(CASE WHEN month < %(m12)s THEN amount_fen ELSE 0 END) AS p12,
                   SUM(CASE WHEN month >= %(m12)s THEN lines ELSE 0 END) AS l12,
                   MAX(month) AS last_month
            FROM sales_purchasemonth WHERE month >= %(m24)s AND month <= %(m0)s
            GROUP BY institution_id
        ), owed AS (
            SELECT institution_id, SUM(total_fen) AS owed FROM sales_order
            WHERE status IN ({statuses}) GROUP BY institution_id
        )
        SELECT i.id AS institution_id, i.kind, i.hospital_grade, COALESCE(b.a12, 0) AS amount_12_fen,
               COALESCE(b.p12, 0) AS amount_prev_12_fen, COALESCE(b.l12, 0) AS lines_12, b.last_month AS last_month,
               COALESCE(i.first_cooperation_date, CASE WHEN i.first_month IS NOT NULL THEN {first} END)
                   AS cooperation_since,
               i.first_cooperation_date IS NULL AND i.first_month IS NOT NULL AS since_first_purchase,
               CASE WHEN i.annual_category_purchases > 0
                    THEN CAST(ROUND(i.annual_category_purchases * 100) AS BIGINT) END AS category_total_fen,
               CASE WHEN cl.limit_fen IS NULL THEN 'B' WHEN COALESCE(o.owed, 0) > cl.limit_fen THEN 'C' ELSE 'A' END
                   AS credit
        FROM (SELECT id, kind, hospital_grade, first_cooperation_date, annual_category_purchases,
                     CASE WHEN first_cooperation_date IS NULL THEN (
                         SELECT MIN(pm.month) FROM sales_purchasemonth pm
                         WHERE pm.institution_id = customers_institution.id AND pm.month <= %(m0)s) END AS first_month
              FROM customers_institution WHERE merged_into_id IS NULL) i
        LEFT JOIN bought b ON b.institution_id = i.id
        LEFT JOIN owed o ON o.institution_id = i.id
        LEFT JOIN sales_creditlimit cl ON cl.institution_id = i.id
    """  # noqa: S608


def _classify_sql(source: str, *, stored_percentile: bool = False, ranked: bool = True,
                  ordered: bool = False) -> str:
    """Stage 2 over ``source`` (a table with ``INPUT_COLUMNS`` and the customer's ``kind`` and
    ``hospital_grade``, which weigh its influence): every column of ``RESULT_COLUMNS``.

    A preview reads the last run's rows, whose volume percentile no rule changes (``stored_percentile``),
    and ranks key-account candidates only when it previews that dimension (``ranked``): the window is a
    sort of every customer. A run ranks them afterwards (``_rank_candidates``): the top few hundred only.
    A run on SQLite wants the rows in customer order (``ordered``): they are then compared with the stored
    classes and appended to their table in key order rather than looked up all over it.
    """
    clamp = DIALECT[connection.vendor]["clamp"].format
    month_index = "(({0} / 100) * 12 + {0} %% 100)".format
    influence = " ".join(f"WHEN s.hospital_grade = '{grade}' THEN %(ka_influence_{grade})s"
                         for grade in rules.INFLUENCE_GRADES)
    influence += " " + " ".join(f"WHEN s.kind = '{kind}' THEN %(ka_influence_{kind})s" for kind in rules.INFLUENCE_KINDS)
    inputs = ", ".join(f"s.{column}" for column in INPUT_COLUMNS)
    percentile = ("s.volume_percentile" if stored_percentile else
                  "CASE WHEN s.amount_12_fen > 0 THEN 100.0 * CUME_DIST() OVER "
                  "(PARTITION BY s.amount_12_fen > 0 ORDER BY s.amount_12_fen) ELSE 0.0 END")
    scores = f"""
        {percentile} AS volume_percentile,
        CASE WHEN s.amount_prev_12_fen > 0
             THEN {clamp("((s.amount_12_fen - s.amount_prev_12_fen) * 100.0 / s.amount_prev_12_fen "
                         "- %(grade_growth_zero_percent)s) * 100.0 "
                         "/ (%(grade_growth_full_percent)s - %(grade_growth_zero_percent)s)")}
             WHEN s.amount_12_fen > 0 THEN 1.0 * %(grade_growth_unknown_score)s ELSE 0.0 END AS s_growth,
        {clamp("s.lines_12 * 100.0 / %(grade_frequency_full)s")} AS s_frequency,
        CASE WHEN s.last_month IS NULL THEN 0.0
             ELSE {clamp(f"100.0 - ({month_index('%(m0)s')} - {month_index('s.last_month')}) * 100.0 "
                         "/ %(grade_recency_zero_months)s")} END AS s_recency,
        CASE WHEN s.cooperation_since IS NULL THEN 0.0
             ELSE {clamp(_sql("days_since", "s.cooperation_since") + " * 100.0 / (%(grade_tenure_full_years)s * 365.25)")}
             END AS s_tenure,
        1.0 * CASE s.credit WHEN 'A' THEN %(grade_credit_a)s WHEN 'B' THEN %(grade_credit_b)s
                            ELSE %(grade_credit_c)s END AS s_credit,
        1.0 * CASE {influence} ELSE %(ka_influence_other)s END AS s_influence"""
    grade_score = ("ROUND(CAST((%(grade_w_volume)s * volume_percentile + %(grade_w_growth)s * s_growth "
                   "+ %(grade_w_frequency)s * s_frequency + %(grade_w_recency)s * s_recency "
                   "+ %(grade_w_tenure)s * s_tenure + %(grade_w_credit)s * s_credit) / %(grade_weights)s AS NUMERIC), 1)")
    ka_score = ("ROUND(CAST((%(ka_w_amount)s * volume_percentile + %(ka_w_frequency)s * s_frequency "
                "+ %(ka_w_tenure)s * s_tenure + %(ka_w_influence)s * s_influence) / %(ka_weights)s AS NUMERIC), 1)")
    carried = ", ".join([*INPUT_COLUMNS, "volume_percentile", "volume_percentile AS s_volume", "s_growth",
                         "s_frequency", "s_recency", "s_tenure", "s_credit", "s_influence"])
    return f"""
        SELECT {carried},
               grade_score, ka_score,
               CASE WHEN ka_score >= %(ka_min_score)s AND ka_order <= %(ka_top_n)s THEN ka_order END AS ka_rank,
               CASE WHEN amount_12_fen >= %(size_large_min_yuan)s * 100 THEN 'large'
                    WHEN amount_12_fen >= %(size_medium_min_yuan)s * 100 THEN 'medium' ELSE 'small' END AS size,
               CASE WHEN cooperation_since IS NULL THEN 'none'
                    WHEN cooperation_since < %(tenure_long_before)s THEN 'long'
                    WHEN cooperation_since <= %(tenure_medium_by)s THEN 'medium' ELSE 'short' END AS tenure,
               CASE WHEN amount_12_fen <= 0 THEN 'to_develop' WHEN category_total_fen IS NULL THEN 'unknown'
                    WHEN amount_12_fen * 100 >= %(depth_core_share_percent)s * category_total_fen THEN 'core'
                    ELSE 'potential' END AS depth,
               CASE WHEN grade_score >= %(grade_premium_min)s THEN 'premium'
                    WHEN grade_score >= %(grade_general_min)s THEN 'general' ELSE 'potential' END AS grade,
               %(rule_size)s AS size_rule_id, %(rule_tenure)s AS tenure_rule_id, %(rule_depth)s AS depth_rule_id,
               %(rule_grade)s AS grade_rule_id, %(rule_key_account)s AS ka_rule_id
        FROM (
            SELECT scored.*, {"ROW_NUMBER() OVER (ORDER BY ka_score DESC, institution_id)" if ranked else "CAST(NULL AS BIGINT)"}
                AS ka_order
            FROM (
                SELECT components.*, {grade_score} AS grade_score, {ka_score} AS ka_score
                FROM (SELECT {inputs}, {scores} FROM {source} s) components
            ) scored
        ) ranked
        {"ORDER BY institution_id" if ordered else ""}
    """  # noqa: S608


# --- which rules are in force --------------------------------------------------------------------------


def in_force(on: datetime.date) -> dict[str, RuleVersion]:
    """Each dimension's published version with the latest effective date on or before ``on``."""
    versions = {}
    for dimension in Dimension.values:
        version = (RuleVersion.objects.filter(dimension=dimension, status=VersionStatus.PUBLISHED,
                                              effective_from__lte=on)
                   .order_by("-effective_from", "-number").first())
        if version is None:
            raise LookupError(f"no published {dimension} rules in force on {on}")
        versions[dimension] = version
    return versions


def years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def parameters(as_of: datetime.date, versions: dict[str, RuleVersion]) -> dict[str, Any]:
    """The query parameters of stages 1 and 2: months, dates and every rule parameter, prefixed by dimension."""
    m0 = as_of.year * 100 + as_of.month
    values: dict[str, Any] = {"as_of": connection.ops.adapt_datefield_value(as_of), "m0": m0,
                              "m12": add_months(m0, -11), "m24": add_months(m0, -23)}
    prefixes = {Dimension.SIZE: "size", Dimension.TENURE: "tenure", Dimension.DEPTH: "depth",
                Dimension.GRADE: "grade", Dimension.KEY_ACCOUNT: "ka"}
    for dimension, version in versions.items():
        values[f"rule_{dimension}"] = version.pk
        for name, value in version.values.items():
            values[f"{prefixes[dimension]}_{name}"] = value
    values["grade_weights"] = 1.0 * sum(values[f"grade_{name}"] for name in rules.GRADE_WEIGHTS)
    values["ka_weights"] = 1.0 * sum(values[f"ka_{name}"] for name in rules.KEY_ACCOUNT_WEIGHTS)
    adapt = connection.ops.adapt_datefield_value
    values["tenure_long_before"] = adapt(years_before(as_of, values["tenure_long_over_years"]))
    values["tenure_medium_by"] = adapt(years_before(as_of, values["tenure_medium_from_years"]))
    return values


# --- a run ---------------------------------------------------------------------------------------------


def _temp(cursor: Any, name: str, select: str, params: dict[str, Any]) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(f"CREATE TEMPORARY TABLE {name} AS {select}", params)


#: the customers whose classes changed: one pass over the new classes, so history reads only these rows
DIFF_SQL = """SELECT n.institution_id, {columns},
        CASE WHEN o.ka_rank IS NULL THEN '' ELSE 'candidate' END AS old_key_account,
        CASE WHEN n.ka_rank IS NULL THEN '' ELSE 'candidate' END AS new_key_account
    FROM grading_result n JOIN grading_classification o ON o.institution_id = n.institution_id
    WHERE {changed} OR (o.ka_rank IS NULL) <> (n.ka_rank IS NULL)"""


def _diff_sql() -> str:
    columns = ", ".join(f"o.{column} AS old_{column}, n.{column} AS new_{column}" for column in CLASS_COLUMNS.values())
    rules_ = ", ".join(f"o.{column} AS old_{column}, n.{column} AS new_{column}" for column in RULE_COLUMNS.values())
    changed = " OR ".join(f"o.{column} <> n.{column}" for column in CLASS_COLUMNS.values())
    return DIFF_SQL.format(columns=f"{columns}, {rules_}", changed=changed)


def _changes_sql() -> str:
    """Stage 3's history from the diff: one row per changed class (and per customer entering or leaving the
    key-account candidates); the reason is the rules when the dimension's version changed, else the data."""
    selects = []
    for dimension, rule in RULE_COLUMNS.items():
        column = CLASS_COLUMNS.get(dimension, "key_account")
        selects.append(f"""SELECT institution_id, '{dimension}', old_{column}, new_{column},
            CASE WHEN old_{rule} <> new_{rule} THEN 'rules' ELSE 'data' END, old_{rule}, new_{rule}
            FROM grading_diff WHERE old_{column} <> new_{column}""")  # noqa: S608 - names from this module
    return " UNION ALL ".join(selects)


def _rank_candidates(cursor: Any, params: dict[str, Any]) -> None:
    """The key-account candidates of ``grading_result``: the top of the score from its minimum, ranked (ties
    by customer) — a bounded sort of the few hundred best, not a window over every customer."""
    _temp(cursor, "grading_ranks", """SELECT institution_id,
            ROW_NUMBER() OVER (ORDER BY ka_score DESC, institution_id) AS ka_rank
        FROM (SELECT institution_id, ka_score FROM grading_result WHERE ka_score >= %(ka_min_score)s
              ORDER BY ka_score DESC, institution_id LIMIT %(ka_top_n)s) top""", params)
    cursor.execute("""UPDATE grading_result SET ka_rank = (
            SELECT r.ka_rank FROM grading_ranks r WHERE r.institution_id = grading_result.institution_id)
        WHERE institution_id IN (SELECT institution_id FROM grading_ranks)""")
    cursor.execute("DROP TABLE grading_ranks")


def run(*, run: GradingRun) -> GradingRun:
    """Recompute every customer's classes as of ``run.as_of`` (the run is saved and marked done or failed)."""
    versions = in_force(run.as_of)
    params = parameters(run.as_of, versions)
    columns = ", ".join(RESULT_COLUMNS)
    try:
        with connection.cursor() as cursor:
            _temp(cursor, "grading_result", _classify_sql(f"({_inputs_sql()})", ranked=False,
                                                          ordered=DIALECT[connection.vendor]["ordered_run"]), params)
            _rank_candidates(cursor, params)
            # the classes carry no key constraints (see Classification): the customers are joined in instead
            # (one deleted since stage 2 is left out), and the run and rule versions are the ones this run
            # holds; on SQLite the old rows go in one truncation with key checks off
            with connection.constraint_checks_disabled(), transaction.atomic():
                _temp(cursor, "grading_diff", _diff_sql(), {})
                cursor.execute(f"""INSERT INTO grading_gradechange (institution_id, dimension, old, new, reason,
                    old_rule_id, new_rule_id, run_id, changed_on)
                    SELECT c.*, %(run)s, %(as_of)s FROM ({_changes_sql()}) c""", {**params, "run": run.pk})  # noqa: S608
                changes = cursor.rowcount
                select = (f"SELECT {', '.join(f'r.{column}' for column in RESULT_COLUMNS)}, %(run)s, %(as_of)s "  # noqa: S608
                          "FROM grading_result r JOIN customers_institution i ON i.id = r.institution_id")
                customers = replace_rows(cursor, "grading_classification", f"({columns}, run_id, as_of) {select}",
                                         {**params, "run": run.pk})
                _notify_owners(run)
                with allow_bulk_writes():
                    GradingRun.objects.filter(pk=run.pk).update(
                        status=RunStatus.DONE, finished_at=timezone.now(), customers=customers, changes=changes,
                        rules={dimension: version.number for dimension, version in versions.items()})
            for name in ("grading_result", "grading_diff"):
                cursor.execute(f"DROP TABLE IF EXISTS {name}")
    except Exception as error:
        with allow_bulk_writes():
            GradingRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, finished_at=timezone.now(),
                                                        error=str(error)[:2000])
        raise
    run.refresh_from_db()
    return run


def _notify_owners(run: GradingRun) -> None:
    """One message per owner rep: how many of their customers changed class, and in which dimensions (grade
    first), with a link to the run's changes. Two grouped queries, whatever the number of changes."""
    changes = GradeChange.objects.filter(run=run).order_by()
    customers = dict(changes.values_list("institution__owner").annotate(n=Count("institution", distinct=True)))
    by_dimension: dict[int, dict[str, int]] = {}
    for owner, dimension, n in changes.values_list("institution__owner", "dimension").annotate(n=Count("pk")):
        by_dimension.setdefault(owner, {})[dimension] = n
    order = [Dimension.GRADE, Dimension.KEY_ACCOUNT, Dimension.SIZE, Dimension.DEPTH, Dimension.TENURE]
    for owner in User.objects.filter(pk__in=[pk for pk in customers if pk is not None], is_active=True):
        count = customers[owner.pk]
        details = ", ".join(f"{Dimension(dimension).label} {by_dimension[owner.pk][dimension]}"
                              for dimension in order if dimension in by_dimension[owner.pk])
        notify(owner, ngettext("The classes of %(count)d of your customers changed.",
                               "The classes of %(count)d of your customers changed.", count) % {"count": count},
               body=_("Changes by dimension: %(details)s.") % {"details": details},
               url=f"{reverse('grading:change_list')}?run={run.pk}")


# --- preview -------------------------------------------------------------------------------------------


@dataclass
class Move:
    old: str
    new: str
    count: int
    samples: list[dict[str, Any]]


def preview(version: RuleVersion) -> dict[str, Any]:
    """What publishing ``version`` would change: stage 2 over the inputs of the last run, with ``version`` in
    place of its dimension's rules in force on that run's date; moves between classes with examples."""
    last = Classification.objects.order_by().values_list("run", flat=True).first()
    if last is None:
        raise LookupError(_("Grades have not been computed yet: run the grading first."))
    last_run = GradingRun.objects.get(pk=last)
    versions = {**in_force(last_run.as_of), version.dimension: version}
    params = parameters(last_run.as_of, versions)
    if version.dimension == Dimension.KEY_ACCOUNT:
        old_expr, new_expr = ("CASE WHEN o.ka_rank IS NULL THEN '' ELSE 'candidate' END",
                              "CASE WHEN n.ka_rank IS NULL THEN '' ELSE 'candidate' END")
    else:
        column = CLASS_COLUMNS[version.dimension]
        old_expr, new_expr = f"o.{column}", f"n.{column}"
    moves: dict[tuple[str, str], Move] = {}
    stored = ("(SELECT c.*, i.kind, i.hospital_grade FROM grading_classification c "
              "JOIN customers_institution i ON i.id = c.institution_id)")
    classify = _classify_sql(stored, stored_percentile=True, ranked=version.dimension == Dimension.KEY_ACCOUNT)
    with connection.cursor() as cursor:
        # only each customer's old and new class is kept, not every column of the new classes
        moved = (f"SELECT {old_expr} AS old, {new_expr} AS new, n.institution_id "  # noqa: S608 - names from here
                 f"FROM ({classify}) n JOIN grading_classification o ON o.institution_id = n.institution_id")
        _temp(cursor, "grading_moves", moved, params)
        cursor.execute("SELECT old, new, COUNT(*) FROM grading_moves GROUP BY old, new")
        for old, new, count in cursor.fetchall():
            moves[(old, new)] = Move(old, new, count, [])
        cursor.execute("""SELECT old, new, institution_id, name FROM (
            SELECT m.old, m.new, m.institution_id, i.name,
                   ROW_NUMBER() OVER (PARTITION BY m.old, m.new ORDER BY m.institution_id) AS k
            FROM grading_moves m JOIN customers_institution i ON i.id = m.institution_id WHERE m.old <> m.new) s
            WHERE k <= %(samples)s ORDER BY old, new, institution_id""", {"samples": PREVIEW_SAMPLES})
        for old, new, pk, name in cursor.fetchall():
            moves[(old, new)].samples.append({"id": pk, "name": name})
        cursor.execute("DROP TABLE IF EXISTS grading_moves")
    ordered = sorted(moves.values(), key=lambda move: (move.old == move.new, -move.count))
    return {"run": last_run.pk, "as_of": last_run.as_of.isoformat(), "dimension": version.dimension,
            "customers": sum(move.count for move in ordered),
            "changes": sum(move.count for move in ordered if move.old != move.new),
            "moves": [{"old": move.old, "new": move.new, "count": move.count, "samples": move.samples}
                      for move in ordered]}
