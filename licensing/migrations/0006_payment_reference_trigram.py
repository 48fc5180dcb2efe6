"""A trigram index on the payments' bank reference, so that the admin's substring search on it
reads the index instead of every payment. PostgreSQL only (pg_trgm, a trusted extension that the
database owner may create); on SQLite there is nothing to do."""

from django.db import migrations

INDEX = "payment_reference_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        # The expression Django's icontains compares: UPPER("reference"::text) LIKE UPPER(%s).
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON licensing_payment USING gin (UPPER(reference::text) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("licensing", "0005_admin_lists_newest_first")]

    operations = [migrations.RunPython(create, drop)]
