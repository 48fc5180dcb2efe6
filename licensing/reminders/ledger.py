"""The reminder ledger: every notice a row with a unique key (what, which object, which offset),
claimed before anything is sent, so each notice goes out once however often the sweep runs."""

from django.contrib.contenttypes.models import ContentType
from django.db import connections
from django.db.models import BigIntegerField, DateTimeField, F, QuerySet, Subquery, Value
from django.db.models.functions import Cast

from ..domain import clock
from ..models import Reminder


def claim_reminders(
    due: QuerySet,
    kind: str,
    model_name: str,
    *,
    license: str,
    installment: str | None,
    deadline: str,
    after=False,
    owner: str = "",
) -> int:
    """Claim the notices for the rows of `due` (annotated with `due_offset`, NULL where no notice
    is due) in one INSERT … SELECT. A key claimed already, by an earlier sweep or a parallel one,
    is skipped by the unique constraint (ON CONFLICT DO NOTHING). Returns how many were new."""
    now = clock.now()
    offset = F("due_offset")
    # The subject's content type in the statement itself: no lookup, whatever is cached.
    subject_type = ContentType.objects.filter(app_label=due.model._meta.app_label, model=model_name)
    # The institution the notice is of: the license's owner, unless the row reaches it another way.
    owner = owner or ("institution_id" if license == "pk" else "license__institution_id")
    columns = {
        "key": Reminder.key_expression(kind, model_name, F("pk"), offset),
        "kind": Value(kind),
        "institution_id": F(owner),
        "license_id": F(license),
        "subject_type_id": Subquery(subject_type.values("pk")[:1]),
        "subject_id": F("pk"),
        "installment_id": Cast(F(installment) if installment else Value(None), BigIntegerField()),
        "offset_days": -offset if after else offset,
        "deadline": F(deadline),
        "state": Value(Reminder.State.PENDING),
        "created_at": Value(now, DateTimeField()),
        "next_attempt_at": Value(now, DateTimeField()),
        "attempts": Value(0),
        "last_error": Value(""),
        "recipients": Value(""),
    }
    # Annotation names may not shadow the model's fields, hence the prefix.
    select = due.filter(due_offset__isnull=False).order_by().annotate(**{f"r_{c}": e for c, e in columns.items()})
    sql, params = select.values(*(f"r_{c}" for c in columns)).query.get_compiler(using=due.db).as_sql()
    quote = connections[due.db].ops.quote_name
    # WHERE true: SQLite needs it to read ON CONFLICT as the upsert clause, not as part of a join.
    statement = (
        f"INSERT INTO {quote(Reminder._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"SELECT {', '.join(f'r_{c}' for c in columns)} FROM ({sql}) AS due WHERE true "
        f"ON CONFLICT ({quote('key')}) DO NOTHING"
    )
    with connections[due.db].cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount
