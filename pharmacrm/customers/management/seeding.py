"""How ``seed_demo`` writes what its generators produce: shards, rounds, worker processes and two writers.

The demo company is cut into *shards*, one per province, each with its own generator
(own random stream, own set of used names). A shard's institutions come out in *rounds*;
round r of every shard is written in one transaction, its rows interleaved so ids do not
come in province blocks. A shard's rows do not depend on how many rounds or processes
there are, so the same ``--seed`` gives the same rows on every path.

Two writers, one shape of data:

* ``AuditedWriter`` — ``audited_bulk_create``: one audit entry per row, as an import
  would write. The default for small scales (``make run``, tests).
* ``BulkWriter`` — ``executemany`` with explicit ids, and one audit entry per model and
  round naming the id range and row count (action "create", reason "demo data"): the
  audit chain still records who created what and when, in the same transaction as the
  rows, without writing ten million entries for synthetic data. For national scales.

With ``workers`` > 0 the generators run in forked processes (they only compute; the
parent owns the database connection) and the parent writes; on two cores generation
and writing overlap.
"""

from __future__ import annotations

import multiprocessing
import operator
import queue as queue_module
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.models import Max
from django.utils import timezone

from pharmacrm.core import hanzi
from pharmacrm.core.audit import Change, append, audited_bulk_create
from pharmacrm.core.models import AuditAction
from pharmacrm.customers import search
from pharmacrm.customers.choices import InstitutionKind
from pharmacrm.customers.models import Affiliation, Contact, Institution, Licence

#: institutions per round (one transaction); memory for a round of packed rows is ~100 MB
ROUND = 20000
REASON = "demo data"
#: SQLite page cache during a bulk load, in KiB (1 GiB): the indexes being filled stay in memory
BULK_CACHE_KIB = 1_048_576


class RowGenerator(Protocol):
    """What a shard needs from the demo generator (``seed_demo.Generator``)."""

    def institution(self, kind: str | None = None) -> Institution: ...

    def licences(self, institution: Institution) -> list[Licence]: ...

    def contacts(self, institution: Institution) -> Iterator[Contact]: ...


@dataclass
class Chunk:
    """Rows of one shard for one round, in model form; licences and contacts by institution position."""

    institutions: list[Institution] = field(default_factory=list)
    licences: list[list[Licence]] = field(default_factory=list)
    contacts: list[list[Contact]] = field(default_factory=list)
    institution_terms: list[list[str]] = field(default_factory=list)
    contact_terms: list[list[list[str]]] = field(default_factory=list)


@dataclass
class Shard:
    """One province's generator and how many institutions it makes (chain headquarters first)."""

    province: str
    generator: RowGenerator
    count: int
    headquarters: int = 0

    def size(self, round_: int, rounds: int) -> int:
        regular = self.count - self.headquarters
        return regular * (round_ + 1) // rounds - regular * round_ // rounds

    def generate(self, size: int, kind: str | None = None) -> Chunk:
        chunk = Chunk()
        for _ in range(size):
            institution = self.generator.institution(kind)
            chunk.institutions.append(institution)
            chunk.licences.append(self.generator.licences(institution))  # also derives the qualification status
            contacts = list(self.generator.contacts(institution))
            chunk.contacts.append(contacts)
            chunk.institution_terms.append(_terms(institution, search.institution_texts))
            chunk.contact_terms.append([_terms(contact, search.contact_texts) for contact in contacts])
        return chunk


def _terms(row: Any, texts: Callable[[Any], tuple[list[str], list[str]]]) -> list[str]:
    names, identifiers = texts(row)
    return hanzi.index_terms(*names, identifiers=identifiers)


def allocate(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainder: the parts sum to ``total`` exactly)."""
    weight_sum = sum(weights)
    if total <= 0 or weight_sum <= 0:
        return [0] * len(weights)
    exact = [total * weight / weight_sum for weight in weights]
    parts = [int(value) for value in exact]
    by_remainder = sorted(range(len(weights)), key=lambda index: (parts[index] - exact[index], index))
    for index in by_remainder[: total - sum(parts)]:
        parts[index] += 1
    return parts


def interleave(chunks: Sequence[Chunk | Packed]) -> list[tuple[int, int]]:
    """(chunk, position) pairs in id order: every shard's rows spread evenly over the round."""
    keys = [((position + 0.5) / len(chunk.institutions), index, position)
            for index, chunk in enumerate(chunks) for position in range(len(chunk.institutions))]
    return [(index, position) for _fraction, index, position in sorted(keys)]


