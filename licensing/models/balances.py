"""A license's balance, kept on its row by the database: what is outstanding (the open installments'
amount less what is paid) and the next effective due date of an open installment, in the order
payments pay them (`Installment.objects.open()`, `OPEN_Q`; `selectors.balances_out_of_step`
compares the two).

They are columns, not subqueries, so that the admin's license list sorts and pages a book of
millions by an index (issue 25): computed per row they cost four correlated subqueries for every
row a deep page skips. Triggers keep them, in the statement that changes an installment or the
license, whatever wrote it (a service, a bulk update, SQL typed by hand): no code path can forget
them, and no save of a license read earlier can write back a stale balance, because the license's
own trigger recomputes them on every insert and update of its row.

PostgreSQL: a BEFORE trigger on the license sets the two columns; an installment's change touches
its license (`SET id = id`), which fires it. SQLite cannot set NEW in a trigger: an AFTER UPDATE
trigger on the license writes them (SQLite does not fire a trigger from its own update unless
recursive triggers are on, which Django leaves off). The bench book's loader writes the columns
itself with the triggers off (`demo.bulk`), as a restore would.

Around every `migrate` they are taken off and put back (`before_migrate`, `after_migrate`, connected
in apps.py): SQLite remakes a table to alter a column, and a table's triggers neither survive that
nor let SQLite rename the new table.
"""

from django.db.backends.base.base import BaseDatabaseWrapper

# The open installments of one license (`{id}`: the SQL naming its id), as OPEN_Q says.
_OPEN = "FROM licensing_installment i WHERE i.license_id = {id} AND (i.paid_amount < i.amount OR i.report_pending)"
OUTSTANDING_SQL = "SELECT COALESCE(SUM(i.amount - i.paid_amount), 0) " + _OPEN
NEXT_DUE_SQL = "SELECT i.effective_due_date " + _OPEN + " ORDER BY i.effective_due_date, i.kind, i.sequence LIMIT 1"

# Installment columns a balance reads: an update of any other (its state, a reminder's mark) costs nothing.
_READ = "amount, paid_amount, report_pending, effective_due_date, kind, sequence, license_id"

POSTGRESQL = [
    f"""
    CREATE OR REPLACE FUNCTION licensing_license_balance() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.outstanding_amount := ({OUTSTANDING_SQL.format(id="NEW.id")});
        NEW.next_due_date := ({NEXT_DUE_SQL.format(id="NEW.id")});
        RETURN NEW;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION licensing_installment_touches_license() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            UPDATE licensing_license SET id = id WHERE id = OLD.license_id;
        END IF;
        IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.license_id <> OLD.license_id) THEN
            UPDATE licensing_license SET id = id WHERE id = NEW.license_id;
        END IF;
        RETURN NULL;
    END $$
    """,
    "DROP TRIGGER IF EXISTS licensing_license_balance ON licensing_license",
    """CREATE TRIGGER licensing_license_balance BEFORE INSERT OR UPDATE ON licensing_license
       FOR EACH ROW EXECUTE FUNCTION licensing_license_balance()""",
    "DROP TRIGGER IF EXISTS licensing_installment_balance ON licensing_installment",
    f"""CREATE TRIGGER licensing_installment_balance AFTER INSERT OR DELETE OR UPDATE OF {_READ}
       ON licensing_installment FOR EACH ROW EXECUTE FUNCTION licensing_installment_touches_license()""",
]

_SQLITE_SET = (
    "UPDATE licensing_license SET outstanding_amount = ({outstanding}), next_due_date = ({next_due}) WHERE id = {id};"
)


def _sqlite_set(row: str) -> str:
    return _SQLITE_SET.format(outstanding=OUTSTANDING_SQL.format(id=row), next_due=NEXT_DUE_SQL.format(id=row), id=row)


SQLITE = [
    "DROP TRIGGER IF EXISTS licensing_license_balance",
    f"CREATE TRIGGER licensing_license_balance AFTER UPDATE ON licensing_license BEGIN {_sqlite_set('NEW.id')} END",
    "DROP TRIGGER IF EXISTS licensing_installment_balance_insert",
    "CREATE TRIGGER licensing_installment_balance_insert AFTER INSERT ON licensing_installment "
    f"BEGIN {_sqlite_set('NEW.license_id')} END",
    "DROP TRIGGER IF EXISTS licensing_installment_balance_update",
    f"CREATE TRIGGER licensing_installment_balance_update AFTER UPDATE OF {_READ} ON licensing_installment "
    f"BEGIN {_sqlite_set('OLD.license_id')} {_sqlite_set('NEW.license_id')} END",
    "DROP TRIGGER IF EXISTS licensing_installment_balance_delete",
    "CREATE TRIGGER licensing_installment_balance_delete AFTER DELETE ON licensing_installment "
    f"BEGIN {_sqlite_set('OLD.license_id')} END",
]

TRIGGERS = {"postgresql": POSTGRESQL, "sqlite": SQLITE}


def install(connection: BaseDatabaseWrapper, *, fill: bool = True) -> None:
    """Create (or replace) the triggers; with `fill`, bring every license's balance up to date."""
    with connection.cursor() as cursor:
        for statement in TRIGGERS[connection.vendor]:
            cursor.execute(statement)
        if fill:
            cursor.execute("UPDATE licensing_license SET id = id")  # each row's trigger computes its balance


def install_in_migration(connection: BaseDatabaseWrapper) -> None:
    """A migration's step: on PostgreSQL, now; on SQLite after the whole migrate (after_migrate),
    as a later migration of the same run may remake the tables."""
    if connection.vendor == "postgresql":
        install(connection)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER IF EXISTS licensing_license_balance ON licensing_license")
            cursor.execute("DROP TRIGGER IF EXISTS licensing_installment_balance ON licensing_installment")
            cursor.execute("DROP FUNCTION IF EXISTS licensing_license_balance()")
            cursor.execute("DROP FUNCTION IF EXISTS licensing_installment_touches_license()")
        else:
            for name in ("license_balance", "installment_balance_insert", "installment_balance_update"):
                cursor.execute(f"DROP TRIGGER IF EXISTS licensing_{name}")
            cursor.execute("DROP TRIGGER IF EXISTS licensing_installment_balance_delete")


def before_migrate(sender: object, using: str = "default", **kwargs: object) -> None:
    from django.db import connections

    if connections[using].vendor == "sqlite":
        uninstall(connections[using])


def after_migrate(sender: object, using: str = "default", apps: object = None, **kwargs: object) -> None:
    """Put them back, once the columns they keep exist (migration 0046 on). On SQLite the balances
    are filled again too (migrations may have written installments while they were off; a SQLite
    book is small); on PostgreSQL they never were off, and a national book's fill takes minutes."""
    from django.db import connections

    connection = connections[using]
    with connection.cursor() as cursor:
        columns = {c.name for c in connection.introspection.get_table_description(cursor, "licensing_license")}
    if "outstanding_amount" in columns:
        install(connection, fill=connection.vendor == "sqlite")
