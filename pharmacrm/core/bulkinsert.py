"""Fast multi-row INSERT for the audited bulk paths (imports, seeding, the audit trail itself).

Django's ``bulk_create`` prepares every value through the SQL compiler and, to
learn the new primary keys, sends one ``INSERT … RETURNING`` per few hundred
rows; at import sizes that costs more than validating the rows. Here the keys
are reserved first (the SQLite write lock or a PostgreSQL sequence makes them
ours), values that are already what the driver wants pass through untouched, and
the rows go to the database in one ``executemany``.

Only audited paths call this: ``core.audit``'s bulk helpers, and an import's tag links, whose
audit lines are written by the same import.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import connection, models
from django.utils import timezone

M = TypeVar("M", bound=models.Model)

#: Django's own field classes whose database value is the Python value itself when it has one of
#: these types (subclasses may normalise in ``get_prep_value``, so they take the long way)
_TEXT = (str, type(None))
_WHOLE = (int, type(None))
_PLAIN: dict[type[models.Field], tuple[type, ...]] = {
    **dict.fromkeys((models.CharField, models.EmailField, models.SlugField, models.TextField, models.URLField), _TEXT),
    **dict.fromkeys((models.AutoField, models.BigAutoField, models.SmallAutoField, models.BigIntegerField,
                     models.IntegerField, models.PositiveBigIntegerField, models.PositiveIntegerField,
                     models.PositiveSmallIntegerField, models.SmallIntegerField), _WHOLE),
    models.BooleanField: (bool, type(None)),
    # NULL is NULL
    **dict.fromkeys((models.DateField, models.DateTimeField, models.DecimalField, models.DurationField,
                     models.GenericIPAddressField, models.JSONField, models.TimeField), (type(None),)),
}


def _plain(field: models.Field) -> tuple[type, ...]:
    if isinstance(field, models.ForeignKey):
        return _plain(field.target_field)
    return _PLAIN.get(type(field), ())


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` primary keys nobody else will use (call inside the writing transaction)."""
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [connection.ops.quote_name(table), column, count])
            return [row[0] for row in cursor.fetchall()]
        # SQLite: the IMMEDIATE transaction holds the write lock; AUTOINCREMENT never reuses a key,
        # so start above both the highest key in use and the highest ever handed out.
        quoted, key = connection.ops.quote_name(table), connection.ops.quote_name(column)
        cursor.execute("SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "  # noqa: S608
                       f"COALESCE((SELECT max({key}) FROM {quoted}), 0))", [table])  # names from the model, quoted
        start = cursor.fetchone()[0]
    return list(range(start + 1, start + count + 1))


def insert(model: type[M], objs: list[M]) -> list[M]:
    """INSERT ``objs`` with new primary keys set on them; no signals, no ``save()``."""
    if not objs:
        return objs
    meta = model._meta
    if not connection.in_atomic_block:
        raise RuntimeError("insert() must run inside a transaction")
    if isinstance(meta.pk, models.AutoField):
        for obj, pk in zip(objs, reserve_ids(model, len(objs)), strict=True):
            setattr(obj, meta.pk.attname, pk)
    elif any(obj.pk is None for obj in objs):
        raise ValueError(f"{model.__name__} has no generated key: set each row's key before inserting it")
    fields = list(meta.concrete_fields)
    # auto_now(_add) columns take one "now" for the whole statement (one transaction: one time)
    stamped = [field for field in fields if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)]
    now = timezone.now()
    stamp = {field.attname: field.get_db_prep_save(now, connection) for field in stamped}
    other_pre_save = [field for field in fields
                      if field not in stamped and type(field).pre_save is not models.Field.pre_save]
    plan = [(field.attname, _plain(field), field) for field in fields]
    rows = []
    for obj in objs:
        for field in stamped:
            setattr(obj, field.attname, now)
        for field in other_pre_save:
            setattr(obj, field.attname, field.pre_save(obj, add=True))
        row = []
        for attname, plain, field in plan:
            if attname in stamp:
                row.append(stamp[attname])
                continue
            value = getattr(obj, attname)
            if type(value) not in plain:
                value = field.get_db_prep_save(value, connection)
            row.append(value)
        rows.append(row)
        obj._state.adding = False
        obj._state.db = connection.alias
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608  (names from the model, quoted; values bound)
        quote(meta.db_table), ", ".join(quote(field.column) for field in fields), ", ".join(["%s"] * len(fields)))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            cursor.executemany(sql, rows[start:start + 5000])
    return objs