# --- writers ------------------------------------------------------------------------------------


class AuditedWriter:
    """Rows through ``audited_bulk_create``: one audit entry per institution, licence, contact and affiliation."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor

    def pack(self, chunk: Chunk) -> Chunk:
        return chunk

    def write(self, chunks: Sequence[Chunk]) -> tuple[list[int], int]:
        order = interleave(chunks)
        with transaction.atomic():
            institutions = audited_bulk_create(Institution, [chunks[c].institutions[p] for c, p in order],
                                               actor=self.actor, reason=REASON)
            licences, contacts, contact_terms = [], [], []
            for institution, (c, p) in zip(institutions, order, strict=True):
                for licence in chunks[c].licences[p]:
                    licence.institution = institution
                    licences.append(licence)
                for contact, terms in zip(chunks[c].contacts[p], chunks[c].contact_terms[p], strict=True):
                    contact.institution = institution
                    contacts.append(contact)
                    contact_terms.append(terms)
            audited_bulk_create(Licence, licences, actor=self.actor, reason=REASON)
            contacts = audited_bulk_create(Contact, contacts, actor=self.actor, reason=REASON)
            audited_bulk_create(Affiliation, [
                Affiliation(contact=contact, institution_id=contact.institution_id, department=contact.department,
                            title=contact.title) for contact in contacts], actor=self.actor, reason=REASON)
            search.INSTITUTION_INDEX.replace(
                (institution.pk, chunks[c].institution_terms[p]) for institution, (c, p) in zip(institutions, order,
                                                                                                strict=True))
            search.CONTACT_INDEX.replace((contact.pk, terms) for contact, terms in zip(contacts, contact_terms,
                                                                                      strict=True))
        return [institution.pk for institution in institutions], len(contacts)

    def finish(self) -> None:
        _analyze()


@dataclass
class _Table:
    """A model's columns for raw INSERTs, with each value converted as the ORM would save it."""

    model: type[models.Model]
    now: Any
    skip: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        plain = (models.CharField, models.TextField, models.IntegerField, models.PositiveIntegerField,
                 models.SmallIntegerField, models.BooleanField, models.ForeignKey)
        self.fields = [f for f in self.model._meta.concrete_fields if f.attname not in ("id", *self.skip)]
        self.database = connections[DEFAULT_DB_ALIAS]  # the object, not the per-context proxy: faster per value
        self.read = operator.attrgetter(*(f.attname for f in self.fields))
        stamped = [getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) for f in self.fields]
        self.stamps = [(index, f.get_db_prep_save(self.now, connection))
                       for index, f in enumerate(self.fields) if stamped[index]]
        # The generator's values are already Python values of the right type (prepared): only the
        # engine's adaptation is left, for dates, decimals, JSON and field subclasses (PhoneField).
        self.converted = [(index, f, isinstance(f, models.JSONField)) for index, f in enumerate(self.fields)
                          if not stamped[index] and type(f) not in plain]
        # computed columns (a blind index of a sealed phone) are filled as save() would
        self.computed = [(index, f) for index, f in enumerate(self.fields)
                         if not stamped[index] and type(f).pre_save is not models.Field.pre_save]
        names = ["id", *self.skip, *(f.column for f in self.fields)]
        quoted = ", ".join(connection.ops.quote_name(name) for name in names)
        table = connection.ops.quote_name(self.model._meta.db_table)
        # identifiers from the model's own metadata, quoted; values are parameters
        self.sql = f"INSERT INTO {table} ({quoted}) VALUES ({', '.join(['%s'] * len(names))})"  # noqa: S608

    def index(self, attname: str) -> int:
        return [f.attname for f in self.fields].index(attname)

    def values(self, obj: models.Model) -> tuple[Any, ...]:
        """The row as the ORM would save it (``get_db_prep_save``), without its id and ``skip`` columns."""
        row = list(self.read(obj))
        for index, model_field in self.computed:
            row[index] = model_field.pre_save(obj, add=True)
        for index, model_field, is_json in self.converted:
            if row[index] is not None or is_json:
                # sealed fields encrypt in get_prep_value, which prepared=True would skip
                row[index] = model_field.get_db_prep_value(row[index], self.database,
                                                           prepared=not getattr(model_field, "sealed", False))
        for index, value in self.stamps:
            row[index] = value
        return tuple(row)


