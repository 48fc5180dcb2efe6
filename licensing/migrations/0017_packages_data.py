"""Packages (issue 13): every offer's package starts as its one patent, and every license covers
the patent of the offer it was applied on. One INSERT ... SELECT each, whatever the book's size."""

from django.db import migrations


def forward(apps, schema_editor):
    tables = {
        name: apps.get_model("licensing", name)._meta.db_table
        for name in ("Offer", "OfferPatent", "License", "LicensePatent")
    }
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {tables['OfferPatent']} (offer_id, patent_id) SELECT id, patent_id FROM {tables['Offer']}"
        )
        cursor.execute(
            f"INSERT INTO {tables['LicensePatent']} (license_id, patent_id) "
            f"SELECT l.id, o.patent_id FROM {tables['License']} l JOIN {tables['Offer']} o ON o.id = l.offer_id"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "0016_packages"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
