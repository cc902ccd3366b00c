"""Full-text side tables for customer search (``customers.search``), filled from existing rows."""

from typing import Any

from django.db import migrations

from pharmacrm.core.search import migration_operations
from pharmacrm.customers.search import CONTACT_INDEX, INSTITUTION_INDEX


def fill(apps: Any, schema_editor: Any) -> None:
    from pharmacrm.customers.management.commands.rebuild_search_index import rebuild

    rebuild(apps.get_model("customers", "Institution"), apps.get_model("customers", "Contact"))


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_master_data")]

    operations = [
        migration_operations(INSTITUTION_INDEX),
        migration_operations(CONTACT_INDEX),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
