"""Purchase history: one fact table fed by our deliveries and distributors' flow data, with monthly totals.

Grading (volume, growth, frequency, recency) and the customer's purchases tab read ``PurchaseMonth``,
one row per terminal × product × month, so each of those figures is one indexed query away. Every write
of facts goes through ``add`` (one ``executemany`` for the facts, one for the monthly totals, in the
caller's transaction); ``refresh_months`` rebuilds all monthly totals from the facts in one statement.

Where purchases come from (decided here, see the README):

* a delivery of ours to a **direct** buyer counts when the customer signs for it (``record_delivery``);
* an order placed **through a distributor** does not: the goods reach the terminal through the
  distributor, whose flow data reports that sale — counting both would count it twice.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from pharmacrm.sales.choices import PurchaseSource
from pharmacrm.sales.models import Purchase, PurchaseMonth, Shipment, month_of

PURCHASE_COLUMNS = ("institution_id", "product_id", "purchased_on", "month", "quantity", "amount_fen", "source",
                    "distributor_id", "batch_number", "import_job_id", "shipment_line_id", "line_key")
MONTH_COLUMNS = ("institution_id", "month", "product_id", "quantity", "amount_fen", "lines", "last_day")


def line_key(*parts: Any) -> int:
    """A signed 64-bit digest of a purchase line's identity: the same line imported twice has the same key."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True, slots=True)
class Fact:
    institution_id: int
    product_id: int
    purchased_on: datetime.date
    quantity: int
    amount_fen: int
    source: str
    line_key: int
    distributor_id: int | None = None
    batch_number: str = ""
    import_job_id: int | None = None
    shipment_line_id: int | None = None


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    # names from the models, quoted; values bound
    return (f"INSERT INTO {_q(table)} ({', '.join(map(_q, columns))}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(columns))})")


def _upsert_sql() -> str:
    table = _q(PurchaseMonth._meta.db_table)
    later = f"CASE WHEN excluded.last_day > {table}.last_day THEN excluded.last_day ELSE {table}.last_day END"
    added = ", ".join(f"{_q(column)} = {table}.{_q(column)} + excluded.{_q(column)}"
                      for column in ("quantity", "amount_fen", "lines"))
    return (f"{_insert_sql(PurchaseMonth._meta.db_table, MONTH_COLUMNS)} "
            f"ON CONFLICT (institution_id, month, product_id) DO UPDATE SET {added}, last_day = {later}")


def existing_keys(keys: Iterable[int]) -> set[int]:
    """Which of these line keys are already purchases (one indexed lookup per thousand)."""
    keys = list(keys)
    found: set[int] = set()
    for start in range(0, len(keys), 900):
        found.update(Purchase._base_manager.filter(line_key__in=keys[start:start + 900])
                     .values_list("line_key", flat=True))
    return found


def add(facts: Sequence[Fact]) -> int:
    """Write purchase facts and add them to the monthly totals; returns how many were written.

    Runs in the caller's transaction (an import's, a receipt's): facts and totals commit together or not
    at all. Callers pass new line keys only (``existing_keys``); a duplicate violates the unique key.
    """
    if not facts:
        return 0
    date = connection.ops.adapt_datefield_value
    rows, months = [], defaultdict(lambda: [0, 0, 0, 0])
    for fact in facts:
        month = month_of(fact.purchased_on)
        rows.append((fact.institution_id, fact.product_id, date(fact.purchased_on), month, fact.quantity,
                     fact.amount_fen, fact.source, fact.distributor_id, fact.batch_number[:40], fact.import_job_id,
                     fact.shipment_line_id, fact.line_key))
        total = months[(fact.institution_id, month, fact.product_id)]
        total[0] += fact.quantity
        total[1] += fact.amount_fen
        total[2] += 1
        total[3] = max(total[3], fact.purchased_on.day)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(_insert_sql(Purchase._meta.db_table, PURCHASE_COLUMNS), rows)
        cursor.executemany(_upsert_sql(), [(*key, *total) for key, total in months.items()])
    return len(rows)


