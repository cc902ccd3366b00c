"""PostgreSQL: UPDATE, DELETE and TRUNCATE on the audit trail revoked from PUBLIC (RELIABILITY check 3); the app's
own role is granted SELECT and INSERT only by core.dbguards.grant_app_role."""

from django.db import migrations


def forwards(apps, schema_editor):
    from pharmacrm.core.dbguards import revoke_audit_changes

    revoke_audit_changes(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("core", "0004_saved_filters_and_imports")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
