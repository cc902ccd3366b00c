"""Reading and writing the spreadsheets data stewards exchange with the system.

Stewards upload what Chinese Excel produces: .xlsx workbooks, or "CSV" files that are
UTF-8 (with or without a BOM), GB18030/GBK, or UTF-16 ("Unicode text"). This module
turns any of them into header names and rows of stripped strings, refusing hostile or
broken files with a ``TabularError`` whose ``code`` the caller can act on and whose
message can be shown to the user. It knows nothing about customers: which columns
exist and what they mean is the business layer's job (``match_columns`` helps it).

Reading is streaming: ``Table.rows`` is a one-pass iterator, so a 100,000-row file
never sits in memory as Python objects, and some errors (too many rows, a sheet
broken halfway) surface while iterating.

Writing (``write_xlsx``) serves the import template and the "rejected rows" file:
every cell is text, so Excel keeps USCC codes, phone numbers and leading zeros, and
nothing a user typed can come back as a live formula.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import IO, Any, Self

import openpyxl
from defusedxml import DefusedXmlException
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from pharmacrm.core.exports import safe_cell

MEGABYTE = 1024 * 1024
#: an xlsx is refused when its parts together expand beyond this many times the upload
#: limit (never beyond ARCHIVE_MAX_BYTES): real workbooks expand 5–15×.
ARCHIVE_EXPANSION = 20
ARCHIVE_MAX_BYTES = 200 * MEGABYTE
#: a part larger than LARGE_MEMBER_BYTES may not compress better than this
MAX_COMPRESSION_RATIO = 100
LARGE_MEMBER_BYTES = MEGABYTE
#: real workbooks have a few dozen parts
MAX_ARCHIVE_MEMBERS = 1000
#: the header is the first non-blank row among these
HEADER_SEARCH_ROWS = 100
#: Excel's own limit on the characters in one cell
EXCEL_CELL_MAX_CHARS = 32767

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
#: old .xls workbooks and password-protected .xlsx files are both OLE2 compound files
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
BYTE_ORDER_MARKS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
DELIMITERS = (",", "\t", ";")
#: what a spreadsheet may treat as the start of a formula when it opens a CSV
CSV_FORMULA_STARTS = frozenset("=+-@")
#: a sign followed only by these is a number or a phone ("+86 (21) 1234-5678", "-3.5", "-"), not a formula
_SIGNED_NUMBER_TAIL = re.compile(r"[0-9 ().\-]*")
_SEP_DIRECTIVE = re.compile(r"sep=([,;\t|])", re.IGNORECASE)
_QUOTED = re.compile(r'"[^"]*"')
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_WHITESPACE = re.compile(r"\s+")
_OPTIONALITY_SUFFIX = re.compile(r"\((?:必填|必选|选填|可选|非必填|required|optional)\)$")
_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】")
_NO_FORMULAS: frozenset[int] = frozenset()


class TabularError(Exception):
    """A file that cannot be imported, with a stable ``code`` and a message for the user.

    The message is a lazy translation rendered when shown, so a job can raise it and the
    steward still reads it in their own language. ``items`` carries the names the message
    lists (missing columns, duplicate headers) for callers that show them differently.
    """

    def __init__(self, code: str, message: str | Promise, *, items: Sequence[str] = (), **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.template = message
        self.items = tuple(items)
        self.params = params

    @property
    def message(self) -> str:
        return str(self.template) % self.params if self.params else str(self.template)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"TabularError({self.code!r}, {self.params!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Survive pickling, so a background import job can hand the error back to the page."""
        return (type(self), (self.code, self.template), {"items": self.items, "params": self.params})


@dataclass(frozen=True, slots=True)
class Row:
    """One data row. ``number`` is the row number the user sees in Excel (the header is
    usually row 1); ``values`` has exactly one stripped string per header; indexes in
    ``formula_columns`` hold a formula (its text is the value); ``overflow`` says the row
    has a value right of the last header (in a workbook: in the next column), which in a
    CSV usually means an unquoted delimiter shifted the row."""

    number: int
    values: list[str]
    formula_columns: frozenset[int] = _NO_FORMULAS
    overflow: bool = False