@dataclass
class Packed:
    """A chunk as plain tuples (cheap to send between processes), without ids or parent institution ids."""

    institutions: list[tuple[Any, ...]]
    licences: list[list[tuple[Any, ...]]]
    contacts: list[list[tuple[Any, ...]]]
    affiliations: list[list[tuple[Any, ...]]]
    institution_terms: list[list[str]]
    contact_terms: list[list[list[str]]]


class BulkWriter:
    """Rows by ``executemany`` with explicit ids; one audit entry per model and round (see the module docstring)."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor
        now = timezone.now()
        self.tables = {
            Institution: _Table(Institution, now),
            Licence: _Table(Licence, now, skip=("institution_id",)),
            Contact: _Table(Contact, now, skip=("institution_id",)),
            Affiliation: _Table(Affiliation, now, skip=("contact_id", "institution_id")),
        }
        affiliations = self.tables[Affiliation]
        self.affiliation_template = affiliations.values(Affiliation())
        self.affiliation_columns = (affiliations.index("department"), affiliations.index("title"))
        self.next_id = {model: (model._base_manager.aggregate(top=Max("pk"))["top"] or 0) + 1 for model in self.tables}
        self.cache_size: int | None = None
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                self.cache_size = cursor.execute("PRAGMA cache_size").fetchone()[0]
                cursor.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")

    def pack(self, chunk: Chunk) -> Packed:
        tables = self.tables
        return Packed(
            institutions=[tables[Institution].values(row) for row in chunk.institutions],
            licences=[[tables[Licence].values(row) for row in rows] for rows in chunk.licences],
            contacts=[[tables[Contact].values(row) for row in rows] for rows in chunk.contacts],
            affiliations=[[self._affiliation(row) for row in rows] for rows in chunk.contacts],
            institution_terms=chunk.institution_terms,
            contact_terms=chunk.contact_terms,
        )

    def _affiliation(self, contact: Contact) -> tuple[Any, ...]:
        """A contact's current affiliation (where they work, as what): the template row with two columns set."""
        row = list(self.affiliation_template)
        row[self.affiliation_columns[0]], row[self.affiliation_columns[1]] = contact.department, contact.title
        return tuple(row)

    def _ids(self, model: type[models.Model], count: int) -> range:
        first = self.next_id[model]
        self.next_id[model] = first + count
        return range(first, first + count)

    def write(self, chunks: Sequence[Packed]) -> tuple[list[int], int]:
        order = interleave(chunks)
        institution_ids = self._ids(Institution, len(order))
        rows: dict[type[models.Model], list[tuple[Any, ...]]] = {model: [] for model in self.tables}
        institution_pairs, contact_pairs = [], []
        licence_count = sum(len(chunks[c].licences[p]) for c, p in order)
        contact_count = sum(len(chunks[c].contacts[p]) for c, p in order)
        licence_ids, contact_ids = iter(self._ids(Licence, licence_count)), iter(self._ids(Contact, contact_count))
        affiliation_ids = iter(self._ids(Affiliation, contact_count))
        for institution_id, (c, p) in zip(institution_ids, order, strict=True):
            chunk = chunks[c]
            rows[Institution].append((institution_id, *chunk.institutions[p]))
            institution_pairs.append((institution_id, chunk.institution_terms[p]))
            rows[Licence] += [(next(licence_ids), institution_id, *licence) for licence in chunk.licences[p]]
            for contact, affiliation, terms in zip(chunk.contacts[p], chunk.affiliations[p], chunk.contact_terms[p],
                                                   strict=True):
                contact_id = next(contact_ids)
                rows[Contact].append((contact_id, institution_id, *contact))
                rows[Affiliation].append((next(affiliation_ids), contact_id, institution_id, *affiliation))
                contact_pairs.append((contact_id, terms))
        with transaction.atomic(), connection.cursor() as cursor:
            changes = []
            for model, table in self.tables.items():
                if rows[model]:
                    cursor.executemany(table.sql, rows[model])
                    first, last = rows[model][0][0], rows[model][-1][0]
                    changes.append(Change(AuditAction.CREATE, model(), {"first_id": first, "last_id": last,
                                                                        "rows": len(rows[model])}, REASON,
                                          object_repr=f"{model.__name__} #{first}–#{last}"))
            search.INSTITUTION_INDEX.replace(institution_pairs)
            search.CONTACT_INDEX.replace(contact_pairs)
            append(changes, actor=self.actor)
        return list(institution_ids), contact_count

    def finish(self) -> None:
        """Merge the full-text indexes, move PostgreSQL's sequences past the explicit ids, refresh statistics."""
        search.INSTITUTION_INDEX.optimize()
        search.CONTACT_INDEX.optimize()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                for statement in connection.ops.sequence_reset_sql(no_style(), list(self.tables)):
                    cursor.execute(statement)
            if self.cache_size is not None:
                cursor.execute(f"PRAGMA cache_size = {int(self.cache_size)}")
        _analyze()


