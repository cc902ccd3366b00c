"""Monthly purchase totals are keyed by (terminal, month, product) itself, with no surrogate id.

On SQLite the table becomes WITHOUT ROWID: one B-tree ordered by the key instead of a rowid table plus a
unique index, so rebuilding all totals writes about half as much. Django's schema editor would remake a
table without that clause, so the database side is written here by hand; a later migration that alters
this table on SQLite must keep it, and ``sales.purchases.SQLITE_TABLE`` (the refresh builds a fresh copy
from it) must follow. On PostgreSQL the unique constraint becomes the primary key.
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
        "last_purchased_on" date NOT NULL,
        PRIMARY KEY ("institution_id", "month", "product_id")
    ) WITHOUT ROWID""",
    """INSERT INTO "sales_purchasemonth__new" ("institution_id", "month", "product_id", "quantity", "amount_fen",
        "lines", "last_purchased_on")
       SELECT "institution_id", "month", "product_id", "quantity", "amount_fen", "lines", "last_purchased_on"
       FROM "sales_purchasemonth" ORDER BY "institution_id", "month", "product_id"
    """,
    'DROP TABLE "sales_purchasemonth"',
    'ALTER TABLE "sales_purchasemonth__new" RENAME TO "sales_purchasemonth"',
]
POSTGRESQL = [
    'ALTER TABLE "sales_purchasemonth" DROP CONSTRAINT "purchase_month_unique"',
    'ALTER TABLE "sales_purchasemonth" DROP COLUMN "id"',
    'ALTER TABLE "sales_purchasemonth" ADD PRIMARY KEY ("institution_id", "month", "product_id")',
]


def rekey(apps, schema_editor):
    statements = {"sqlite": SQLITE, "postgresql": POSTGRESQL}[schema_editor.connection.vendor]
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ("sales", "0003_purchases"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(rekey)],
            state_operations=[
                migrations.RemoveConstraint(model_name="purchasemonth", name="purchase_month_unique"),
                migrations.RemoveField(model_name="purchasemonth", name="id"),
                migrations.AddField(
                    model_name="purchasemonth",
                    name="pk",
                    field=models.CompositePrimaryKey("institution", "month", "product", blank=True, editable=False,
                                                     primary_key=True, serialize=False),
                ),
            ],
        ),
    ]
