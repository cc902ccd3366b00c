"""Database guard: audit entries can be inserted, never updated or deleted (RELIABILITY.md #3)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from pharmacrm.core.dbguards import install_audit_guard

    install_audit_guard(schema_editor.connection)


def backwards(apps, schema_editor):
    from pharmacrm.core.dbguards import remove_audit_guard

    remove_audit_guard(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