@dataclass
class Table:
    """A header and a one-pass iterator of non-blank data rows.

    ``format`` is "csv" or "xlsx"; ``encoding`` is the text encoding of a CSV
    ("utf-8", "utf-8-sig", "gb18030", "utf-16") or "xlsx"; ``header_row`` is the row
    number of the header (1 unless blank rows precede it).
    """

    headers: list[str]
    rows: Iterator[Row]
    format: str
    encoding: str
    delimiter: str = ""
    header_row: int = 1

    def __iter__(self) -> Iterator[Row]:
        return self.rows

    def close(self) -> None:
        """Release the workbook when the caller stops iterating early."""
        close = getattr(self.rows, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_table(data: bytes | IO[bytes], *, filename: str = "", max_bytes: int, max_rows: int) -> Table:
    """Read an uploaded CSV or xlsx into a ``Table``, or raise ``TabularError``.

    The format is sniffed from the content, never from ``filename`` (only passed on in
    an error's params): stewards rename files, and a name proves nothing. Nothing is parsed
    before the size is known to be within ``max_bytes``; ``max_rows`` counts non-blank
    data rows and is enforced while iterating.
    """
    content = _read_limited(data, max_bytes)
    if not content.strip():
        raise TabularError("empty", _("The file is empty."))
    if content.startswith(ZIP_MAGIC):
        return _read_xlsx(content, max_bytes=max_bytes, max_rows=max_rows)
    if content.startswith(OLE2_MAGIC):
        raise TabularError("not_a_table", _("This is an old .xls workbook or a password-protected one. "
                                            "Save it as .xlsx without a password, or as CSV."), filename=filename)
    if content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):  # SVG, HTML or XML: markup is never a table
        raise TabularError("not_a_table", _("The file cannot be read as a CSV file or an Excel workbook (.xlsx)."))
    return _read_csv(content, max_rows=max_rows)


def inspect_workbook(content: bytes, *, max_bytes: int) -> None:
    """Refuse an .xlsx kept as an attachment (never parsed here) that a reader would choke on: a zip bomb, too many
    parts, or XML entity declarations (billion laughs, XXE). Raises ``TabularError``."""
    _inspect_archive(content, max_bytes=max_bytes)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for info in archive.infolist():
            tail = b""
            with archive.open(info) as part:
                while chunk := part.read(64 * 1024):
                    if b"<!DOCTYPE" in tail + chunk or b"<!ENTITY" in tail + chunk:
                        raise TabularError("unsafe_archive",
                                           _("The workbook contains XML entity declarations and was refused."))
                    tail = chunk[-16:]


def _read_limited(data: bytes | IO[bytes], max_bytes: int) -> bytes:
    """Read at most ``max_bytes + 1`` bytes, so an oversized upload is refused without reading it all."""
    if isinstance(data, bytes | bytearray | memoryview):
        content = bytes(data)
    else:
        declared = getattr(data, "size", None)
        if isinstance(declared, int) and declared > max_bytes:
            raise _too_large(max_bytes)
        chunks: list[bytes] = []
        received = 0
        while received <= max_bytes:
            chunk = data.read(max_bytes + 1 - received)
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
        content = b"".join(chunks)
    if len(content) > max_bytes:
        raise _too_large(max_bytes)
    return content


def _too_large(max_bytes: int) -> TabularError:
    return TabularError("too_large", _("The file is larger than %(limit)s MB."), limit=f"{max_bytes / MEGABYTE:g}")


def _too_many_rows(max_rows: int) -> TabularError:
    return TabularError("too_many_rows", _("The file has more than %(limit)s data rows. Split it into smaller files."),
                        limit=max_rows)


def _no_header() -> TabularError:
    return TabularError("empty", _("The file has no header row."))


# --- cells -------------------------------------------------------------------------------------------------------


