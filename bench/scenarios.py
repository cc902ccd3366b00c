"""Benchmark scenarios: the path a page takes vs raw SQL returning the same rows.

Each scenario pairs ``orm()`` with ``raw()`` (hand-written SQL on the same connection,
with the same meaning as the user's scope). ``run_scenario`` checks both return the
same ids in the same order — a mismatch is a bug in the scenario or in scoping, and
stops the run. ``orm()`` is one of:

* a *query* scenario: the list view's own ``get_rows()`` (scope, filters, search,
  sort, select_related) fetched through ``core.generic.Page``;
* a *page* or *htmx* scenario: the whole request through ``django.test.Client`` —
  middleware, session, view, template — for a signed-in user: server time. "htmx" is
  the rows partial the list's search box fetches as the user types.

Scope is resolved once per user for query scenarios (``scope_of`` caches it on the
user object, as it does for the rest of a request), so timings compare the queries;
page scenarios resolve it per request, as production does.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pharmacrm.core import hanzi
from pharmacrm.core.generic import Page
from pharmacrm.customers import search
from pharmacrm.customers.models import Institution
from pharmacrm.customers.views import InstitutionListView
from pharmacrm.org.models import Division, User
from pharmacrm.org.roles import ScopeLevel
from pharmacrm.org.scope import Scope, scope_of

PAGE_SIZE = InstitutionListView.page_size
LIST_URL = reverse("customers:institution_list")
#: the filtered list page: one type and one qualification state, as a rep checks whose licences are fine
PAGE_FILTER = {"kind": "pharmacy", "qualification": "qualified"}


class BenchMismatch(AssertionError):
    """The ORM and the raw SQL disagree: the comparison would be meaningless."""


@dataclass
class Scenario:
    name: str
    orm: Callable[[], Sequence[Any]]
    sql: str
    params: list[Any]
    note: str = ""
    #: raises BenchMismatch when an invariant of the path does not hold (checked once, untimed)
    invariant: Callable[[], None] | None = None

    def raw(self) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params)
            return cursor.fetchall()


# --- SQL helpers ----------------------------------------------------------------------------


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _columns(model: type[models.Model], alias: str) -> list[str]:
    return [f"{alias}.{_q(field.column)}" for field in model._meta.concrete_fields]


def _in(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values)) if values else "NULL"


INSTITUTION = _q(Institution._meta.db_table)
DIVISION = _q(Division._meta.db_table)
USER = _q(User._meta.db_table)
LIST_COLUMNS = ", ".join([*_columns(Institution, "i"), *_columns(Division, "d"), *_columns(User, "u")])
LIST_FROM = f"FROM {INSTITUTION} i JOIN {DIVISION} d ON d.code = i.division_id JOIN {USER} u ON u.id = i.owner_id"
LIKE_ESCAPE = " ESCAPE '\\'" if connection.vendor == "sqlite" else ""


def list_sql(where: str) -> str:
    """The list page's query: live rows, one page plus one row (Page fetches size+1), newest first."""
    return (f"SELECT {LIST_COLUMNS} {LIST_FROM} WHERE i.merged_into_id IS NULL AND {where} "
            f"ORDER BY i.id DESC LIMIT {PAGE_SIZE + 1}")


def scope_sql(scope: Scope) -> tuple[str, list[Any]]:
    """The user's scope by hand: ids from one indexed SELECT per way of being in scope, united.

    Same meaning as ``owner = me OR academic_owner = me OR …``; written as a union so each
    branch reads its own index and the ids come out in order (the OR form makes SQLite
    merge indexes and sort every visible row: see the notes of ``rep list page``).
    """
    if scope.everything:
        return "1 = 1", []
    branches: list[tuple[str, list[Any]]] = [("owner_id = %s", [scope.user_id]),
                                             ("academic_owner_id = %s", [scope.user_id])]
    if scope.level == ScopeLevel.TEAM:
        branches += [(f"team_id IN ({_in(scope.team_ids)})", list(scope.team_ids)),
                     (f"owner_id IN ({_in(scope.member_ids)})", list(scope.member_ids)),
                     (f"academic_owner_id IN ({_in(scope.member_ids)})", list(scope.member_ids))]
    elif scope.level == ScopeLevel.REGION:
        for column, codes in (("province_code", scope.province_codes), ("city_code", scope.city_codes),
                              ("division_id", scope.district_codes)):
            if codes:
                branches.append((f"{column} IN ({_in(codes)})", list(codes)))
    union = " UNION ALL ".join(f"SELECT id FROM {INSTITUTION} WHERE {where}" for where, _ in branches)
    return f"i.id IN ({union})", [param for _, params in branches for param in params]


