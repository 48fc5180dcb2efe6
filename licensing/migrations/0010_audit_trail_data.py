"""The audit trail's data (issue 12): the enterprise events written before the trail had
subjects get theirs, and the rows of the retired django-fsm-log come along. A migration of its own:
PostgreSQL will not build 0009's deferred indexes on a table with updates pending."""

from django.db import migrations, models

# Models whose rows hang off a license (their table has license_id), and the member's enterprise.
CHILDREN_OF_A_LICENSE = ("installment", "paymentreport", "insuranceclaim", "equityconversion")
NOT_AUDITED = ("reminder", "export")  # the ledger and export jobs keep their own timestamps


def legacy_enterprise_events(apps, schema_editor):
    """The enterprise events written before the trail had subjects: the enterprise itself, or the
    member who signed up."""
    AuditEvent = apps.get_model("licensing", "AuditEvent")
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not AuditEvent.objects.exists():
        return
    enterprise, _ = ContentType.objects.get_or_create(app_label="licensing", model="enterprise")
    member, _ = ContentType.objects.get_or_create(app_label="licensing", model="enterprisemember")
    AuditEvent.objects.filter(action="enterprise_changed").update(
        action="changed", content_type=enterprise, object_id=models.F("enterprise_id")
    )
    AuditEvent.objects.filter(action="enterprise_created").update(
        action="created", content_type=enterprise, object_id=models.F("enterprise_id")
    )
    for event in AuditEvent.objects.filter(action="member_signed_up"):
        event.action, event.content_type = "created", member
        event.object_id = (event.changes.get("member") or [None, 0])[1] or 0
        event.changes = {}
        event.save()


def copy_transition_log(apps, schema_editor):
    """Bring the rows django-fsm-log wrote (while it was installed) into the trail, when its table
    is in this database; the table itself is left as it was."""
    connection = schema_editor.connection
    if "django_fsm_log_statelog" not in connection.introspection.table_names():
        return
    ContentType = apps.get_model("contenttypes", "ContentType")
    empty = "CAST('{}' AS jsonb)" if connection.vendor == "postgresql" else "'{}'"
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT content_type_id FROM django_fsm_log_statelog")
        logged = [row[0] for row in cursor.fetchall()]
        for content_type in ContentType.objects.filter(pk__in=logged, app_label="licensing"):
            if content_type.model in NOT_AUDITED:
                continue
            table = apps.get_model("licensing", content_type.model)._meta.db_table
            license_id, enterprise_id = "NULL", "NULL"
            if content_type.model == "license":
                license_id = "t.id"
            elif content_type.model in CHILDREN_OF_A_LICENSE:
                license_id = "t.license_id"
            elif content_type.model == "enterprisemember":
                enterprise_id = "t.enterprise_id"
            cursor.execute(
                "INSERT INTO licensing_auditevent (action, content_type_id, object_id, object_repr, license_id,"
                " enterprise_id, by_id, at, transition, source_state, state, changes, reason)"
                f" SELECT 'transition', s.content_type_id, s.object_id, '', {license_id}, {enterprise_id}, s.by_id,"
                f" s.timestamp, s.transition, COALESCE(s.source_state, ''), s.state, {empty},"
                " COALESCE(s.description, '')"
                f" FROM django_fsm_log_statelog s JOIN {table} t ON t.id = s.object_id"
                " WHERE s.content_type_id = %s ORDER BY s.id",
                [content_type.pk],
            )


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "0009_audit_trail"),
    ]

    operations = [
        migrations.RunPython(legacy_enterprise_events, migrations.RunPython.noop),
        migrations.RunPython(copy_transition_log, migrations.RunPython.noop),
    ]
