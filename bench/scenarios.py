"""Benchmark scenarios: the ORM path a page takes vs raw SQL returning the same rows.

Each scenario pairs ``orm()`` (what the view or API does: scoped queryset,
select_related, model instances) with ``raw()`` (hand-written SQL on the same
connection). ``run_scenario`` checks both return the same ids in the same order
— a mismatch is a bug in the scenario or in scoping, and stops the run.

Scope is resolved once per user (``scope_of`` caches it on the user object,
as it does for the rest of a request), so timings compare the queries.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models

from pharmacrm.core.generic import Page
from pharmacrm.customers.filters import InstitutionFilter
from pharmacrm.customers.models import Institution
from pharmacrm.customers.views import InstitutionListView
from pharmacrm.org.models import Division, User
from pharmacrm.org.scope import scope_of

PAGE_SIZE = InstitutionListView.page_size


class BenchMismatch(AssertionError):
    """The ORM and the raw SQL disagree: the comparison would be meaningless."""


@dataclass
class Scenario:
    name: str
    orm: Callable[[], Sequence[Any]]
    sql: str
    params: list[Any]
    note: str = ""

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


def list_sql(where: str) -> str:
    """The list page's query: one page plus one row (Page fetches size+1), newest first."""
    return f"SELECT {LIST_COLUMNS} {LIST_FROM} WHERE {where} ORDER BY i.id DESC LIMIT {PAGE_SIZE + 1}"


def list_page(queryset: models.QuerySet) -> list[Institution]:
    """What InstitutionListView renders: select_related rows through core.generic.Page."""
    queryset = queryset.select_related(*InstitutionListView.select_related).order_by("-id")
    page = Page(queryset, 1, PAGE_SIZE)
    return [*page.object_list, *(["next"] if page.has_next else [])]


def _ids(rows: Sequence[Any]) -> list[Any]:
    return [row if isinstance(row, str) else row.pk for row in rows]


# --- scenarios ----------------------------------------------------------------------------------


def build_scenarios() -> list[Scenario]:
    users = {u.username: u for u in User.objects.filter(
        username__in=["rep_east", "manager_east", "regional_east"]).select_related("team")}
    missing = {"rep_east", "manager_east", "regional_east"} - set(users)
    if missing:
        raise BenchMismatch(f"demo users {sorted(missing)} are missing: the bench DB was not seeded by seed_demo")
    rep, manager, regional = users["rep_east"], users["manager_east"], users["regional_east"]
    visible = Institution.objects.visible_to

    # A deterministic row of rep_east's for lookups, and a selective name prefix for search.
    rep_ids = list(visible(rep).order_by("id").values_list("id", flat=True))
    if not rep_ids:
        raise BenchMismatch("rep_east owns no institutions")
    lookup_id = rep_ids[len(rep_ids) // 2]
    prefix = Institution.objects.get(pk=lookup_id).name[:4]

    team_scope, region_scope = scope_of(manager), scope_of(regional)
    team_where = (f"(i.owner_id = %s OR i.team_id IN ({_in(team_scope.team_ids)}) "
                  f"OR i.owner_id IN ({_in(team_scope.member_ids)}))")
    team_params = [manager.pk, *team_scope.team_ids, *team_scope.member_ids]
    region_where = f"(i.owner_id = %s OR i.province_code IN ({_in(region_scope.province_codes)}))"
    region_params = [regional.pk, *region_scope.province_codes]
    like = " ESCAPE '\\'" if connection.vendor == "sqlite" else ""

    def search() -> list[Institution]:
        filterset = InstitutionFilter({"q": prefix}, queryset=visible(rep))
        if not filterset.is_valid():
            raise BenchMismatch(f"search form invalid: {filterset.errors}")
        return list_page(filterset.qs)

    def lookup() -> list[Institution]:
        return [visible(rep).get(pk=lookup_id)]

    return [
        Scenario("rep list page", lambda: list_page(visible(rep)), list_sql("i.owner_id = %s"), [rep.pk],
                 "rep_east: own institutions, first page"),
        Scenario("rep lookup by id", lookup,
                 f"SELECT {', '.join(_columns(Institution, 'i'))} FROM {INSTITUTION} i "
                 "WHERE i.id = %s AND i.owner_id = %s", [lookup_id, rep.pk],
                 "detail page: scoped get(pk=…)"),
        Scenario("manager team list", lambda: list_page(visible(manager)), list_sql(team_where), team_params,
                 "manager_east: own, team subtree and members' institutions"),
        Scenario("region list", lambda: list_page(visible(regional)), list_sql(region_where), region_params,
                 "regional_east: territory 310000"),
        Scenario("search by name prefix", search,
                 list_sql(f"i.owner_id = %s AND (i.name LIKE %s{like} OR i.short_name LIKE %s{like} "
                          f"OR i.name LIKE %s{like})"),
                 [rep.pk, f"{prefix}%", f"{prefix}%", f"%{prefix}%"],
                 f"rep_east: list search box (InstitutionFilter q={prefix!r})"),
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
