"""Customer search: one box finds institutions and contacts by name, short name, alias, full
pinyin, initials (``bjxh``), USCC and phone, in simplified or traditional characters.

Two paths give the same answers, chosen by how much the user can see:
- a rep's or a team's scope is small: ``search_key LIKE '%q%'`` over the scoped rows
  (their owner index bounds the scan);
- a region's or everyone's scope is large: the full-text side table answers
  ``q`` as a prefix of one of the row's suffix terms (``core.search``), then scope applies.

Services call ``index_institutions`` / ``index_contacts`` after each write; bulk paths
(seeding, imports) call them per batch; ``manage.py rebuild_search_index`` rebuilds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from pharmacrm.core import hanzi
from pharmacrm.core.search import FullTextIndex
from pharmacrm.org.roles import ScopeLevel
from pharmacrm.org.scope import scope_of

INSTITUTION_INDEX = FullTextIndex("customers_institution_fts")
CONTACT_INDEX = FullTextIndex("customers_contact_fts")
#: scopes small enough to scan: the owner and team indexes bound them
_SCAN_SCOPES = (ScopeLevel.OWN, ScopeLevel.TEAM)


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def institution_texts(institution: Any) -> tuple[list[str], list[str]]:
    """(names, identifiers) of an institution: what search finds it by."""
    names = [institution.name, institution.short_name, *(institution.aliases or [])]
    identifiers = [institution.uscc, institution.code or "", _digits(institution.phone or "")]
    return [name for name in names if name], [value for value in identifiers if value]


def contact_texts(contact: Any) -> tuple[list[str], list[str]]:
    """A contact is found by name; by mobile only as a whole number, through the blind index
    (``search_contacts``): a phone is sealed at rest, so neither the search key nor the
    full-text table may hold it (PIPL Art.51)."""
    return [contact.name], []


def institution_key(institution: Any) -> str:
    names, identifiers = institution_texts(institution)
    return hanzi.search_key(*names, identifiers=identifiers)


def contact_key(contact: Any) -> str:
    names, identifiers = contact_texts(contact)
    return hanzi.search_key(*names, identifiers=identifiers)


def index_institutions(institutions: Iterable[Any], *, keys_current: bool = False) -> None:
    """Refresh the search key column and the full-text rows of saved institutions.

    ``keys_current``: the rows were inserted with their search keys (a bulk insert); only the
    full-text rows are written.
    """
    _index(institutions, institution_texts, INSTITUTION_INDEX, "search_key", keys_current)


def index_contacts(contacts: Iterable[Any], *, keys_current: bool = False) -> None:
    _index(contacts, contact_texts, CONTACT_INDEX, "search_key", keys_current)


def _index(rows: Iterable[Any], texts: Any, index: FullTextIndex, key_field: str, keys_current: bool) -> None:
    pairs = []
    for row in rows:
        names, identifiers = texts(row)
        if not keys_current:
            key = hanzi.search_key(*names, identifiers=identifiers)
            if getattr(row, key_field) != key:
                type(row).objects.filter(pk=row.pk).update_derived(**{key_field: key})
                setattr(row, key_field, key)
        pairs.append((row.pk, hanzi.index_terms(*names, identifiers=identifiers)))
    index.replace(pairs)


def unindex_institutions(ids: Iterable[int]) -> None:
    INSTITUTION_INDEX.delete(list(ids))


def normalized_name(name: str) -> str:
    return hanzi.normalize(name or "")


def name_similarity_filter(name: str) -> Q:
    """Rows whose names contain this one after normalising (script, width, punctuation), or
    whose pinyin contains its pinyin (同音: 协和 / 协合). Used for duplicate warnings."""
    normalized = hanzi.normalize(name or "")
    condition = Q(search_key__contains=normalized)
    readings = hanzi.readings(normalized) if len(normalized) >= 4 else []
    for reading in readings[:1]:
        condition |= Q(search_key__contains=reading.full)
    return condition


def _matching(queryset: QuerySet, query: str, index: FullTextIndex, user: Any) -> QuerySet:
    term = hanzi.query_term(query)
    if term is None:
        return queryset
    if scope_of(user).level in _SCAN_SCOPES:
        return queryset.filter(search_key__contains=term.text)
    sql, params = index.matching_ids(term.term)
    queryset = queryset.filter(pk__in=RawSQL(sql, params))  # noqa: S611  (fixed SQL; the term is a parameter)
    return queryset if term.exact else queryset.filter(search_key__contains=term.text)


def search_institutions(queryset: QuerySet, query: str, user: Any) -> QuerySet:
    return _matching(queryset, query, INSTITUTION_INDEX, user)


def search_contacts(queryset: QuerySet, query: str, user: Any) -> QuerySet:
    """By name (any part, pinyin, initials), or by a whole mobile number (exact, blind index)."""
    digits = _digits(query or "")
    if len(digits) == 11 and digits == (query or "").strip().replace(" ", "").replace("-", ""):
        from pharmacrm.core.crypto import blind_index

        return queryset.filter(mobile_index=blind_index(digits))
    return _matching(queryset, query, CONTACT_INDEX, user)
