"""Engagement at scale: the customer page with its timeline, and a rep's Today page.

The bench database gets ``per_customer`` activities per institution (default 11: six visits and five logged
contacts, ~20M at 1.8M institutions), generated inside the database — one INSERT … SELECT per round, as weeks
of field work would add them — and kept between runs. A bench rep (``rep_bench``) covers 500 customers as
their academic rep, the size of book the issue names.

* customer timeline: what the customer page shows for its owner, a different customer each run (every
  module's events merged: master data, orders, samples, visits, contacts, follow-ups), against this module's
  two timeline queries in raw SQL;
* Today: ``GET /engagement/`` for ``rep_bench`` (visits, follow-ups, the cadence of 500 customers, licences)
  against the cadence's grouped queries in raw SQL;
* nightly cadence: ``cadence.compute_all`` rewriting every customer's cadence row (committed), against the two
  grouped reads of every visit and this month's contacts it cannot do without, in raw SQL.
"""

from __future__ import annotations

import datetime
import random
import statistics
import time
from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from bench.scenarios import _p95, _q
from pharmacrm.customers import timeline
from pharmacrm.customers.models import Institution
from pharmacrm.engagement import cadence
from pharmacrm.engagement.models import Communication, Visit
from pharmacrm.org.models import Team, User
from pharmacrm.org.roles import Role
from pharmacrm.org.services import create_user

VISIT_ROUNDS = 6
CONTACT_ROUNDS = 5
BOOK = 500


def ensure_activities(per_customer: int = VISIT_ROUNDS + CONTACT_ROUNDS) -> int:
    """Top the visits and contacts up to about ``per_customer`` per institution (generated in SQL)."""
    institutions = Institution.objects.filter(owner__isnull=False).count()
    have = Visit._base_manager.count() + Communication._base_manager.count()
    if have >= institutions * per_customer * 0.9:
        print(f"bench database holds {have} activities; not regenerating", flush=True)
        return have
    started = time.monotonic()
    print(f"generating {institutions * per_customer} activities …", flush=True)
    now = timezone.now()
    visit, communication, institution = (_q(Visit._meta.db_table), _q(Communication._meta.db_table),
                                         _q(Institution._meta.db_table))
    with transaction.atomic(), connection.cursor() as cursor:
        for round_ in range(VISIT_ROUNDS):
            when = now - datetime.timedelta(days=14 * round_ + 1)
            cursor.execute(f"""INSERT INTO {visit} (institution_id, rep_id, kind, status, planned_for, goal, content,
                    reason, checked_in_at, channel, key_messages, feedback, objections, competitors, agreements,
                    submitted_at, review_comment, flagged_terms, trigger, created_at, updated_at, version)
                SELECT id, owner_id, 'routine', 'submitted', %s, '季度回访', '', '', %s, 'face_to_face', '产品要点',
                       '', '', '', '', %s, '', '[]', '', %s, %s, 1
                FROM {institution} WHERE owner_id IS NOT NULL""", [when, when, when, when, when])
        for round_ in range(CONTACT_ROUNDS):
            when = now - datetime.timedelta(days=10 * round_ + 3)
            cursor.execute(f"""INSERT INTO {communication} (institution_id, by_id, channel, direction, occurred_at,
                    summary, flagged_terms, created_at, updated_at, version)
                SELECT id, owner_id, 'phone', 'outbound', %s, '电话回访', '[]', %s, %s, 1
                FROM {institution} WHERE owner_id IS NOT NULL""", [when, when, when])
    with connection.cursor() as cursor:
        for table in (visit, communication):
            cursor.execute(f"ANALYZE {table}")
    total = Visit._base_manager.count() + Communication._base_manager.count()
    print(f"generated in {time.monotonic() - started:.0f} s ({total} activities)", flush=True)
    return total


def bench_rep() -> User:
    """``rep_bench``: the academic rep of ``BOOK`` customers nobody else covers academically."""
    rep = User.objects.filter(username="rep_bench").first()
    if rep is None:
        rep = create_user(actor=None, username="rep_bench", full_name="基准代表", role=Role.ACADEMIC_REP,
                          team=Team.objects.order_by("id").first(), email="rep_bench@example.com",
                          password="bench-password-1")
    have = Institution.objects.filter(academic_owner=rep).count()
    if have < BOOK:
        ids = list(Institution.objects.filter(academic_owner__isnull=True, merged_into__isnull=True)
                   .order_by("-id").values_list("pk", flat=True)[:BOOK - have])
        from pharmacrm.core.querysets import allow_bulk_writes

        with allow_bulk_writes():  # bench fixture, not a business edit
            Institution.objects.filter(pk__in=ids).update(academic_owner=rep)
    return rep


