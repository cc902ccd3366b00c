"""manage.py rebuild_search_index: recompute every search key and full-text row of institutions and contacts.

Run it after changing how names are normalised (a new pypinyin or opencc release, new
polyphones) or if the side tables were restored from an older backup. Batched; the
live site keeps working meanwhile (each batch is its own transaction).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from pharmacrm.core import hanzi
from pharmacrm.core.querysets import allow_bulk_writes
from pharmacrm.customers import search

BATCH = 5000


def _rebuild_model(model: Any, texts: Any, index: Any) -> int:
    """Search keys (a derived column) and index rows for every row of ``model``, in id order."""
    last, count = 0, 0
    with transaction.atomic():
        index.rebuild([])
    while True:
        rows = list(model._base_manager.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not rows:
            return count
        pairs, keys = [], {}
        for row in rows:
            names, identifiers = texts(row)
            keys[row.pk] = hanzi.search_key(*names, identifiers=identifiers)
            pairs.append((row.pk, hanzi.index_terms(*names, identifiers=identifiers)))
        with transaction.atomic():
            index.replace(pairs)
            changed = [row for row in rows if row.search_key != keys[row.pk]]
            for row in changed:
                row.search_key = keys[row.pk]
            if changed:
                with allow_bulk_writes():  # search_key is derived from audited columns: not audited itself
                    model._base_manager.bulk_update(changed, ["search_key"], batch_size=1000)
        last, count = rows[-1].pk, count + len(rows)


def rebuild(institution_model: Any, contact_model: Any) -> tuple[int, int]:
    return (_rebuild_model(institution_model, search.institution_texts, search.INSTITUTION_INDEX),
            _rebuild_model(contact_model, search.contact_texts, search.CONTACT_INDEX))


class Command(BaseCommand):
    help = "Recompute search keys and the full-text index of institutions and contacts."

    def handle(self, *args: Any, **options: Any) -> None:
        from pharmacrm.customers.models import Contact, Institution

        started = time.monotonic()
        institutions, contacts = rebuild(Institution, Contact)
        self.stdout.write(f"indexed {institutions} institutions and {contacts} contacts "
                          f"in {time.monotonic() - started:.1f} s")