def search_sql(user: User, query: str) -> tuple[str, list[Any]]:
    """What the search box adds, by hand: a LIKE over a small scope's search keys, else the full-text table."""
    term = hanzi.query_term(query)
    if term is None:
        raise BenchMismatch(f"nothing searchable in {query!r}")
    like = (f"i.search_key LIKE %s{LIKE_ESCAPE}", [f"%{term.text}%"])
    if scope_of(user).level in (ScopeLevel.OWN, ScopeLevel.TEAM):
        return like
    fts_sql, fts_params = search.INSTITUTION_INDEX.matching_ids(term.term)  # the side table's own SQL
    if term.exact:
        return f"i.id IN ({fts_sql})", fts_params
    return f"i.id IN ({fts_sql}) AND {like[0]}", [*fts_params, *like[1]]


def _ids(rows: Sequence[Any]) -> list[Any]:
    return [row if isinstance(row, str) else row.pk for row in rows]


# --- the app's paths ---------------------------------------------------------------------------


def view_rows(user: User, params: dict[str, str] | None = None) -> list[Any]:
    """The list view's own queryset (``get_rows``: scope, filters, search, sort) through Page."""
    request = RequestFactory().get(LIST_URL, params or {})
    request.user = user
    view = InstitutionListView()
    view.setup(request)
    filterset, queryset = view.get_rows()
    if filterset is not None and filterset.is_bound and not filterset.is_valid():
        raise BenchMismatch(f"filters invalid: {filterset.errors}")
    page = Page(queryset, 1, PAGE_SIZE)
    return [*page.object_list, *(["next"] if page.has_next else [])]


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_rows(client: Client, params: dict[str, Any], *, htmx: bool = False) -> list[Any]:
    """GET the list page (or, as the search box does, its rows partial) and return the rows it rendered."""
    headers = {"HX-Request": "true", "HX-Target": "rows"} if htmx else {}
    response = client.get(LIST_URL, params, secure=True, headers=headers)
    if response.status_code != 200:
        raise BenchMismatch(f"GET {LIST_URL} {params} answered {response.status_code}")
    context = response.context_data
    return [*context["rows"], *(["next"] if context["page"].has_next else [])]


def same_query_count(client: Client, params: dict[str, Any]) -> Callable[[], None]:
    """An invariant: a page of 100 rows costs the same number of queries as a page of 25 (no N+1)."""

    def check() -> None:
        counts = []
        for size in (25, 100):
            with CaptureQueriesContext(connection) as queries:
                page_rows(client, {**params, "page_size": size})
            counts.append(len(queries))
        if counts[0] != counts[1]:
            raise BenchMismatch(f"list page: {counts[0]} queries for 25 rows but {counts[1]} for 100")

    return check


# --- scenarios ----------------------------------------------------------------------------------