#: page cache for a full refresh on SQLite, in KiB (negative = KiB): the totals' B-tree is written in key
#: order, and with the connection's usual 20 MB cache it spills and re-reads pages all the way
REFRESH_CACHE_KIB = 1_000_000


@contextlib.contextmanager
def _large_cache() -> Iterator[None]:
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        usual = cursor.execute("PRAGMA cache_size").fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = {-REFRESH_CACHE_KIB:d}")
        try:
            yield
        finally:
            cursor.execute(f"PRAGMA cache_size = {int(usual):d}")


#: a purchase's day of the month (dates are ISO text on SQLite)
DAY_OF = {"sqlite": "CAST(substr(purchased_on, 9, 2) AS INTEGER)", "postgresql": "EXTRACT(DAY FROM purchased_on)"}

#: the totals table as migration 0005 creates it on SQLite; a full refresh fills a fresh copy and swaps it in
#: (writing into the emptied table reuses freed pages out of order and took twice as long).
#: ``test_refresh_keeps_the_table_definition`` fails when a migration changes the table and this is not kept up.
SQLITE_TABLE = """CREATE TABLE "{name}" (
        "institution_id" bigint NOT NULL REFERENCES "customers_institution" ("id") DEFERRABLE INITIALLY DEFERRED,
        "month" integer unsigned NOT NULL CHECK ("month" >= 0),
        "product_id" bigint NOT NULL REFERENCES "sales_product" ("id") DEFERRABLE INITIALLY DEFERRED,
        "quantity" bigint NOT NULL,
        "amount_fen" bigint NOT NULL,
        "lines" integer unsigned NOT NULL CHECK ("lines" >= 0),
        "last_day" smallint unsigned NOT NULL CHECK ("last_day" >= 0),
        PRIMARY KEY ("institution_id", "month", "product_id")
    ) WITHOUT ROWID"""


def refresh_months() -> int:
    """Rebuild every monthly total from the facts (one set-based statement); returns the number of rows.

    Called outside a transaction (as ``refresh_purchase_months`` does), SQLite skips the per-row
    foreign-key lookups while it copies: every key comes from a purchase, whose keys were checked when it
    was written and whose terminal and product cannot be deleted (PROTECT) — about a fifth of the copy's
    time. Inside a transaction SQLite cannot switch them off and checks as usual.
    """
    table, facts = _q(PurchaseMonth._meta.db_table), _q(Purchase._meta.db_table)
    columns = ", ".join(map(_q, MONTH_COLUMNS))
    select = (f"SELECT institution_id, month, product_id, SUM(quantity), SUM(amount_fen), COUNT(*), "  # noqa: S608
              f"MAX({DAY_OF[connection.vendor]}) FROM {facts} GROUP BY institution_id, month, product_id")
    with (connection.constraint_checks_disabled(), _large_cache(), transaction.atomic(),
          connection.cursor() as cursor):
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses while deferred FK checks are pending
            cursor.execute(f"TRUNCATE {table}")
            cursor.execute(f"INSERT INTO {table} ({columns}) {select}")
            return cursor.rowcount
        fresh = _q(f"{PurchaseMonth._meta.db_table}__new")
        cursor.execute(f"DROP TABLE IF EXISTS {fresh}")
        cursor.execute(SQLITE_TABLE.format(name=f"{PurchaseMonth._meta.db_table}__new"))
        cursor.execute(f"INSERT INTO {fresh} ({columns}) {select}")
        rows = cursor.rowcount
        cursor.execute(f"DROP TABLE {table}")
        cursor.execute(f"ALTER TABLE {fresh} RENAME TO {table}")
        return rows


