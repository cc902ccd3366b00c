"""Monthly purchase totals keep the last purchase as a day of their month instead of a date.

The month is already part of the key: a date repeated it in ten bytes of text a row, where a day takes one,
and the largest of numbers is cheaper to take than the largest of texts — both count when a full refresh
rebuilds tens of millions of rows. ``PurchaseMonth.last_purchased_on`` puts the date back together.

SQLite: the table is WITHOUT ROWID (migration 0004), which Django's schema editor would not keep, so it is
rebuilt here by hand and ``sales.purchases.SQLITE_TABLE`` follows it. PostgreSQL: the column changes type
in place.
"""

from django.db import migrations, models

SQLITE = [
    """CREATE TABLE "sales_purchasemonth__new" (
        "institution_id" bigint NOT NULL REFERENCES "customers_institution" ("id") DEFERRABLE INITIALLY DEFERRED,
        "month" integer unsigned NOT NULL CHECK ("month" >= 0),
        "product_id" bigint NOT NULL REFERENCES "sales_product" ("id") DEFERRABLE INITIALLY DEFERRED,
        "quantity" bigint NOT NULL,
        "amount_fen" bigint NOT NULL,
        "lines" integer unsigned NOT NULL CHECK ("lines" >= 0),
        "last_day" smallint unsigned NOT NULL CHECK ("last_day" >= 0),
        PRIMARY KEY ("institution_id", "month", "product_id")
    ) WITHOUT ROWID""",
    """INSERT INTO "sales_purchasemonth__new" ("institution_id", "month", "product_id", "quantity", "amount_fen",
        "lines", "last_day")
       SELECT "institution_id", "month", "product_id", "quantity", "amount_fen", "lines",
              CAST(substr("last_purchased_on", 9, 2) AS INTEGER)
       FROM "sales_purchasemonth" ORDER BY "institution_id", "month", "product_id"
    """,
    'DROP TABLE "sales_purchasemonth"',
    'ALTER TABLE "sales_purchasemonth__new" RENAME TO "sales_purchasemonth"',
]
POSTGRESQL = [
    'ALTER TABLE "sales_purchasemonth" ALTER COLUMN "last_purchased_on" TYPE smallint '
    'USING EXTRACT(DAY FROM "last_purchased_on")::smallint',
    'ALTER TABLE "sales_purchasemonth" RENAME COLUMN "last_purchased_on" TO "last_day"',
    'ALTER TABLE "sales_purchasemonth" ADD CONSTRAINT "sales_purchasemonth_last_day_check" CHECK ("last_day" >= 0)',
]


def to_day(apps, schema_editor):
    statements = {"sqlite": SQLITE, "postgresql": POSTGRESQL}[schema_editor.connection.vendor]
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ("sales", "0004_purchase_month_key"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(to_day)],
            state_operations=[
                migrations.RemoveField(model_name="purchasemonth", name="last_purchased_on"),
                migrations.AddField(
                    model_name="purchasemonth",
                    name="last_day",
                    field=models.PositiveSmallIntegerField(help_text="Day of the month, 1–31.",
                                                           verbose_name="last purchase day"),
                ),
            ],
        ),
    ]
