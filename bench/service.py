"""The service desk at scale (issue 7 "Speed"): a team's queue and the breach list p95 ≤ 100 ms with 2M cases; the
SLA check job over every open case ≤ 30 s.

The bench database gets about 1.1 cases per institution, at least 5,000 (2M at 1.8M institutions; ``BENCH_SERVICE_CASES=N`` in the
environment asks for another total, e.g. 2M on the 20k-institution database), generated inside the database and
kept between runs:

* one INSERT … SELECT of cases per pass over the institutions, joined to a small table of 1,000 time buckets
  (received, responded, resolved, closed, due times computed in Python with ``service.clocks.due_at``, so the
  SQL needs no engine-specific date arithmetic); 90 % of the buckets are closed cases of the last two years (one
  in 25 resolved late: a breached, stopped clock), 10 % open cases of the last ten days whose resolution clocks
  fall due from two days ago to a week ahead — they straddle "now";
* consultations are owned by the customer's rep (a sales manager's team queue has them), the rest by
  ``BENCH_AGENTS`` service-desk agents (a few hundred at full scale);
* two INSERT … SELECT of clocks (first response for complaints and clinical inquiries, resolution for all),
  then ANALYZE.

Scenarios:

* team queue: ``GET /service/`` for ``manager_east`` against the raw SQL of the same read;
* breach list: ``GET /service/breaches/`` for head office (``leader``) and for ``manager_east``, against raw SQL;
* SLA check: ``clocks.check()`` over every running clock, a few runs, against the raw SQL of its three reads.
  Before each run (untimed) the clocks are put back in the state earlier runs leave — past due: breached (by
  more than a day: told leadership); not due: neither warned nor breached — and one in ``RESET_SAMPLE`` of the
  past-due ones is unbreached again, so every run breaches, escalates and warns for real (with its audit
  entries and notifications).

Whole requests go through the test client. While the queue and breach templates are not in this branch, those
scenarios time the view's own queryset instead and say so in their name.
"""

from __future__ import annotations

import datetime
import os
import statistics
import time
from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction
from django.template import TemplateDoesNotExist
from django.test import Client
from django.utils import timezone

from bench.scenarios import _columns, _in, _p95, _q, scope_sql
from pharmacrm.core import policy
from pharmacrm.customers.models import Institution
from pharmacrm.org.models import Team, User
from pharmacrm.org.querysets import users_in_scope
from pharmacrm.org.roles import Role
from pharmacrm.org.scope import scope_of
from pharmacrm.org.services import create_team, create_user
from pharmacrm.sales.models import Product
from pharmacrm.service import clocks
from pharmacrm.service.choices import ClockBasis, ClockKind
from pharmacrm.service.models import Case, SlaClock

PER_INSTITUTION = 1.1
#: at least this many cases, so that a small database (the smoke run of the suite) gives every list rows
MINIMUM_CASES = 5000
BUCKETS = 1000
#: buckets from this one on hold open cases (the last 10 %)
OPEN_FROM = 900
#: one closed bucket in this many was resolved late (its resolution clock breached)
LATE_EVERY = 25
KINDS = ("consultation", "consultation", "consultation", "clinical", "quality", "quality", "return", "guidance",
         "complaint", "complaint")
SEVERITIES = ("medium", "medium", "high", "low", "medium", "critical", "medium", "high")
CAUSES = ("logistics", "product_quality", "packaging", "order_handling", "invoicing", "service", "information",
          "use", "not_confirmed", "other")
QUEUE_ROWS = 100
#: one past-due running clock in this many (by id) is unbreached before each timed run of the check
RESET_SAMPLE = 20

CASE, CLOCK, INSTITUTION, USER = (_q(Case._meta.db_table), _q(SlaClock._meta.db_table),
                                  _q(Institution._meta.db_table), _q(User._meta.db_table))