def record_delivery(shipment: Shipment) -> int:
    """A direct buyer signed for our delivery: its lines become purchases at their share of each line's amount.

    Orders through a distributor are left to the distributor's flow data (module docstring).
    """
    order = shipment.order
    if order.distributor_id is not None:
        return 0
    day = shipment.received_on or shipment.shipped_on
    facts = []
    for line in shipment.lines.select_related("order_line"):
        order_line = line.order_line
        before = sum(earlier.quantity for earlier in order_line.shipment_lines.filter(pk__lt=line.pk))
        # each delivery's share rounds down at the running total, so the shares add up to the line exactly
        amount = (order_line.amount_fen * (before + line.quantity) // order_line.quantity
                  - order_line.amount_fen * before // order_line.quantity)
        facts.append(Fact(institution_id=order.institution_id, product_id=order_line.product_id, purchased_on=day,
                          quantity=line.quantity, amount_fen=amount, source=PurchaseSource.ORDER,
                          batch_number=line.batch_number, shipment_line_id=line.pk,
                          line_key=line_key("delivery", line.pk)))
    new = existing_keys(fact.line_key for fact in facts)
    return add([fact for fact in facts if fact.line_key not in new])


# --- reading ------------------------------------------------------------------------------------------------


def add_months(month: int, count: int) -> int:
    index = (month // 100) * 12 + (month % 100 - 1) + count
    return (index // 12) * 100 + index % 12 + 1


def month_label(month: int) -> str:
    return f"{month // 100}-{month % 100:02d}"


@dataclass
class Profile:
    """A terminal's purchases over the last ``months`` months up to ``until`` (a month key)."""

    months: list[int]
    by_month: dict[int, int]
    products: list[dict[str, Any]]
    amount_12: int
    amount_prev_12: int
    lines_12: int
    active_months_12: int
    last_purchased_on: datetime.date | None

    @property
    def growth(self) -> float | None:
        """Last 12 months against the 12 before, as a fraction; None when there is nothing to compare with."""
        if self.amount_prev_12 <= 0:
            return None
        return (self.amount_12 - self.amount_prev_12) / self.amount_prev_12

    @property
    def chart(self) -> dict[str, Any]:
        """An SVG bar chart of the monthly amounts: 100 units per month, bars scaled to the largest month."""
        top = max([value for value in self.by_month.values() if value > 0] or [1])
        bars = []
        for index, month in enumerate(self.months):
            amount = self.by_month.get(month, 0)
            height = round(max(amount, 0) * CHART_HEIGHT / top, 1)
            bars.append({"month": month_label(month), "amount_fen": amount, "x": index * 100 + 5, "width": 90,
                         "y": round(CHART_HEIGHT - height, 1), "height": height})
        return {"bars": bars, "width": len(self.months) * 100, "height": CHART_HEIGHT,
                "first": month_label(self.months[0]), "last": month_label(self.months[-1])}


#: the chart's height in SVG units (its width is 100 per month)
CHART_HEIGHT = 120


def profile(institution_id: int, *, until: int, months: int = 24) -> Profile:
    """One terminal's purchase profile from its monthly totals: two indexed queries."""
    first = add_months(until, -(months - 1))
    rows = list(PurchaseMonth._base_manager.filter(institution_id=institution_id, month__gte=first, month__lte=until)
                .values_list("month", "product_id", "quantity", "amount_fen", "lines"))
    last = (PurchaseMonth._base_manager.filter(institution_id=institution_id).order_by("-month", "-last_day")
            .only("month", "last_day").first())
    recent_from = add_months(until, -11)
    by_month: dict[int, int] = defaultdict(int)
    products: dict[int, dict[str, Any]] = {}
    amount_12 = amount_prev_12 = lines_12 = 0
    active: set[int] = set()
    for month, product_id, quantity, amount, lines in rows:
        by_month[month] += amount
        if month >= recent_from:
            amount_12 += amount
            lines_12 += lines
            active.add(month)
            entry = products.setdefault(product_id, {"product_id": product_id, "quantity": 0, "amount_fen": 0,
                                                     "by_month": defaultdict(int)})
            entry["quantity"] += quantity
            entry["amount_fen"] += amount
            entry["by_month"][month] += quantity
        else:
            amount_prev_12 += amount
    return Profile(months=[add_months(first, step) for step in range(months)], by_month=dict(by_month),
                   products=sorted(products.values(), key=lambda entry: -entry["amount_fen"]),
                   amount_12=amount_12, amount_prev_12=amount_prev_12, lines_12=lines_12,
                   active_months_12=len(active),
                   last_purchased_on=last.last_purchased_on if last else None)
