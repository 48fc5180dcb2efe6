from django.db import migrations

from licensing.models import tallies


def install(apps, schema_editor):
    """Claims, equity conversions and licenses awaiting a contract tallied: the triggers again, and every tally counted from the
    raw tables (PostgreSQL only)."""
    tallies.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "0053_tally_days"),
    ]

    operations = [
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