def _agents(institutions: int) -> list[int]:
    """The service desk: ``bench_agent_NNN`` (Role.SERVICE) in team 客服中心 — 10 at the default scale, 300 at
    1.8M institutions."""
    wanted = max(10, min(300, institutions // 6000))
    team = Team.objects.filter(name="客服中心").first() or create_team(actor=None, name="客服中心")
    have = list(User.objects.filter(username__startswith="bench_agent_").order_by("id").values_list("pk", flat=True))
    for index in range(len(have), wanted):
        user = create_user(actor=None, username=f"bench_agent_{index:03d}", full_name=f"客服{index:03d}",
                           role=Role.SERVICE, team=team, email=f"bench_agent_{index:03d}@example.com",
                           password="bench-password-1")
        have.append(user.pk)
    return have[:wanted]


def _buckets(now: datetime.datetime) -> list[tuple[Any, ...]]:
    """(bucket, received, responded, resolved, closed, first-response due, resolution due, late) per bucket."""
    rows = []
    for bucket in range(BUCKETS):
        severity = SEVERITIES[bucket % len(SEVERITIES)]
        target = int(policy.get(f"service.resolution_days_{severity}"))
        if bucket < OPEN_FROM:  # closed, spread over two years
            received = now - datetime.timedelta(days=730 * (OPEN_FROM - bucket) / OPEN_FROM + 10, hours=bucket % 9)
            late = bucket % LATE_EVERY == 0
            due = clocks.due_at(ClockBasis.WORKING_DAYS, target, received)
            resolved = due + datetime.timedelta(hours=20) if late else received + datetime.timedelta(hours=30)
            rows.append((bucket, received, received + datetime.timedelta(hours=3), resolved,
                         resolved + datetime.timedelta(days=3), received + datetime.timedelta(hours=24), due, late))
        else:  # open: received in the last ten days, every 2.4 hours
            received = now - datetime.timedelta(hours=2.4 * (BUCKETS - bucket))
            rows.append((bucket, received, None, None, None, received + datetime.timedelta(hours=24),
                         clocks.due_at(ClockBasis.WORKING_DAYS, target, received), False))
    return rows


def ensure_cases(total: int | None = None) -> int:
    """Top the cases up to ``total`` (default 1.1 per institution), with their clocks; kept between runs."""
    institutions = Institution.objects.filter(owner__isnull=False).count()
    total = total or int(os.environ.get("BENCH_SERVICE_CASES") or 0) or max(round(institutions * PER_INSTITUTION),
                                                                                  MINIMUM_CASES)
    have = Case._base_manager.count()
    if have >= total * 0.9:
        print(f"bench database holds {have} cases; not regenerating", flush=True)
        # fresh statistics, as production keeps them: a migration that rebuilds an index drops its SQLite
        # statistics, and without them the head-office breach list took 850 ms instead of 35
        with connection.cursor() as cursor:
            for table in (CASE, CLOCK):
                cursor.execute(f"ANALYZE {table}")
        return have
    started = time.monotonic()
    print(f"generating {total - have} cases with their SLA clocks …", flush=True)
    agents = _agents(institutions)
    products = list(Product.objects.order_by("id").values_list("pk", flat=True)[:20])
    now = timezone.now()
    kind = f"CASE (i.id + p.n) % {len(KINDS)} " + " ".join(
        f"WHEN {index} THEN '{value}'" for index, value in enumerate(KINDS)) + " END"
    severity = f"CASE b.bucket % {len(SEVERITIES)} " + " ".join(
        f"WHEN {index} THEN '{value}'" for index, value in enumerate(SEVERITIES)) + " END"
    cause = f"CASE i.id % {len(CAUSES)} " + " ".join(
        f"WHEN {index} THEN '{value}'" for index, value in enumerate(CAUSES)) + " END"
    is_open = f"b.bucket >= {OPEN_FROM}"
    status = (f"CASE WHEN {is_open} THEN (CASE WHEN b.bucket >= {BUCKETS - 20} THEN 'received' "
              "WHEN i.id % 2 = 0 THEN 'acknowledged' ELSE 'investigating' END) ELSE 'closed' END")
    product = (f"CASE WHEN ({kind}) IN ('quality', 'complaint', 'return') THEN "
               f"(SELECT product_id FROM bench_case_product WHERE slot = i.id % {max(len(products), 1)}) END")
    owner = f"CASE WHEN ({kind}) = 'consultation' THEN i.owner_id ELSE a.user_id END"
    with transaction.atomic(), connection.cursor() as cursor:
        for table, columns in (("bench_case_bucket", "bucket integer PRIMARY KEY, received_at timestamp with time "
                                "zone, acknowledged_at timestamp with time zone, resolved_at timestamp with time "
                                "zone, closed_at timestamp with time zone, first_due timestamp with time zone, "
                                "resolution_due timestamp with time zone, late boolean"),
                               ("bench_case_agent", "slot integer PRIMARY KEY, user_id integer"),
                               ("bench_case_product", "slot integer PRIMARY KEY, product_id integer"),
                               ("bench_case_pass", "n integer PRIMARY KEY, share integer")):
            if connection.vendor == "sqlite":
                columns = columns.replace(" with time zone", "")
            cursor.execute(f"CREATE TEMPORARY TABLE {table} ({columns})")
        cursor.executemany("INSERT INTO bench_case_bucket VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                           [tuple(_db_time(value) if isinstance(value, datetime.datetime) else value
                                  for value in row) for row in _buckets(now)])
        cursor.executemany("INSERT INTO bench_case_agent VALUES (%s, %s)", list(enumerate(agents)))
        cursor.executemany("INSERT INTO bench_case_product VALUES (%s, %s)", list(enumerate(products)))
        # whole passes over every institution, then one over a share of them (per cent, by id)
        wanted = (total - have) / max(institutions, 1)
        passes = [(index, 100) for index in range(int(wanted))] + [(int(wanted), round(100 * (wanted % 1)))]
        cursor.executemany("INSERT INTO bench_case_pass VALUES (%s, %s)", [row for row in passes if row[1]])
        first_new = Case._base_manager.order_by("-id").values_list("pk", flat=True).first() or 0
        cursor.execute(f"""INSERT INTO {CASE} (created_at, updated_at, version, institution_id, kind, channel,
                severity, title, description, product_id, batch_number, return_kind, status, owner_id, created_by_id,
                received_at, acknowledged_at, resolved_at, closed_at, solution, root_cause, corrective_action,
                waiting_on_customer, pv_kind, pv_seriousness, pv_reference, escalation, void_reason)
            SELECT b.received_at, COALESCE(b.closed_at, b.received_at), 1, i.id, {kind}, 'hotline', {severity},
                   '客户反馈', '基准数据', {product}, CASE WHEN ({kind}) = 'quality' THEN 'B' || (i.id % 97) ELSE '' END,
                   CASE WHEN ({kind}) = 'return' THEN 'return' ELSE '' END, {status}, {owner}, {owner},
                   b.received_at,
                   CASE WHEN b.bucket >= {BUCKETS - 20} THEN NULL ELSE COALESCE(b.acknowledged_at, b.received_at)
                   END, b.resolved_at, b.closed_at, CASE WHEN {is_open} THEN '' ELSE '已解决' END,
                   CASE WHEN {is_open} THEN '' ELSE {cause} END, CASE WHEN {is_open} THEN '' ELSE '已整改' END,
                   FALSE, '', '', '', CASE WHEN b.late THEN 1 ELSE 0 END, ''
            FROM bench_case_pass p
            JOIN {INSTITUTION} i ON i.owner_id IS NOT NULL AND (p.share = 100 OR (i.id * 7 + p.n) % 100 < p.share)
            JOIN bench_case_bucket b ON b.bucket = (i.id * 31 + p.n * 17) % {BUCKETS}
            JOIN bench_case_agent a ON a.slot = i.id % {len(agents)}""")
        # resolution clocks for all, first-response clocks for complaints and clinical inquiries
        common = f"""INSERT INTO {CLOCK} (created_at, updated_at, version, case_id, kind, basis, target, started_at,
                due_at, stopped_at, warned_at, breached_at, escalation, owner_id)"""
        cursor.execute(f"""{common}
            SELECT c.received_at, c.updated_at, 1, c.id, '{ClockKind.RESOLUTION}', '{ClockBasis.WORKING_DAYS}', 5,
                   c.received_at, b.resolution_due, c.resolved_at, NULL,
                   CASE WHEN b.late THEN b.resolution_due END, CASE WHEN b.late THEN 1 ELSE 0 END, c.owner_id
            FROM {CASE} c JOIN bench_case_bucket b ON b.received_at = c.received_at WHERE c.id > %s""", [first_new])
        cursor.execute(f"""{common}
            SELECT c.received_at, c.updated_at, 1, c.id, '{ClockKind.FIRST_RESPONSE}', '{ClockBasis.HOURS}', 24,
                   c.received_at, b.first_due, c.acknowledged_at, NULL, NULL, 0, c.owner_id
            FROM {CASE} c JOIN bench_case_bucket b ON b.received_at = c.received_at
            WHERE c.id > %s AND c.kind IN ('complaint', 'clinical')""", [first_new])
        for table in ("bench_case_bucket", "bench_case_agent", "bench_case_product", "bench_case_pass"):
            cursor.execute(f"DROP TABLE {table}")
    with connection.cursor() as cursor:
        for table in (CASE, CLOCK):
            cursor.execute(f"ANALYZE {table}")
    count = Case._base_manager.count()
    print(f"generated in {time.monotonic() - started:.0f} s ({count} cases, "
          f"{SlaClock._base_manager.count()} clocks, {SlaClock._base_manager.filter(stopped_at=None).count()} running)",
          flush=True)
    return count


# --- the state an hourly check job finds ----------------------------------------------------------------------


def reset_clocks(now: datetime.datetime) -> None:
    """Running clocks as earlier runs left them — past due: breached (by more than a day: told leadership); not
    due yet: neither warned nor breached — except a sample (one in ``RESET_SAMPLE`` by id) of the past-due ones,
    put back to not breached, for this run to breach (and escalate). Untimed, raw SQL."""
    day = datetime.timedelta(hours=int(policy.get("service.escalate_leadership_hours")))
    now_value, late_value = _db_time(now), _db_time(now - day)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {CLOCK} SET breached_at = NULL, warned_at = NULL, escalation = 0 "
                       "WHERE stopped_at IS NULL AND due_at >= %s", [now_value])
        cursor.execute(f"UPDATE {CLOCK} SET breached_at = due_at, escalation = 1 "
                       "WHERE stopped_at IS NULL AND due_at < %s AND due_at >= %s", [now_value, late_value])
        cursor.execute(f"UPDATE {CLOCK} SET breached_at = due_at, escalation = 2 "
                       "WHERE stopped_at IS NULL AND due_at < %s", [late_value])
        cursor.execute(f"UPDATE {CLOCK} SET breached_at = NULL, escalation = 0 "
                       f"WHERE stopped_at IS NULL AND due_at < %s AND id %% {RESET_SAMPLE} = 0", [now_value])


def _db_time(value: datetime.datetime) -> Any:
    """A datetime as the ORM stores it (SQLite compares the text)."""
    return connection.ops.adapt_datetimefield_value(value)


# --- scenarios -------------------------------------------------------------------------------------------------


def _timed(function: Any, repeat: int, before: Any = None) -> list[float]:
    samples = []
    for _ in range(repeat):
        if before:
            before()
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _result(name: str, rows: int, app: list[float], raw: list[float], note: str = "") -> dict[str, Any]:
    return {"name": name, "rows": rows, "note": note, "orm_median_ms": statistics.median(app),
            "orm_p95_ms": _p95(app) if len(app) >= 5 else max(app), "raw_median_ms": statistics.median(raw),
            "raw_p95_ms": _p95(raw) if len(raw) >= 5 else max(raw),
            "ratio": statistics.median(app) / statistics.median(raw) if statistics.median(raw) else None}


SELECT_ROWS = ", ".join([*_columns(SlaClock, "s"), *_columns(Case, "c"), *_columns(Institution, "i"),
                         *_columns(User, "u")])
FROM_ROWS = (f"FROM {CLOCK} s JOIN {CASE} c ON c.id = s.case_id JOIN {INSTITUTION} i ON i.id = c.institution_id "
             f"JOIN {USER} u ON u.id = s.owner_id")


def _case_scope(user: User) -> tuple[str, list[Any]]:
    """``Case.visible_to`` by hand: the customer in scope, or the user's own or logged cases."""
    scope = scope_of(user)
    if scope.everything:
        return "1 = 1", []
    where, params = scope_sql(scope)
    return f"({where} OR c.owner_id = %s OR c.created_by_id = %s)", [*params, user.pk, user.pk]


class _Page:
    """A page through the test client (``rows`` checks it answers and returns the view's own queryset's ids, the
    rows it shows); while the page's template is missing, only the view's queryset, and the name says so."""

    def __init__(self, user: User, url: str, queryset: Any) -> None:
        self.client = Client()
        self.client.force_login(user)
        self.url, self.queryset, self.whole_request = url, queryset, True

    def get(self) -> None:
        if self.whole_request:
            try:
                response = self.client.get(self.url, secure=True)
            except TemplateDoesNotExist:
                self.whole_request = False
            else:
                if response.status_code != 200:
                    raise AssertionError(f"GET {self.url}: {response.status_code}")
                return
        self.rows()

    def rows(self) -> list[int]:
        return [row.pk for row in self.queryset()]

    @property
    def how(self) -> str:
        return "page" if self.whole_request else "queryset, no template"


def _compare(name: str, page: _Page, sql: str, params: list[Any], repeat: int) -> dict[str, Any]:
    def raw() -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]

    page.get()  # the page answers (or has no template yet)
    app_ids, raw_ids = page.rows(), raw()
    if app_ids != raw_ids:
        raise AssertionError(f"{name}: the page and the raw SQL disagree\n  app: {app_ids[:8]}…\n  raw: {raw_ids[:8]}…")
    if not app_ids:
        raise AssertionError(f"{name}: no rows — the scenario measures nothing")
    for _ in range(3):
        page.get()
        raw()
    app, raw_samples = _timed(page.get, repeat), _timed(raw, repeat)
    return _result(f"{name} · {page.how}", len(app_ids), app, raw_samples, sql)