def cell_text(value: object) -> str:
    """The text a steward meant by a cell value.

    Phone numbers and USCC digits typed into Excel arrive as numbers (sometimes as
    floats like 13812345678.0); they must come back exactly as typed, without ".0" or
    an exponent. Dates lose a midnight time, since Excel has no date-only type.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.time):
        return value.isoformat(timespec="seconds")
    if isinstance(value, ArrayFormula):
        return (value.text or "=").strip()
    if isinstance(value, DataTableFormula):  # a what-if table has no formula text of its own
        return "=TABLE()"
    return str(value).strip()


def normalize_header(value: object) -> str:
    """NFKC folds full-width letters, digits, brackets and spaces (what Chinese input
    methods produce) into their ASCII forms, so "ＵＳＣＣ　" and "USCC" are one header."""
    return unicodedata.normalize("NFKC", cell_text(value)).translate(_ZERO_WIDTH).strip()


def _headers_from(values: Sequence[object]) -> list[str]:
    headers = [normalize_header(value) for value in values]
    while headers and not headers[-1]:
        headers.pop()
    seen: dict[str, int] = {}
    for header in headers:
        if header:
            seen[header] = seen.get(header, 0) + 1
    duplicates = [header for header, count in seen.items() if count > 1]
    if duplicates:
        raise TabularError("duplicate_headers", _("These column headers appear more than once: %(headers)s."),
                           items=duplicates, headers=", ".join(duplicates))
    return headers


# --- CSV ---------------------------------------------------------------------------------------------------------


def _read_csv(content: bytes, *, max_rows: int) -> Table:
    if b"\x00" in content[:65536] and not content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # an executable, an image, a PDF: binary, not text in some unexpected encoding
        raise TabularError("not_a_table", _("The file cannot be read as a CSV file or an Excel workbook (.xlsx)."))
    text, encoding = _decode(content)
    stream = io.StringIO(text, newline="")
    first_line = stream.readline().strip()
    directive = _SEP_DIRECTIVE.fullmatch(first_line)
    if directive:  # Excel's "sep=;" first line: it picks the delimiter and is not shown as a row
        delimiter = directive.group(1)
    else:
        stream.seek(0)
        delimiter = _sniff_delimiter(text)
    # strict: an unclosed quote must be an error naming its row, not swallow the rest of the file into one cell
    records = csv.reader(stream, delimiter=delimiter, strict=True)
    number = 0
    try:
        for number, record in enumerate(records, start=1):
            if any(cell.strip() for cell in record):
                headers = _headers_from(record)
                break
            if number >= HEADER_SEARCH_ROWS:
                raise _no_header()
        else:
            raise _no_header()
    except csv.Error as error:
        raise _csv_error(number + 1) from error
    rows = _csv_rows(records, first_number=number + 1, width=len(headers), max_rows=max_rows)
    return Table(headers=headers, rows=rows, format="csv", encoding=encoding, delimiter=delimiter, header_row=number)


def _decode(content: bytes) -> tuple[str, str]:
    """Decode as the BOM says; else strict UTF-8; else GB18030 (a superset of GBK).

    GB18030 accepts almost any byte pairs, so a UTF-8 file with one damaged byte would
    "decode" into mojibake that gets imported as customer names. A file whose valid
    UTF-8 prefix already holds Chinese characters is therefore treated as damaged UTF-8.
    """
    for mark, encoding in BYTE_ORDER_MARKS:
        if content.startswith(mark):
            try:
                return content.decode(encoding), encoding
            except UnicodeDecodeError as error:
                raise _encoding_error(content, error.start) from error
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        utf8_failure = error.start
    if _has_chinese(content[:utf8_failure].decode("utf-8")):
        raise _encoding_error(content, utf8_failure)
    try:
        return content.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as error:
        raise _encoding_error(content, max(utf8_failure, error.start)) from error


def _has_chinese(text: str, minimum: int = 3) -> bool:
    found = 0
    for char in text:
        if "\u4e00" <= char <= "\u9fff":
            found += 1
            if found >= minimum:
                return True
    return False


def _encoding_error(content: bytes, offset: int) -> TabularError:
    return TabularError(
        "encoding",
        _("The file is neither UTF-8 nor GB18030 text: the byte at offset %(offset)s (line %(line)s) cannot be read. "
          "Save it as CSV UTF-8 or as an Excel workbook (.xlsx)."),
        offset=offset, line=content.count(b"\n", 0, offset) + 1,
    )


def _csv_error(row: int) -> TabularError:
    return TabularError("not_a_table", _("Row %(row)s of the CSV file cannot be read: a cell is too long "
                                         "or its quotes are unbalanced."), row=row)


def _sniff_delimiter(text: str) -> str:
    """The candidate that splits the header line most; ties and single columns go to the comma."""
    for line in text[:65536].splitlines():
        if line.strip():
            unquoted = _QUOTED.sub("", line)
            return max(DELIMITERS, key=unquoted.count)
    return ","


def _csv_formula(value: str) -> bool:
    """Excel evaluates a CSV cell starting with = + - @; signed numbers and phones are harmless."""
    if value[:1] not in CSV_FORMULA_STARTS:
        return False
    return value[0] in "=@" or not _SIGNED_NUMBER_TAIL.fullmatch(value, 1)


def _csv_rows(records: Iterator[list[str]], *, first_number: int, width: int, max_rows: int) -> Iterator[Row]:
    count = 0
    number = first_number - 1
    try:
        for number, record in enumerate(records, start=first_number):
            values = [cell.strip() for cell in record]
            if len(values) < width:
                values.extend([""] * (width - len(values)))
            overflow = len(values) > width and any(values[width:])
            del values[width:]
            if not any(values):
                continue
            count += 1
            if count > max_rows:
                raise _too_many_rows(max_rows)
            formulas = frozenset(index for index, value in enumerate(values) if _csv_formula(value))
            yield Row(number, values, formulas or _NO_FORMULAS, overflow)
    except csv.Error as error:
        raise _csv_error(number + 1) from error


# --- XLSX --------------------------------------------------------------------------------------------------------


def _read_xlsx(content: bytes, *, max_bytes: int, max_rows: int) -> Table:
    _inspect_archive(content, max_bytes=max_bytes)
    if not openpyxl.DEFUSEDXML:  # OPENPYXL_DEFUSEDXML=False or defusedxml missing: entity bombs would expand
        raise ImproperlyConfigured("openpyxl must parse workbooks through defusedxml")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False, keep_links=False)
    except Exception as error:
        raise _workbook_error(error) from error
    try:
        worksheet = workbook.worksheets[0] if workbook.worksheets else None
        if worksheet is None:
            raise _no_header()
        # The <dimension> a file declares may be missing or wrong; trusting it truncates rows.
        worksheet.reset_dimensions()
        header_row, header_cells = _find_xlsx_header(worksheet)
        headers = _headers_from(header_cells)
    except BaseException:
        workbook.close()
        raise
    rows = _xlsx_rows(workbook, worksheet, header_row=header_row, width=len(headers), max_rows=max_rows)
    return Table(headers=headers, rows=rows, format="xlsx", encoding="xlsx", header_row=header_row)


def _workbook_error(error: Exception) -> TabularError:
    """Whatever a malformed upload makes openpyxl raise becomes a user-facing error, never a server error."""
    if isinstance(error, TabularError):
        return error
    if isinstance(error, MemoryError):
        raise error
    cause: BaseException | None = error
    while cause is not None:  # openpyxl wraps parser errors in a ValueError
        if isinstance(cause, DefusedXmlException):
            return TabularError("unsafe_archive", _("The workbook contains XML entity declarations and was refused."))
        cause = cause.__cause__ or cause.__context__
    return TabularError("not_a_table", _("The file cannot be read as a CSV file or an Excel workbook (.xlsx)."))


def _inspect_archive(content: bytes, *, max_bytes: int) -> None:
    """Refuse zip bombs and odd archives from the central directory alone, before any part is inflated.

    Python's zipfile never inflates a part beyond the size the directory declares, so
    checking the declared sizes bounds what openpyxl can be made to read.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as error:
        raise TabularError("not_a_table", _("The file cannot be read as a CSV file or an Excel workbook (.xlsx).")) from error
    limit = min(ARCHIVE_EXPANSION * max_bytes, ARCHIVE_MAX_BYTES)
    names: set[str] = set()
    total = 0
    for member in members:
        total += member.file_size
        ratio_too_high = (member.file_size > LARGE_MEMBER_BYTES
                          and member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1))
        if (len(members) > MAX_ARCHIVE_MEMBERS or total > limit or ratio_too_high or _suspicious_name(member.filename)
                or member.filename in names or member.flag_bits & 0x1
                or member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)):
            raise TabularError("unsafe_archive", _("The workbook is not a normal Excel file (it expands to an unusual "
                                                   "size or contains unusual parts) and was refused."))
        names.add(member.filename)


