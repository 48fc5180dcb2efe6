"""The audit trail's subject is required, and its three readers have their indexes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "0010_audit_trail_data"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="content_type",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="contenttypes.contenttype"
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="object_id",
            field=models.PositiveBigIntegerField(verbose_name="object id"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["content_type", "object_id", "-at"], name="audit_subject_newest_first"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["license", "-at"], name="audit_license_newest_first"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["enterprise", "-at"], name="audit_enterprise_newest_first"),
        ),
    ]
