"""Spreadsheet imports: upload → column mapping → dry run → commit, run by the worker.

An ``Importer`` knows one kind of record (institutions, contacts, licences): its columns,
how a row is checked and how checked rows are written. This module does the rest for
every importer: the template, the upload and its limits, the mapping, the background
runs with progress, the error list by row and column, and the rejected-rows file.

The commit is one database transaction: a run killed halfway (kill -9, a crash, a full
disk) leaves nothing written, and running it again gives the same result. Progress of a
run is kept outside the database (the job queue's key-value store), because on SQLite
the import holds the write lock until it commits.
"""

from __future__ import annotations

import datetime
import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pharmacrm.core import policy
from pharmacrm.core.audit import audited_create, audited_update
from pharmacrm.core.models import ImportJob, ImportMode, ImportStatus
from pharmacrm.core.tabular import Column, ColumnMapping, Row, TabularError, match_columns, read_table, write_xlsx

logger = logging.getLogger(__name__)

MAX_MEGABYTES = policy.declare(
    "imports.max_megabytes", default=20, label=gettext_lazy("Largest import file (MB)"),
    help_text=gettext_lazy("Spreadsheets above this size are refused; split them into several files."))
MAX_ROWS = policy.declare(
    "imports.max_rows", default=200_000, label=gettext_lazy("Most rows in one import file"))

#: rows checked (and written) per batch: one lookup query per batch, not per row
CHUNK_ROWS = 1000
#: a run whose progress has not moved for this long is treated as interrupted
STALE_SECONDS = 120
#: header of the column the rejected-rows file adds
ERROR_HEADER = gettext_lazy("Errors")


class ImportAborted(Exception):
    """Raised inside the commit transaction to roll back everything written so far."""


@dataclass
class Problem:
    """What is wrong with a row: ``column`` is the importer's column key ("" for the row)."""

    column: str
    message: str


@dataclass
class Outcome:
    """One data row on its way through an importer."""

    number: int
    values: dict[str, str]
    raw: list[str]
    problems: list[Problem] = field(default_factory=list)
    #: what the importer will write (set by ``check`` when the row is valid)
    payload: Any = None

    def error(self, column: str, message: str | Promise) -> None:
        self.problems.append(Problem(column, str(message)))

    @property
    def ok(self) -> bool:
        return not self.problems


class Importer:
    """Base class of an importer; subclasses set the class attributes and the three hooks."""

    kind: ClassVar[str]
    label: ClassVar[str | Promise]
    #: the permission an importing user needs ("app.codename")
    permission: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]]
    #: example rows for the template, as column key → text
    examples: ClassVar[tuple[dict[str, str], ...]] = ()
    #: a page to go on to once the import is done (URL name and link text), e.g. a queue it filled
    follow_up_url: ClassVar[str] = ""
    follow_up_label: ClassVar[str | Promise] = ""
    #: templates list importer classes; they must not call them
    do_not_call_in_templates: ClassVar[bool] = True

    def __init__(self, actor: Any, job: ImportJob | None = None) -> None:
        self.actor = actor
        #: the job being run (rows an importer writes may name it)
        self.job = job

    @classmethod
    def notes(cls) -> list[str]:
        """Lines for the template's notes sheet."""
        return []

    def start(self) -> None:
        """Load what every row needs (reference tables, choices) once per run."""

    def check(self, chunk: list[Outcome]) -> None:
        """Set ``payload`` on valid rows and ``problems`` on the others (batched lookups)."""
        raise NotImplementedError

    def write(self, chunk: list[Outcome]) -> tuple[int, int]:
        """Write the valid rows of a chunk; returns (created, updated). Runs in the commit transaction."""
        raise NotImplementedError

    def finish(self) -> None:
        """After the last chunk, still inside the commit transaction (derived columns, indexes)."""

    def summary(self) -> str:
        """A line for the job's page beyond the row counts (e.g. what waits for a steward); "" for none."""
        return ""


_registry: dict[str, type[Importer]] = {}


def register(importer: type[Importer]) -> type[Importer]:
    _registry[importer.kind] = importer
    return importer


def importer_class(kind: str) -> type[Importer]:
    try:
        return _registry[kind]
    except KeyError:
        raise ValidationError({"kind": [_("Unknown import type.")]}) from None


def importers_for(user: Any) -> list[type[Importer]]:
    """The import types a user may run, in registration order."""
    return [importer for importer in _registry.values() if user.has_perm(importer.permission)]


def column_label(importer: type[Importer], key: str) -> str:
    if not key:
        return ""
    for column in importer.columns:
        if column.key == key:
            return str(column.label)
    return key


# --- template -----------------------------------------------------------------------------------------------


def template_headers(importer: type[Importer]) -> list[str]:
    return [f"{column.label}*" if column.required else str(column.label) for column in importer.columns]


def template_file(importer: type[Importer]) -> bytes:
    """The .xlsx a steward fills in: Chinese headers (* = required), example rows, notes."""
    rows = [[example.get(column.key, "") for column in importer.columns] for example in importer.examples]
    notes = [_("Columns marked * are required. Delete the example rows before importing."),
             _("Empty cells leave an existing record's value unchanged."), *importer.notes()]
    return write_xlsx(template_headers(importer), rows, sheet_title=str(importer.label), notes=notes,
                      notes_title=_("Notes"))


# --- jobs -----------------------------------------------------------------------------------------------------


def _limits() -> tuple[int, int]:
    return int(policy.get("imports.max_megabytes")) * 1024 * 1024, int(policy.get("imports.max_rows"))


def _open_table(data: Any, filename: str) -> Any:
    max_bytes, max_rows = _limits()
    return read_table(data, filename=filename, max_bytes=max_bytes, max_rows=max_rows)


def authorize_import(actor: Any, importer: type[Importer]) -> None:
    if not actor.has_perm(importer.permission):
        raise PermissionDenied(_("You may not import this kind of data."))


def start(*, actor: Any, kind: str, upload: Any) -> ImportJob:
    """Keep an uploaded file as a new job and propose a column mapping from its headers.

    A file that cannot be read at all (wrong type, broken encoding, too large, a zip
    bomb) is refused here with a field error on ``file``; nothing is stored.
    """
    importer = importer_class(kind)
    authorize_import(actor, importer)
    if upload is None:
        raise ValidationError({"file": [_("Choose a file.")]})
    name = (upload.name or "import").replace("\\", "/").rsplit("/", 1)[-1][:255]
    max_bytes, _max_rows = _limits()
    if upload.size is not None and upload.size > max_bytes:
        raise ValidationError({"file": [_("The file is larger than %(limit)s MB. Split it into smaller files.")
                                        % {"limit": max_bytes // (1024 * 1024)}]})
    upload.seek(0)
    try:
        with _open_table(upload, name) as table:
            headers = list(table.headers)
            next(iter(table), None)  # the first data row: encoding errors near the top show now
    except TabularError as error:
        raise ValidationError({"file": [error.message]}) from error
    mapping = proposed_mapping(importer, headers)
    upload.seek(0)
    from pharmacrm.core.uploads import store_file

    with transaction.atomic():
        job = audited_create(ImportJob, actor=actor, kind=kind, created_by=actor, original_name=name,
                             headers=headers, mapping=mapping)
        source = store_file(actor=actor, content=upload, name=name, attach_to=job,
                            mime_type="text/csv" if not _is_zip(upload) else XLSX_MIME,
                            description=str(importer.label))
        job = audited_update(job, actor=actor, changes={"source": source})
    return job


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _is_zip(upload: Any) -> bool:
    upload.seek(0)
    head = upload.read(4)
    upload.seek(0)
    return head.startswith(b"PK")


def proposed_mapping(importer: type[Importer], headers: Sequence[str]) -> dict[str, str]:
    """Header → column key for the headers the system recognises ("" for the others)."""
    result = {header: "" for header in headers if header}
    for column in importer.columns:
        for header in headers:
            if result.get(header):
                continue
            try:
                found = match_columns([header], [Column(column.key, column.label, column.aliases)])
            except TabularError:
                continue
            if column.key in found.indexes and column.key not in result.values():
                result[header] = column.key
                break
    return result


def check_mapping(importer: type[Importer], headers: Sequence[str], mapping: dict[str, str]) -> ColumnMapping:
    try:
        return match_columns(headers, importer.columns, mapping=mapping)
    except TabularError as error:
        raise ValidationError({"mapping": [error.message]}) from error


def configure(*, actor: Any, job: ImportJob, mapping: dict[str, str], mode: str) -> ImportJob:
    """Save the mapping and mode, then start the dry run in the background."""
    importer = importer_class(job.kind)
    authorize_import(actor, importer)
    if job.running or job.status == ImportStatus.DONE:
        raise ValidationError(_("This import is running or finished; upload the file again to change it."))
    if mode not in ImportMode.values:
        raise ValidationError({"mode": [_("Choose how to import.")]})
    mapping = {header: key for header, key in mapping.items() if header in job.headers}
    check_mapping(importer, job.headers, mapping)
    job = audited_update(job, actor=actor, changes={
        "mapping": mapping, "mode": mode, "status": ImportStatus.CHECKING, "message": "",
        "processed_rows": 0, "started_at": timezone.now(), "finished_at": None})
    _enqueue(job, commit=False)
    return job


def commit(*, actor: Any, job: ImportJob) -> ImportJob:
    """Start writing a checked job. All-or-nothing jobs need a clean dry run."""
    importer = importer_class(job.kind)
    authorize_import(actor, importer)
    if job.status != ImportStatus.CHECKED and not is_interrupted(job):
        raise ValidationError(_("Check the file before importing it."))
    if job.mode == ImportMode.ALL_OR_NOTHING and job.error_rows:
        raise ValidationError(_("%(rows)s rows have errors. Fix them and upload the file again, or choose to "
                                "import only the valid rows.") % {"rows": job.error_rows})
    if job.total_rows == job.error_rows:
        raise ValidationError(_("No row is valid; there is nothing to import."))
    job = audited_update(job, actor=actor, changes={
        "status": ImportStatus.IMPORTING, "processed_rows": 0, "started_at": timezone.now(), "finished_at": None})
    _enqueue(job, commit=True)
    return job


def cancel(*, actor: Any, job: ImportJob) -> ImportJob:
    authorize_import(actor, importer_class(job.kind))
    if job.status == ImportStatus.DONE:
        raise ValidationError(_("This import has finished; it cannot be cancelled."))
    if job.running and not is_interrupted(job):
        raise ValidationError(_("This import is running; wait until it finishes."))
    return audited_update(job, actor=actor, changes={"status": ImportStatus.CANCELLED,
                                                     "finished_at": timezone.now()})


def _enqueue(job: ImportJob, *, commit: bool) -> None:
    from pharmacrm.core.tasks import run_import

    set_progress(job.pk, 0)
    transaction.on_commit(lambda: run_import(job.pk, commit))


# --- progress --------------------------------------------------------------------------------------------------


def _progress_key(job_id: int) -> str:
    return f"import-progress:{job_id}"


def set_progress(job_id: int, processed: int) -> None:
    from huey.contrib.djhuey import HUEY

    HUEY.put(_progress_key(job_id), json.dumps({"rows": processed, "at": time.time()}))


def progress(job: ImportJob) -> tuple[int, float | None]:
    """(rows processed, seconds since the last report) of a running job."""
    from huey.contrib.djhuey import HUEY

    try:
        stored = HUEY.get(_progress_key(job.pk), peek=True)
    except Exception:  # the queue's store is down: the page still shows the job
        logger.exception("import progress unavailable")
        stored = None
    if not stored:
        return job.processed_rows, None
    data = json.loads(stored)
    return int(data["rows"]), max(0.0, time.time() - float(data["at"]))


def is_interrupted(job: ImportJob) -> bool:
    """A running job whose worker stopped reporting (killed, restarted): it can be run again."""
    if not job.running:
        return False
    _rows, age = progress(job)
    if age is None:
        started = job.started_at or job.updated_at
        return (timezone.now() - started).total_seconds() > STALE_SECONDS
    return age > STALE_SECONDS


# --- the run ---------------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    total: int = 0
    error_rows: int = 0
    error_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[list[str]] = field(default_factory=list)
    created: int = 0
    updated: int = 0

    def add(self, importer: type[Importer], outcome: Outcome, headers: Sequence[str]) -> None:
        self.error_rows += 1
        self.error_count += len(outcome.problems)
        for problem in outcome.problems:
            if len(self.errors) < ImportJob.MAX_STORED_ERRORS:
                self.errors.append({"row": outcome.number, "column": column_label(importer, problem.column),
                                    "value": outcome.values.get(problem.column, "")[:100],
                                    "message": problem.message})
        self.rejected.append([*outcome.raw, "；".join(p.message for p in outcome.problems)])


def _chunks(rows: Iterator[Row], mapping: ColumnMapping, width: int) -> Iterator[list[Outcome]]:
    chunk: list[Outcome] = []
    for row in rows:
        values = {key: _unquote(value) for key, value in mapping.values(row).items()}
        outcome = Outcome(row.number, values, [*row.values[:width], *[""] * (width - len(row.values))])
        for key in mapping.formula_keys(row):
            outcome.error(key, _("This cell holds a formula; paste its value instead (Paste Special → Values)."))
        chunk.append(outcome)
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _unquote(value: str) -> str:
    """The rejected-rows file and exports put an apostrophe before text a spreadsheet would run
    as a formula (e.g. '+86 138…'); take it off when the file comes back."""
    return value[1:] if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@") else value


def run(job_id: int, *, commit: bool) -> ImportJob:
    """The worker's side: check every row (and write the valid ones when ``commit``)."""
    job = ImportJob.objects.select_related("created_by", "source").get(pk=job_id)
    if job.status not in (ImportStatus.CHECKING, ImportStatus.IMPORTING):
        return job  # cancelled or already done (a task delivered twice)
    importer_type = importer_class(job.kind)
    actor = job.created_by
    result = RunResult()
    try:
        with job.source.file.open("rb") as handle, _open_table(handle, job.original_name) as table:
            mapping = check_mapping(importer_type, table.headers, job.mapping)
            importer = importer_type(actor, job)
            if commit:
                try:
                    with transaction.atomic():
                        _process(job, importer, importer_type, table, mapping, result, write=True)
                        if job.mode == ImportMode.ALL_OR_NOTHING and result.error_rows:
                            raise ImportAborted
                        importer.finish()
                        _finish(job, actor, result, committed=True, summary=importer.summary())
                except ImportAborted:
                    _fail(job, actor, result, _("%(rows)s rows have errors now (the data changed since the check); "
                                                "nothing was imported.") % {"rows": result.error_rows})
            else:
                _process(job, importer, importer_type, table, mapping, result, write=False)
                _finish(job, actor, result, committed=False, summary=importer.summary())
    except (TabularError, ValidationError) as error:
        message = error.message if isinstance(error, TabularError) else "; ".join(error.messages)
        _fail(job, actor, result, message)
    except Exception:
        logger.exception("import %s failed", job_id)
        _fail(job, actor, result, _("The import stopped because of an internal error; nothing was imported. "
                                    "The administrators have been told."))
        raise
    job.refresh_from_db()
    return job


def _process(job: ImportJob, importer: Importer, importer_type: type[Importer], table: Any,
             mapping: ColumnMapping, result: RunResult, *, write: bool) -> None:
    importer.start()
    width = len(table.headers)
    for chunk in _chunks(iter(table), mapping, width):
        importer.check([outcome for outcome in chunk if outcome.ok])
        valid = [outcome for outcome in chunk if outcome.ok]
        for outcome in chunk:
            if not outcome.ok:
                result.add(importer_type, outcome, table.headers)
        result.total += len(chunk)
        if write and valid and not (job.mode == ImportMode.ALL_OR_NOTHING and result.error_rows):
            created, updated = importer.write(valid)
            result.created += created
            result.updated += updated
        set_progress(job.pk, result.total)


def _finish(job: ImportJob, actor: Any, result: RunResult, *, committed: bool, summary: str = "") -> None:
    from pharmacrm.core.uploads import store_file

    changes: dict[str, Any] = {
        "total_rows": result.total, "processed_rows": result.total, "error_rows": result.error_rows,
        "error_count": result.error_count, "errors": result.errors, "finished_at": timezone.now(),
        "status": ImportStatus.DONE if committed else ImportStatus.CHECKED,
    }
    if committed:
        changes.update(created_count=result.created, updated_count=result.updated)
    if summary:
        changes["message"] = summary
    if result.rejected and not committed:
        content = write_xlsx([*job.headers, str(ERROR_HEADER)], result.rejected, sheet_title=_("Rejected rows"))
        stem = job.original_name.rsplit(".", 1)[0]
        changes["rejected_file"] = store_file(
            actor=actor, content=ContentFile(content), name=f"{stem}-rejected.xlsx", attach_to=job,
            mime_type=XLSX_MIME, description=str(_("Rejected rows")))
    if not result.total:
        changes.update(status=ImportStatus.FAILED, message=_("The file has no data rows."))
    audited_update(job, actor=actor, changes=changes)


def _fail(job: ImportJob, actor: Any, result: RunResult, message: str) -> None:
    job.refresh_from_db()
    audited_update(job, actor=actor, changes={
        "status": ImportStatus.FAILED, "message": message, "errors": result.errors,
        "error_rows": result.error_rows, "error_count": result.error_count,
        "total_rows": result.total, "processed_rows": result.total, "finished_at": timezone.now()})


# --- parsing helpers importers share ------------------------------------------------------------------------


TRUE_WORDS = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "对"})
FALSE_WORDS = frozenset({"否", "n", "no", "false", "0", "×", "", "不是"})
LIST_SEPARATORS = ("；", ";", "、", "|", "，", ",", "\n")


def parse_bool(outcome: Outcome, key: str) -> bool | None:
    text = outcome.values.get(key, "").strip().casefold()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False if text else None
    outcome.error(key, _("Enter 是 or 否."))
    return None


def parse_int(outcome: Outcome, key: str, *, maximum: int = 2_000_000_000) -> int | None:
    text = outcome.values.get(key, "").replace(",", "").replace("，", "").strip()
    if not text:
        return None
    try:
        value = float(text)  # Excel writes whole numbers as 2000.0
    except ValueError:
        value = None
    if value is None or not value.is_integer():
        outcome.error(key, _("Enter a whole number."))
        return None
    number = int(value)
    if number < 0 or number > maximum:
        outcome.error(key, _("Enter a number between 0 and %(max)s.") % {"max": maximum})
        return None
    return number


DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d", "%Y-%m-%d %H:%M:%S")


def parse_date(outcome: Outcome, key: str) -> datetime.date | None:
    text = outcome.values.get(key, "").strip()
    if not text:
        return None
    for pattern in DATE_FORMATS:
        try:
            day = datetime.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        if 1900 <= day.year <= 2200:
            return day
    outcome.error(key, _("Enter a date such as 2024-03-01."))
    return None


def parse_list(text: str) -> list[str]:
    items = [text]
    for separator in LIST_SEPARATORS:
        items = [part for item in items for part in item.split(separator)]
    return [item.strip() for item in items if item.strip()]


def parse_choice(outcome: Outcome, key: str, choices: dict[str, str]) -> str:
    """A choice by its stored value or any of its labels (``choices`` from ``choice_lookup``)."""
    text = outcome.values.get(key, "").strip()
    if not text:
        return ""
    found = choices.get(text.casefold())
    if found is None:
        labels = sorted({label for label in choices if not label.isascii()})[:12]
        outcome.error(key, _("Unknown value %(value)r. Use one of: %(choices)s.")
                      % {"value": text[:40], "choices": "、".join(labels)})
        return ""
    return found


def choice_lookup(choices: Any, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Every way a steward may write a choice: value, Chinese label, English label."""
    from django.utils import translation

    lookup: dict[str, str] = {}
    for value, label in choices.choices:
        lookup[str(value).casefold()] = value
        for language in ("zh-hans", "en"):
            with translation.override(language):
                lookup[str(label).casefold()] = value
    for text, value in (extra or {}).items():
        lookup[text.casefold()] = value
    return lookup


def limit_text(outcome: Outcome, key: str, max_length: int) -> str:
    text = outcome.values.get(key, "").strip()
    if len(text) > max_length:
        outcome.error(key, _("At most %(max)s characters (this has %(count)s).")
                      % {"max": max_length, "count": len(text)})
        return ""
    return text