def _suspicious_name(name: str) -> bool:
    parts = name.split("/")
    return (not name or len(name) > 260 or name.startswith("/") or "\\" in name or ":" in name or ".." in parts
            or any(ord(char) < 32 for char in name))


def _find_xlsx_header(worksheet: Any) -> tuple[int, tuple[object, ...]]:
    try:
        with closing(worksheet.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True)) as rows:
            for number, cells in enumerate(rows, start=1):
                if any(cell_text(cell) for cell in cells):
                    return number, cells
    except Exception as error:
        raise _workbook_error(error) from error
    raise _no_header()


def _xlsx_rows(workbook: Any, worksheet: Any, *, header_row: int, width: int, max_rows: int) -> Iterator[Row]:
    """Read one column past the header so ``overflow`` can be reported without reading whole
    rows: a cell in column XFD must not make every row 16,384 cells wide."""
    count = 0
    number = header_row
    try:
        with closing(worksheet.iter_rows(min_row=header_row + 1, max_col=width + 1, values_only=True)) as rows:
            for number, cells in enumerate(rows, start=header_row + 1):
                values = [cell.strip() if type(cell) is str else cell_text(cell) for cell in cells]
                overflow = len(values) > width and values[width] != ""
                del values[width:]
                if not any(values):
                    continue
                count += 1
                if count > max_rows:
                    raise _too_many_rows(max_rows)
                # Formulas arrive as their text ("=SUM(A1:A3)") because data_only=False;
                # a text cell starting with "=" is reported too: both must not be imported.
                formulas = frozenset(index for index, value in enumerate(values) if value[:1] == "=")
                yield Row(number, values, formulas or _NO_FORMULAS, overflow)
    except TabularError:
        raise
    except Exception as error:
        refusal = _workbook_error(error)
        if refusal.code == "not_a_table":
            refusal = TabularError("not_a_table", _("Row %(row)s of the workbook cannot be read."), row=number + 1)
        raise refusal from error
    finally:
        workbook.close()


# --- columns -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column the business layer understands: ``key`` is its field, ``label`` the header
    of the template, ``aliases`` other headers stewards use for it."""

    key: str
    label: str | Promise
    aliases: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True)
class ColumnMapping:
    """Which column index holds each known key, and the headers nobody claimed."""

    indexes: dict[str, int]
    unknown_headers: list[str] = field(default_factory=list)

    def value(self, row: Row, key: str) -> str:
        index = self.indexes.get(key)
        return "" if index is None else row.values[index]

    def values(self, row: Row) -> dict[str, str]:
        return {key: row.values[index] for key, index in self.indexes.items()}

    def formula_keys(self, row: Row) -> list[str]:
        return [key for key, index in self.indexes.items() if index in row.formula_columns]


def header_key(text: object) -> str:
    """How a header is compared: case, spaces, full-width forms, "*" markers and a
    "(必填)" style suffix do not matter; "客户名称*" and "客户名称（必填）" are "客户名称"."""
    key = _WHITESPACE.sub("", normalize_header(text).casefold())
    key = _OPTIONALITY_SUFFIX.sub("", key.strip("*")).strip("*")
    return key


def _bare_key(key: str) -> str:
    """The key without bracketed explanations: "统一社会信用代码(uscc)" → "统一社会信用代码"."""
    return _BRACKETED.sub("", key).strip("*")


def match_columns(headers: Sequence[str], columns: Sequence[Column], *,
                  mapping: Mapping[str, str | None] | None = None) -> ColumnMapping:
    """Map headers to column keys: the user's explicit ``mapping`` (header → key, or
    None/"" to ignore a header) first, then exact header keys, then keys without
    bracketed explanations. Raises ``TabularError`` when a required column is missing,
    when two headers claim one column, or when ``mapping`` names an unknown key.

    Headers in ``mapping`` that the file does not have are ignored, so a saved mapping
    can be reused for the next upload.
    """
    known = {column.key for column in columns}
    explicit = {header_key(header): key for header, key in (mapping or {}).items()}
    unknown_keys = sorted({key for key in explicit.values() if key and key not in known})
    if unknown_keys:
        raise TabularError("invalid_mapping", _("The column mapping names unknown fields: %(keys)s."),
                           items=unknown_keys, keys=", ".join(unknown_keys))
    exact: dict[str, str] = {}
    bare: dict[str, str] = {}
    for column in columns:
        for name in (column.label, *column.aliases):
            key = header_key(name)
            exact.setdefault(key, column.key)
            bare.setdefault(_bare_key(key), column.key)
    exact.pop("", None)
    bare.pop("", None)
    claimed_explicitly = {key for key in explicit.values() if key}

    indexes: dict[str, int] = {}
    claimed_by: dict[str, list[str]] = {}
    unknown_headers: list[str] = []
    for index, header in enumerate(headers):
        key = header_key(header)
        if not key:
            continue
        if key in explicit:
            column_key = explicit[key]
            if not column_key:
                continue
        else:
            column_key = exact.get(key) or bare.get(_bare_key(key))
            if column_key in claimed_explicitly:
                column_key = None
        if column_key is None:
            unknown_headers.append(header)
            continue
        claimed_by.setdefault(column_key, []).append(header)
        indexes.setdefault(column_key, index)

    duplicates = [header for names in claimed_by.values() if len(names) > 1 for header in names]
    if duplicates:
        raise TabularError("duplicate_headers", _("These column headers appear more than once: %(headers)s."),
                           items=duplicates, headers=", ".join(duplicates))
    missing = [str(column.label) for column in columns if column.required and column.key not in indexes]
    if missing:
        raise TabularError("missing_columns", _("Required columns are missing: %(columns)s."),
                           items=missing, columns=", ".join(missing))
    return ColumnMapping(indexes=indexes, unknown_headers=unknown_headers)


# --- writing -----------------------------------------------------------------------------------------------------


def write_xlsx(headers: Sequence[object], rows: Iterable[Sequence[object]], *, sheet_title: str = "Sheet1",
               notes: Sequence[str] = (), notes_title: str = "Notes") -> bytes:
    """An .xlsx whose first sheet holds ``headers`` and ``rows`` and, when ``notes`` are
    given, a second sheet with one note per line (the data sheet stays first so the file
    reads back with ``read_table``).

    Every cell is text in the "@" format, so Excel neither turns a USCC or a phone into
    a number nor re-interprets a cell the user edits; values that a spreadsheet would
    run as a formula get the same apostrophe as CSV exports.
    """
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_title(sheet_title, "Sheet1"))
    header_texts = [_writable(header) for header in headers]
    for index, header in enumerate(header_texts, start=1):
        dimension = sheet.column_dimensions[get_column_letter(index)]
        dimension.width = min(max(_display_width(header) + 4, 10), 40)
        dimension.number_format = "@"  # cells the user adds below keep text too
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    sheet.append([_text_cell(sheet, header, font=bold) for header in header_texts])
    for row in rows:
        sheet.append([_text_cell(sheet, _writable(value)) for value in row])
    if notes:
        notes_sheet = workbook.create_sheet(_sheet_title(notes_title, "Notes"))
        notes_sheet.column_dimensions["A"].width = 100
        wrap = Alignment(wrap_text=True, vertical="top")
        for note in notes:
            notes_sheet.append([_text_cell(notes_sheet, _writable(note), alignment=wrap)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _writable(value: object) -> str:
    text = ILLEGAL_CHARACTERS_RE.sub("", cell_text(value))[:EXCEL_CELL_MAX_CHARS]
    return safe_cell(text)


def _text_cell(sheet: Any, text: str, *, font: Font | None = None, alignment: Alignment | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=text)
    cell.number_format = "@"
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    return cell


def _sheet_title(title: str, default: str) -> str:
    cleaned = re.sub(r"[\\*?:/\[\]]", "_", str(title)).strip("'")[:31]
    return cleaned or default


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)