def _timed(function: Any, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run(repeat: int = 20) -> Iterator[dict[str, Any]]:
    ensure_activities()
    rng = random.Random(6)
    # the customer page, for the customer's owner, a different customer each run
    owners = list(Institution.objects.filter(owner__isnull=False, merged_into__isnull=True)
                  .order_by("-id").values_list("pk", "owner_id")[:2000])
    picks = [owners[rng.randrange(len(owners))] for _ in range(repeat)]
    users: dict[int, User] = {}
    pages = iter(picks * 2)

    def page() -> None:
        pk, owner = next(pages)
        if owner not in users:
            users[owner] = User.objects.get(pk=owner)
        items = timeline.items_for(Institution.objects.get(pk=pk), users[owner])
        if not any("季度回访" in item.title for item in items):
            raise AssertionError(f"customer {pk}: no visits on its timeline")

    raws = iter(picks * 2)
    visit, communication = _q(Visit._meta.db_table), _q(Communication._meta.db_table)

    def raw_timeline() -> None:
        pk, _owner = next(raws)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {visit} WHERE institution_id = %s ORDER BY planned_for DESC, id DESC "
                           "LIMIT 50", [pk])
            cursor.fetchall()
            cursor.execute(f"SELECT * FROM {communication} WHERE institution_id = %s "
                           "ORDER BY occurred_at DESC, id DESC LIMIT 50", [pk])
            cursor.fetchall()

    page()  # warm the clients and the caches
    raw_timeline()
    app, raw = _timed(page, repeat), _timed(raw_timeline, repeat)
    yield {"name": "customer timeline (its owner)", "rows": len(owners),
           "orm_median_ms": statistics.median(app), "orm_p95_ms": _p95(app), "raw_median_ms": statistics.median(raw),
           "ratio": statistics.median(app) / statistics.median(raw)}

    rep = bench_rep()
    today_client = Client()
    today_client.force_login(rep)

    def today_page() -> None:
        response = today_client.get("/engagement/", secure=True)
        if response.status_code != 200:
            raise AssertionError(f"Today: {response.status_code}")

    book = list(Institution.objects.filter(academic_owner=rep).values_list("pk", flat=True))
    marks = ", ".join(["%s"] * len(book))

    def raw_cadence() -> None:
        with connection.cursor() as cursor:
            for sql in (f"SELECT id, kind, owner_id, academic_owner_id FROM {_q(Institution._meta.db_table)} "
                        f"WHERE id IN ({marks})",
                        f"SELECT institution_id, grade, depth, size, tenure FROM grading_classification "
                        f"WHERE institution_id IN ({marks})",
                        f"SELECT institution_id, MAX(checked_in_at), COUNT(*) FROM {visit} "
                        f"WHERE institution_id IN ({marks}) GROUP BY institution_id",
                        f"SELECT institution_id, COUNT(*) FROM {communication} "
                        f"WHERE institution_id IN ({marks}) GROUP BY institution_id"):
                cursor.execute(sql, book)
                cursor.fetchall()

    today_page()
    raw_cadence()
    app, raw = _timed(today_page, repeat), _timed(raw_cadence, repeat)
    yield {"name": f"Today page ({len(book)} customers)", "rows": len(book),
           "orm_median_ms": statistics.median(app), "orm_p95_ms": _p95(app), "raw_median_ms": statistics.median(raw),
           "ratio": statistics.median(app) / statistics.median(raw)}

    # the nightly cadence of every customer: a few runs, each committed
    runs = max(3, min(repeat // 5, 5))
    months = timezone.now() - datetime.timedelta(days=31)

    def raw_reads() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM (SELECT institution_id, MAX(checked_in_at), COUNT(*) FROM {visit} "
                           "WHERE status IN ('in_progress', 'submitted', 'reviewed') GROUP BY institution_id) v")
            cursor.fetchall()
            cursor.execute(f"SELECT COUNT(*) FROM (SELECT institution_id, COUNT(*) FROM {communication} "
                           "WHERE occurred_at >= %s GROUP BY institution_id) m", [months])
            cursor.fetchall()

    written = cadence.compute_all()
    app, raw = _timed(cadence.compute_all, runs), _timed(raw_reads, runs)
    yield {"name": "nightly cadence, every customer", "rows": written,
           "orm_median_ms": statistics.median(app), "orm_p95_ms": max(app), "raw_median_ms": statistics.median(raw),
           "ratio": statistics.median(app) / statistics.median(raw)}
