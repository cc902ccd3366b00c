"""A full-text index side table per searchable model: "which ids have a term beginning with q?".

``pharmacrm.core.hanzi`` turns names into terms whose prefixes are everything worth
typing (suffixes of the name, its pinyin and initials); this module stores them and
answers prefix queries fast on both engines, behind one Python API:

* SQLite: an FTS5 virtual table, rowid = the model's id. ``detail=none`` and
  ``columnsize=0`` because only "which rows" is ever asked (no phrases, no ranking),
  which keeps the index small; FTS5 then refuses column filters, so queries name the
  table (``t MATCH ?``) rather than the column. Prefix indexes of 1 and 2 characters
  make what people type first (协, xh) about ten times faster for 45% more index.
  The table keeps its own copy of the terms (most of its size) because deleting by
  rowid needs them before SQLite 3.43's ``contentless_delete``.
* PostgreSQL: ``(id bigint primary key, terms tsvector)`` with a GIN index, written with
  ``array_to_tsvector`` so no text-search parser or locale ever splits a CJK term.

Terms are letters and digits only (``hanzi`` never makes anything else): a term with
whitespace or punctuation would be one lexeme on PostgreSQL but several tokens in
FTS5, so ``replace`` refuses it and ``matching_ids`` answers "nothing" for it — the
same on both engines. Both engines fold ASCII case.

The table is not a Django model: callers write it from their services next to the
row's own save, and filter with ``Model.objects.filter(id__in=RawSQL(*index.matching_ids(term)))``.
A transactional test's flush does not empty it (flush only knows model tables).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from django.db import connection, migrations, transaction

#: rows per executemany: large enough to amortize round trips, small enough for steady memory
BATCH_SIZE = 2000

_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,50}")
# One FTS5 token and one tsvector lexeme alike: letters and digits of any script, nothing else.
_TERM = re.compile(r"[^\W_]+")
_TERMS = re.compile(r"(?:[^\W_]+(?: [^\W_]+)*)?")

_Item = TypeVar("_Item")

_SQLITE = "sqlite"
_POSTGRESQL = "postgresql"


def _fts5_prefix_query(term: str) -> str:
    """An FTS5 query for "a token beginning with term": a quoted string (quotes doubled) and a star."""
    return '"' + term.replace('"', '""') + '"*'


def _tsquery_prefix(term: str) -> str:
    """A tsquery literal for "a lexeme beginning with term": quoted, with quotes and backslashes escaped."""
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "':*"


class FullTextIndex:
    """One side table of ``(id, terms)`` for one model, on SQLite (FTS5) or PostgreSQL (tsvector + GIN)."""

    def __init__(self, table: str) -> None:
        if not _TABLE_NAME.fullmatch(table):
            raise ValueError(f"not a plain lower-case table name: {table!r}")
        self.table = table

    def __repr__(self) -> str:
        return f"FullTextIndex({self.table!r})"

    def _sql(self, template: str) -> str:
        """``template`` with ``{table}``, ``{index}`` and ``{id}`` filled in: the one place identifiers enter SQL.

        Safe because ``__init__`` accepts only plain lower-case names; double quotes
        quote identifiers the same way on SQLite and PostgreSQL. ``{id}`` is the id
        column, FTS5's rowid on SQLite.
        """
        id_column = "rowid" if connection.vendor == _SQLITE else "id"
        return (
            template.replace("{table}", f'"{self.table}"').replace("{index}", f'"{self.table}_terms"').replace("{id}", id_column)
        )

    def create_sql(self, vendor: str) -> list[str]:
        """DDL that creates the table (and on PostgreSQL its GIN index, last, so a bulk load can skip it)."""
        if vendor == _SQLITE:
            return [
                self._sql(
                    "CREATE VIRTUAL TABLE {table} USING fts5("
                    "terms, tokenize = 'unicode61 remove_diacritics 0', detail = none, columnsize = 0, prefix = '1 2')"
                )
            ]
        if vendor == _POSTGRESQL:
            return [
                self._sql("CREATE TABLE {table} (id bigint PRIMARY KEY, terms tsvector NOT NULL)"),
                self._sql("CREATE INDEX {index} ON {table} USING gin (terms)"),
            ]
        raise NotImplementedError(f"no full-text index for {vendor}")

    def drop_sql(self, vendor: str) -> list[str]:
        """DDL that removes the table (its index and FTS5 shadow tables go with it)."""
        if vendor not in (_SQLITE, _POSTGRESQL):
            raise NotImplementedError(f"no full-text index for {vendor}")
        return [self._sql("DROP TABLE IF EXISTS {table}")]

    def replace(self, pairs: Iterable[tuple[int, list[str]]]) -> None:
        """Index rows by id, replacing whatever was indexed for them before.

        Consumes ``pairs`` lazily in batches, so a generator over millions of rows is
        fine; when an id comes twice, the last terms win. SQLite gets one executemany per
        batch (no round trips in-process); PostgreSQL one INSERT over ``unnest`` per batch,
        three times faster than executemany, which pays a round trip and a plan per row.
        """
        write = self._write_sqlite if connection.vendor == _SQLITE else self._write_postgresql
        with connection.cursor() as cursor:
            for batch in _batched(pairs):
                write(cursor, {row_id: _joined(row_id, terms) for row_id, terms in batch})

    def delete(self, ids: Iterable[int]) -> None:
        """Remove rows from the index (deleting an id that was never indexed is fine)."""
        with connection.cursor() as cursor:
            for batch in _batched(ids):
                if connection.vendor == _SQLITE:
                    cursor.executemany(self._sql("DELETE FROM {table} WHERE rowid = %s"), [(row_id,) for row_id in batch])
                else:
                    cursor.execute(self._sql("DELETE FROM {table} WHERE id = ANY(%s::bigint[])"), [list(batch)])

    def matching_ids(self, term: str) -> tuple[str, list[Any]]:
        """SQL and params selecting the ids with a term that begins with ``term``.

        Meant for ``Model.objects.filter(id__in=RawSQL(sql, params))``. A term that no
        indexed term could begin with (empty, whitespace, punctuation) selects nothing.
        """
        term = term.lower()
        if not _TERM.fullmatch(term):
            return self._sql("SELECT {id} FROM {table} WHERE 1 = 0"), []
        if connection.vendor == _SQLITE:
            return self._sql("SELECT rowid FROM {table} WHERE {table} MATCH %s"), [_fts5_prefix_query(term)]
        return self._sql("SELECT id FROM {table} WHERE terms @@ %s::tsquery"), [_tsquery_prefix(term)]

    def rebuild(self, rows: Iterable[tuple[int, list[str]]]) -> None:
        """Replace the whole index with ``rows`` in one transaction (seeding, repair).

        Recreating beats deleting row by row: FTS5 deletes re-tokenize each row, and a
        GIN index builds faster once than entry by entry. FTS5 is then merged into one
        segment ('optimize'), which makes prefix queries over a fresh load faster;
        PostgreSQL gets statistics at once.
        """
        vendor = connection.vendor
        table, *indexes = self.create_sql(vendor)
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in self.drop_sql(vendor):
                cursor.execute(statement)
            cursor.execute(table)
            self.replace(rows)
            for statement in indexes:
                cursor.execute(statement)
            self.optimize()

    def optimize(self) -> None:
        """After a bulk load: merge FTS5 into one segment (faster prefix queries); give PostgreSQL statistics.

        Without statistics the PostgreSQL planner guesses and may scan the table.
        """
        with connection.cursor() as cursor:
            if connection.vendor == _SQLITE:
                cursor.execute(self._sql("INSERT INTO {table}({table}) VALUES ('optimize')"))
            else:
                cursor.execute(self._sql("ANALYZE {table}"))

    def _write_sqlite(self, cursor: Any, rows: dict[int, str]) -> None:
        cursor.executemany(self._sql("INSERT OR REPLACE INTO {table} (rowid, terms) VALUES (%s, %s)"), list(rows.items()))

    def _write_postgresql(self, cursor: Any, rows: dict[int, str]) -> None:
        # One statement may not update a row twice, hence the dict of unique ids.
        sql = self._sql(
            "INSERT INTO {table} (id, terms) "
            "SELECT id, array_to_tsvector(string_to_array(terms, ' ')) FROM unnest(%s::bigint[], %s::text[]) AS t(id, terms) "
            "ON CONFLICT (id) DO UPDATE SET terms = EXCLUDED.terms"
        )
        cursor.execute(sql, [list(rows), list(rows.values())])


def _joined(row_id: int, terms: list[str]) -> str:
    """A row's terms as one lower-case, space-separated string, refusing terms that are not one token.

    One regex over the joined text is cheaper than one per term; counting spaces catches
    a space inside a term, which the regex alone would take for a separator.
    """
    text = " ".join(terms).lower()
    if not _TERMS.fullmatch(text) or text.count(" ") != max(len(terms) - 1, 0):
        raise ValueError(f"row {row_id}: index terms must be letters and digits only: {terms!r}")
    return text


def _batched(items: Iterable[_Item]) -> Iterator[tuple[_Item, ...]]:
    """``itertools.batched(items, BATCH_SIZE)``, which arrives in Python 3.12."""
    iterator = iter(items)
    while batch := tuple(itertools.islice(iterator, BATCH_SIZE)):
        yield batch


def migration_operations(index: FullTextIndex) -> migrations.RunPython:
    """The migration operation that creates ``index`` on whichever engine migrates, and drops it in reverse."""

    def create(apps: Any, schema_editor: Any) -> None:
        for statement in index.create_sql(schema_editor.connection.vendor):
            schema_editor.execute(statement)

    def drop(apps: Any, schema_editor: Any) -> None:
        for statement in index.drop_sql(schema_editor.connection.vendor):
            schema_editor.execute(statement)

    return migrations.RunPython(create, drop)