def build_scenarios() -> list[Scenario]:
    names = ["rep_east", "manager_east", "regional_east", "steward"]
    users = {u.username: u for u in User.objects.filter(username__in=names).select_related("team")}
    missing = set(names) - set(users)
    if missing:
        raise BenchMismatch(f"demo users {sorted(missing)} are missing: the bench DB was not seeded by seed_demo")
    rep, manager, regional, steward = (users[name] for name in names)
    visible = Institution.objects.visible_to
    scopes = {user: scope_sql(scope_of(user)) for user in (rep, manager, regional, steward)}

    # A deterministic row of rep_east's (with a USCC) whose name, initials and USCC people would type.
    rep_ids = list(visible(rep).live().exclude(uscc="").order_by("id").values_list("id", flat=True))
    if not rep_ids:
        raise BenchMismatch("rep_east owns no institutions")
    target = Institution.objects.get(pk=rep_ids[len(rep_ids) // 2])
    first_four = hanzi.normalize(target.name)[:4]
    queries = {"name": first_four, "initials": hanzi.readings(first_four)[0].initials, "USCC": target.uscc[:10]}

    def query(label: str, user: User, note: str) -> Scenario:
        where, params = scopes[user]
        return Scenario(label, lambda: view_rows(user), list_sql(where), params, note)

    def typing(user: User, kind: str, client: Client) -> Scenario:
        text = queries[kind]
        scope_where, scope_params = scopes[user]
        search_where, search_params = search_sql(user, text)
        return Scenario(f"type {kind} · {user.username} (htmx)", lambda: page_rows(client, {"q": text}, htmx=True),
                        list_sql(f"{scope_where} AND {search_where}"), [*scope_params, *search_params],
                        f"search box as you type q={text!r}: rows partial, whole request")

    def filtered_page(user: User, client: Client) -> Scenario:
        where, params = scopes[user]
        return Scenario(f"filtered page · {user.username}", lambda: page_rows(client, PAGE_FILTER),
                        list_sql(f"{where} AND i.kind = %s AND i.qualification_status = %s"),
                        [*params, PAGE_FILTER["kind"], PAGE_FILTER["qualification"]],
                        f"list page {PAGE_FILTER}, rendered: whole request", same_query_count(client, PAGE_FILTER))

    clients = {user: signed_in(user) for user in (rep, regional, steward)}
    lookup_sql = (f"SELECT {', '.join(_columns(Institution, 'i'))} FROM {INSTITUTION} i "
                  "WHERE i.id = %s AND (i.owner_id = %s OR i.academic_owner_id = %s)")
    return [
        query("rep list page", rep, "rep_east: own and academic institutions, first page"),
        query("steward list page", steward, "steward: everything (unscoped), first page"),
        query("manager team list", manager, "manager_east: own, team subtree and members' institutions"),
        query("region list", regional, "regional_east: territory 310000"),
        Scenario("rep lookup by id", lambda: [visible(rep).get(pk=target.pk)], lookup_sql,
                 [target.pk, rep.pk, rep.pk], "detail page: scoped get(pk=…)"),
        *(typing(user, kind, clients[user]) for user in (rep, steward) for kind in queries),
        filtered_page(rep, clients[rep]),
        filtered_page(regional, clients[regional]),
    ]


# --- timing --------------------------------------------------------------------------------------


def _time(function: Callable[[], Any], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def check(scenario: Scenario) -> int:
    orm_ids = _ids(scenario.orm())
    raw_rows = scenario.raw()
    raw_ids = [row[0] for row in raw_rows[:PAGE_SIZE]] + (["next"] if len(raw_rows) > PAGE_SIZE else [])
    if not orm_ids:
        raise BenchMismatch(f"{scenario.name}: no rows — the scenario measures nothing")
    if orm_ids != raw_ids:
        raise BenchMismatch(f"{scenario.name}: ORM and raw SQL return different rows\n"
                            f"  ORM: {orm_ids[:10]}…\n  raw: {raw_ids[:10]}…\n  SQL: {scenario.sql}")
    if scenario.invariant:
        scenario.invariant()
    return len(raw_rows)


def run_scenario(scenario: Scenario, repeat: int) -> dict[str, Any]:
    rows = check(scenario)
    for _ in range(3):  # warm caches and the connection's statement cache
        scenario.orm()
        scenario.raw()
    orm = _time(scenario.orm, repeat)
    raw = _time(scenario.raw, repeat)
    orm_median, raw_median = statistics.median(orm), statistics.median(raw)
    return {
        "name": scenario.name,
        "note": scenario.note,
        "rows": rows,
        "orm_median_ms": round(orm_median, 3),
        "orm_p95_ms": round(_p95(orm), 3),
        "raw_median_ms": round(raw_median, 3),
        "raw_p95_ms": round(_p95(raw), 3),
        "ratio": round(orm_median / raw_median, 2) if raw_median else None,
        "sql": scenario.sql,
    }
