from django.db import migrations

from licensing.models import tallies


def install(apps, schema_editor):
    """Running trials tallied by the day they end (the pipeline's trials ending soon): the triggers
    again, now watching a license's trial end too, and every tally counted from the raw tables
    (PostgreSQL only)."""
    tallies.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "0055_reminder_ledger_unconstrained"),
    ]

    operations = [
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