def _analyze() -> None:
    """Fresh planner statistics, as production keeps them (ANALYZE / autovacuum): plans depend on them."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- the load ------------------------------------------------------------------------------------


class Writer(Protocol):
    def pack(self, chunk: Chunk) -> Any: ...

    def write(self, chunks: Sequence[Any]) -> tuple[list[int], int]: ...

    def finish(self) -> None: ...


def write_headquarters(shards: Sequence[Shard], writer: Writer) -> tuple[list[tuple[Institution, int]], int]:
    """Chain headquarters of every shard, written first: chain stores of later rounds name them as parent.

    Returns each headquarters with its id, and the number of contacts written.
    """
    chunks = [shard.generate(shard.headquarters, kind=InstitutionKind.CHAIN_HQ) for shard in shards]
    ids, contacts = writer.write([writer.pack(chunk) for chunk in chunks])
    order = interleave(chunks)
    return [(chunks[c].institutions[p], pk) for (c, p), pk in zip(order, ids, strict=True)], contacts


def load(shards: Sequence[Shard], writer: Writer, *, workers: int = 0,
         progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
    """Write every shard's regular institutions in rounds; returns (institutions, contacts) written."""
    total = sum(shard.count - shard.headquarters for shard in shards)
    rounds = max(1, -(-total // ROUND))
    done = contacts = 0
    for chunks in _rounds(shards, rounds, writer.pack, workers):
        ids, written = writer.write(chunks)
        done, contacts = done + len(ids), contacts + written
        if progress:
            progress(done, total)
    writer.finish()
    return done, contacts


def _rounds(shards: Sequence[Shard], rounds: int, pack: Callable[[Chunk], Any], workers: int) -> Iterator[list[Any]]:
    if workers <= 0 or rounds == 1 or "fork" not in multiprocessing.get_all_start_methods():
        for round_ in range(rounds):
            yield [pack(shard.generate(shard.size(round_, rounds))) for shard in shards]
        return
    yield from _forked_rounds(shards, rounds, pack, workers)


def _forked_rounds(shards: Sequence[Shard], rounds: int, pack: Callable[[Chunk], Any],
                   workers: int) -> Iterator[list[Any]]:
    """Generate in ``workers`` forked processes (shards balanced by size), yield rounds in order."""
    context = multiprocessing.get_context("fork")
    loads: list[list[int]] = [[] for _ in range(workers)]
    for index in sorted(range(len(shards)), key=lambda i: (-shards[i].count, i)):
        min(loads, key=lambda assigned: sum(shards[i].count for i in assigned)).append(index)
    loads = [sorted(assigned) for assigned in loads if assigned]
    # Children inherit the parent's database connection but never touch it, and leave with
    # os._exit (multiprocessing's fork start), so it is neither used nor closed by them.
    processes = []
    for assigned in loads:
        channel = context.Queue(maxsize=2 * len(assigned))
        process = context.Process(target=_generate, args=([shards[i] for i in assigned], rounds, pack, channel),
                                  daemon=True)
        process.start()
        processes.append((process, channel, assigned))
    try:
        for _round in range(rounds):
            chunks: list[Any] = [None] * len(shards)
            for process, channel, assigned in processes:
                for index in assigned:
                    chunks[index] = _receive(channel, process)
            yield chunks
    finally:
        for process, _channel, _assigned in processes:
            if process.is_alive():
                process.terminate()
            process.join()


def _generate(shards: Iterable[Shard], rounds: int, pack: Callable[[Chunk], Any], channel: Any) -> None:
    shards = list(shards)
    for round_ in range(rounds):
        for shard in shards:
            channel.put(pack(shard.generate(shard.size(round_, rounds))))


def _receive(channel: Any, process: Any) -> Any:
    while True:
        try:
            return channel.get(timeout=5)
        except queue_module.Empty:
            if not process.is_alive():
                raise RuntimeError(f"seeding worker {process.pid} died (exit code {process.exitcode})") from None