def run(repeat: int = 20, check_runs: int = 3) -> Iterator[dict[str, Any]]:
    ensure_cases()
    users = {user.username: user for user in User.objects.filter(username__in=("manager_east", "leader"))}
    manager, head_office = users["manager_east"], users["leader"]

    # the team queue, as the view reads it
    members = list(users_in_scope(manager).values_list("pk", flat=True))
    scope_where, scope_params = _case_scope(manager)
    queue = _Page(manager, "/service/", lambda: list(
        SlaClock.objects.visible_to(manager).running().filter(owner__in=users_in_scope(manager).values("pk"))
        .select_related("case__institution", "owner").order_by("due_at", "id")[:QUEUE_ROWS]))
    yield _compare(f"team queue ({len(members)} people)", queue,
                   f"SELECT {SELECT_ROWS} {FROM_ROWS} WHERE s.stopped_at IS NULL AND s.owner_id IN ({_in(members)}) "
                   f"AND {scope_where} ORDER BY s.due_at, s.id LIMIT {QUEUE_ROWS}", [*members, *scope_params], repeat)

    # the breach list, for head office and for a manager
    for user in (head_office, manager):
        where, params = _case_scope(user)
        now = timezone.now()
        page = _Page(user, "/service/breaches/", lambda user=user: list(
            clocks.breaches(SlaClock.objects.visible_to(user)).select_related("case__institution", "owner")
            [:QUEUE_ROWS]))
        yield _compare(f"breach list · {user.username}", page,
                       f"SELECT {SELECT_ROWS} {FROM_ROWS} WHERE s.stopped_at IS NULL AND (s.breached_at IS NOT NULL "
                       f"OR (s.due_at < %s AND s.paused_at IS NULL)) AND {where} ORDER BY s.due_at, s.id "
                       f"LIMIT {QUEUE_ROWS}", [_db_time(now), *params], repeat)

    # the SLA check job: every run finds the state an hourly run would
    running = SlaClock._base_manager.filter(stopped_at=None).count()
    done: list[clocks.Checked] = []
    app = _timed(lambda: done.append(clocks.check()), check_runs, before=lambda: reset_clocks(timezone.now()))
    if not all(result.breached for result in done):
        raise AssertionError(f"SLA check: a run did no work: {done}")
    warn_hours = datetime.timedelta(hours=int(policy.get("service.warn_before_hours")))
    late = datetime.timedelta(hours=int(policy.get("service.escalate_leadership_hours")))

    def raw_reads() -> None:
        now = timezone.now()
        reset_clocks(now)  # untimed below: only the reads are
        started = time.perf_counter()
        with connection.cursor() as cursor:
            base = f"SELECT owner_id FROM {CLOCK} WHERE stopped_at IS NULL AND paused_at IS NULL AND "
            cursor.execute(base + "warned_at IS NULL AND breached_at IS NULL AND due_at >= %s AND due_at < %s",
                           [_db_time(now), _db_time(now + warn_hours)])
            cursor.fetchall()
            cursor.execute(base + "breached_at IS NULL AND due_at < %s", [_db_time(now)])
            cursor.fetchall()
            cursor.execute(f"SELECT COUNT(*) FROM {CLOCK} WHERE stopped_at IS NULL AND paused_at IS NULL AND "
                           "breached_at IS NOT NULL AND escalation < 2 AND due_at < %s", [_db_time(now - late)])
            cursor.fetchall()
        raw_samples.append((time.perf_counter() - started) * 1000)

    raw_samples: list[float] = []
    for _ in range(check_runs):
        raw_reads()
    last = done[-1]
    yield _result(f"SLA check, {running} running clocks", running, app, raw_samples,
                  f"per run: warned {last.warned}, breached {last.breached}, to leadership {last.to_leadership}")


def section(args: Any) -> list[dict[str, Any]]:
    """``python -m bench`` prints this table when ``--only`` is absent or names part of "service"."""
    if args.only and not any(part in "service" for part in args.only):
        return []
    print(f"\n{'service desk':<52}{'rows':>8}{'app med':>10}{'app p95':>10}{'raw med':>10}{'ratio':>8}")
    results = []
    for result in run(repeat=max(5, min(args.repeat, 50))):
        results.append(result)
        print(f"{result['name']:<52}{result['rows']:>8}{result['orm_median_ms']:>8.1f}ms{result['orm_p95_ms']:>8.1f}ms"
              f"{result['raw_median_ms']:>8.1f}ms{result['ratio']:>7.2f}x", flush=True)
        if result["name"].startswith("SLA check"):
            print(f"{'':<4}{result['note']}")
    return results
