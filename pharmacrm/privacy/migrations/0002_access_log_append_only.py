from django.db import migrations


def install(apps, schema_editor):
    from pharmacrm.core.dbguards import install_pi_access_guard

    install_pi_access_guard(schema_editor.connection)


def remove(apps, schema_editor):
    from pharmacrm.core.dbguards import remove_pi_access_guard

    remove_pi_access_guard(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("privacy", "0001_personal_data_protection")]

    operations = [migrations.RunPython(install, remove)]
