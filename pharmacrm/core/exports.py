"""CSV exports of scoped lists: streamed, Excel-friendly, formula-safe and audited.

A list view declares ``export_columns`` and ``export_permission``
(see ``ScopedListView``); the rows are the same scoped, filtered queryset the
page shows, so an export can never hold a row the user could not open.
"""

from __future__ import annotations

import csv
import datetime
import decimal
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db import models
from django.http import StreamingHttpResponse

from pharmacrm.core.audit import log_event
from pharmacrm.core.models import AuditAction

#: a column: (header, accessor) — a dotted attribute path or a callable taking the row
Column = tuple[Any, "str | Callable[[Any], Any]"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")


def safe_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in exported text (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def cell_value(row: Any, accessor: str | Callable[[Any], Any]) -> Any:
    if callable(accessor):
        value = accessor(row)
    else:
        value = row
        for part in accessor.split("."):
            value = getattr(value, part, None) if value is not None else None
            if callable(value):
                value = value()
    if value is None:
        return ""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool):
        return value  # a number stays a number: "-12.50" is an amount, not a formula to neutralise
    return safe_cell(str(value))


class _Echo:
    def write(self, value: str) -> str:
        return value


def stream_csv(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # a BOM, so Excel opens the UTF-8 file as UTF-8
    yield writer.writerow([str(title) for title in header])
    for row in rows:
        yield writer.writerow(row)


def export_csv(*, actor: Any, queryset: models.QuerySet, columns: Iterable[Column], name: str,
               filters: dict[str, str] | None = None) -> StreamingHttpResponse:
    """Audit the export, then stream ``queryset`` as CSV with one row per record."""
    columns = list(columns)
    rows = ([cell_value(row, accessor) for _title, accessor in columns]
            for row in queryset.iterator(chunk_size=2000))
    return _audited_stream(actor=actor, model=queryset.model._meta.label, rows=rows, name=name, filters=filters,
                           header=[title for title, _accessor in columns])


def export_table(*, actor: Any, model: str, header: Iterable[Any], rows: Iterable[Iterable[Any]], name: str,
                 filters: dict[str, str] | None = None) -> StreamingHttpResponse:
    """Audit the export, then stream ready-made ``rows`` (a report's table rather than a list of records)."""
    return _audited_stream(actor=actor, model=model, header=header, name=name, filters=filters,
                           rows=([safe_cell(value) for value in row] for row in rows))


def _audited_stream(*, actor: Any, model: str, header: Iterable[Any], rows: Iterable[Iterable[Any]], name: str,
                    filters: dict[str, str] | None) -> StreamingHttpResponse:
    """``rows`` are formula-safe already."""
    log_event(AuditAction.EXPORT, actor=actor, object_repr=name, changes={"model": model, "filters": filters or {}})
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(stream_csv(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response
