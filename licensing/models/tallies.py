"""The dashboard's rollups ("tallies"), kept by PostgreSQL in the statement that changes what they
count (issue 25): counts and sums per figure, licensor, IPC section, one dimension (a state, a size
class, a fee kind) and month, so that the dashboard of a national book sums a few thousand rows
instead of scanning millions. The raw selectors (`selectors/reports.py`) stay the definition; a
tally is a cache of them that no code path can forget, like the kept balances (balances.py).

Each figure is declared once below as a SELECT over its source (`FIGURES`). The same declaration
gives:
- the triggers' step: the contribution of one license (all its figures, its installments' and its
  payments' included) or of one installment or payment, added or taken away;
- the rebuild (`rebuild`, `manage.py rebuild_tallies`): every figure grouped from the raw tables;
- the check (`out_of_step`): the rebuild's rows against the kept ones, run after every test on
  PostgreSQL (tests/conftest.py).

How the triggers count a change: a BEFORE trigger takes away what the changing rows contribute as
they stand, an AFTER trigger adds what they contribute once changed. A row-level BEFORE trigger
sees the table before the change of its own row, an AFTER trigger after the whole statement, so a
statement that changes many rows counts each once. A change to what a license's figures read
elsewhere (its state, for the amounts it owes; its insurance policy's coverage; its enterprise's
size class; its patent's IPC section) re-counts the whole license, at most a few dozen rows.

SQLite (a newcomer's book, small) has no triggers for them: the dashboard reads the raw tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.translation import gettext_lazy as _

from .licenses import License

# A stock (licenses per state) has no month: this one stands for "none".
NO_MONTH = dt.date(1970, 1, 1)


def _sql_list(states: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{state}'" for state in states) + ")"


_OWED_STATES = _sql_list(License.OWED_STATES)
_BOUGHT_STATES = _sql_list(License.BOUGHT_STATES)
_LICENSE = (
    "licensing_license l JOIN licensing_offer o ON o.id = l.offer_id JOIN licensing_patent p ON p.id = o.patent_id"
)


class Tally(models.Model):
    """One row of a figure: what the licenses of one licensor and IPC section count in one
    dimension and month. Written by the database's triggers only (see the module's docstring)."""

    figure = models.CharField(_("figure"), max_length=12)
    institution = models.ForeignKey(
        "licensing.Institution", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    section = models.CharField(_("IPC section"), max_length=1, blank=True)
    dim = models.CharField(_("dimension"), max_length=50, blank=True)
    month = models.DateField(_("month"))
    n = models.BigIntegerField(default=0)
    m = models.BigIntegerField(default=0)
    a = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    b = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    c = models.DecimalField(max_digits=26, decimal_places=6, default=0)

    class Meta:
        verbose_name = _("dashboard tally")
        verbose_name_plural = _("dashboard tallies")
        constraints = [
            models.UniqueConstraint(fields=["figure", "institution", "section", "dim", "month"], name="tally_key")
        ]
        # A range of days or months, of the whole book or of one licensor.
        indexes = [
            models.Index(fields=["figure", "month"], name="tally_by_month"),
            models.Index(fields=["figure", "institution", "month"], name="tally_of_by_month"),
        ]

    def __str__(self) -> str:
        return f"{self.figure} {self.dim} {self.month:%Y-%m}"


@dataclass(frozen=True)
class Figure:
    """One tally: its rows are `source` filtered by `where`, grouped by licensor, IPC section,
    `dim` and the month of the day `on` (a stock has none), summing the measures; a flow is also
    kept per day (`name.d`), for the days of a period that do not fill a month and the weeks
    around today. `row` names the source's own key (a license's, installment's, payment's,
    report's or package patent's id); every source reaches its license as `l`."""

    name: str
    source: str
    where: str
    row: str
    dim: str = "''"
    on: str | None = None
    monthly: bool = True  # False: kept per day only
    n: str = "1"
    m: str = "0"
    a: str = "0"
    b: str = "0"
    c: str = "0"

    def grains(self) -> list[tuple[str, str]]:
        """(the tally's name, its month or day) for each grain it is kept at."""
        if self.on is None:
            return [(self.name, f"DATE '{NO_MONTH.isoformat()}'")]
        months = [(self.name, f"date_trunc('month', {self.on})::date")] if self.monthly else []
        return [*months, (f"{self.name}.d", self.on)]

    def select(self, restrict: str = "TRUE", sign: str = "1", grain: int = 0) -> str:
        name, month = self.grains()[grain]
        return f"""
        SELECT '{name}', l.institution_id, upper(left(p.ipc_class, 1)), {self.dim}, {month},
               {sign} * SUM({self.n}), {sign} * SUM({self.m}), {sign} * COALESCE(SUM({self.a}), 0),
               {sign} * COALESCE(SUM({self.b}), 0), {sign} * COALESCE(SUM({self.c}), 0)
        FROM {self.source} WHERE ({self.where}) AND {restrict}
        GROUP BY 2, 3, 4, 5"""

    def selects(self) -> list[str]:
        return [self.select(grain=grain) for grain in range(len(self.grains()))]

    def upserts(self, restrict: str, sign: str) -> list[str]:
        return [self._upsert(restrict, sign, grain) for grain in range(len(self.grains()))]

    def _upsert(self, restrict: str, sign: str, grain: int) -> str:
        # Ordered by key, so that two transactions meet the rows they share in the same order.
        return f"""
        INSERT INTO licensing_tally (figure, institution_id, section, dim, month, n, m, a, b, c)
        {self.select(restrict, sign, grain)} ORDER BY 2, 3, 4, 5
        ON CONFLICT (figure, institution_id, section, dim, month) DO UPDATE SET
            n = licensing_tally.n + EXCLUDED.n, m = licensing_tally.m + EXCLUDED.m,
            a = licensing_tally.a + EXCLUDED.a, b = licensing_tally.b + EXCLUDED.b,
            c = licensing_tally.c + EXCLUDED.c"""


_INSTALLMENT = f"licensing_installment i JOIN ({_LICENSE}) ON l.id = i.license_id"
_OWED = "i.amount - i.paid_amount"

FIGURES = (
    # Licenses per state (the pipeline).
    Figure("state", _LICENSE, "TRUE", "l.id", dim="l.state"),
    # Trials ended, per size class and month, and how many were bought (conversion).
    Figure(
        "ended",
        f"{_LICENSE} JOIN licensing_enterprise e ON e.id = l.enterprise_id",
        "l.trial_ended_on IS NOT NULL",
        "l.id",
        dim="e.size_class",
        on="l.trial_ended_on",
        m="CASE WHEN l.purchased_on IS NOT NULL THEN 1 ELSE 0 END",
    ),
    # Running trials per day their effective end falls on (the pipeline's trials ending soon):
    # a stock kept by day, read over the next weeks' day rows.
    Figure(
        "ending",
        _LICENSE,
        "l.state = 'trial' AND l.trial_end_effective IS NOT NULL",
        "l.id",
        on="l.trial_end_effective",
        monthly=False,
    ),
    # Purchases per month: how many, how many free, at what price (contracts).
    Figure(
        "bought",
        _LICENSE,
        "l.purchased_on IS NOT NULL",
        "l.id",
        on="l.purchased_on",
        m="CASE WHEN l.price = 0 THEN 1 ELSE 0 END",
        a="l.price",
    ),
    # Trial fees by the trial's first month (contracts).
    Figure("trial_fee", _LICENSE, "l.trial_start IS NOT NULL", "l.id", on="l.trial_start", a="l.trial_fee"),
    # The patents of the packages bought, per patent, and per patent and purchase day: how many
    # patents were licensed (a patent in two licenses counts once: the rows' distinct dims), and in a
    # period (those with a day row in it: one probe of the key's index per patent, not a scan).
    Figure(
        "patents",
        f"licensing_licensepatent lp JOIN ({_LICENSE}) ON l.id = lp.license_id",
        "l.purchased_on IS NOT NULL",
        "lp.id",
        dim="lp.patent_id::text",
    ),
    Figure(
        "patent",
        f"licensing_licensepatent lp JOIN ({_LICENSE}) ON l.id = lp.license_id",
        "l.purchased_on IS NOT NULL",
        "lp.id",
        dim="lp.patent_id::text",
        on="l.purchased_on",
        monthly=False,
    ),
    # Amounts with a known amount, per fee kind and effective due month: due, collected (income by kind).
    Figure(
        "due",
        _INSTALLMENT,
        "NOT i.report_pending",
        "i.id",
        dim="i.kind",
        on="i.effective_due_date",
        a="i.amount",
        b="i.paid_amount",
    ),
    # What is owed, per effective due month: unpaid installments of licenses that still owe, and
    # that amount times the insurance policy's coverage (receivables).
    Figure(
        "owed",
        f"{_INSTALLMENT} LEFT JOIN licensing_insurancepolicy ip ON ip.license_id = l.id",
        f"i.paid_amount < i.amount AND l.state IN {_OWED_STATES}",
        "i.id",
        on="i.effective_due_date",
        a=_OWED,
        c=f"({_OWED}) * ip.coverage_ratio",
    ),
    # Money in and staying in, per month it was paid (collections).
    Figure(
        "paid",
        f"licensing_payment y JOIN ({_LICENSE}) ON l.id = y.license_id",
        "y.state = 'recorded'",
        "y.id",
        on="y.paid_on",
        a="y.amount",
    ),
    # Bought licenses without a contract yet (contract standing: to issue).
    Figure(
        "to_issue",
        f"{_LICENSE} LEFT JOIN licensing_contract ct ON ct.license_id = l.id",
        f"l.state IN {_BOUGHT_STATES} AND ct.id IS NULL",
        "l.id",
    ),
    # Insurance claims per state and filing day: how many, claimed, paid by the insurer (claims).
    Figure(
        "claim",
        f"licensing_insuranceclaim k JOIN ({_LICENSE}) ON l.id = k.license_id",
        "TRUE",
        "k.id",
        dim="k.state",
        on="k.filed_on",
        a="k.claimed_amount",
        b="k.paid_amount",
    ),
    # Equity conversions per state (those pending), and those executed per day (equity).
    Figure(
        "equity",
        f"licensing_equityconversion q JOIN ({_LICENSE}) ON l.id = q.license_id",
        "TRUE",
        "q.id",
        dim="q.state",
    ),
    Figure(
        "executed",
        f"licensing_equityconversion q JOIN ({_LICENSE}) ON l.id = q.license_id",
        "q.state = 'executed'",
        "q.id",
        on="q.executed_on",
        a="q.converted_amount",
    ),
    # Royalty and use reports of licenses that run, per state and due day (royalty reports).
    Figure(
        "report",
        f"licensing_royaltyreport r JOIN ({_LICENSE}) ON l.id = r.license_id",
        f"l.state IN {_BOUGHT_STATES}",
        "r.id",
        dim="r.state",
        on="r.due_date",
    ),
)


def _function(name: str, figures: tuple[Figure, ...], restrict: str) -> str:
    body = ";\n".join(upsert for f in figures for upsert in f.upserts(restrict, "sign"))
    return f"""
    CREATE OR REPLACE FUNCTION {name}(key bigint, sign integer) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        {body};
    END $$"""


# The tables whose rows are a figure's own (besides the license): table, the row's alias.
_ROWS = {
    "installment": "i",
    "payment": "y",
    "royaltyreport": "r",
    "licensepatent": "lp",
    "insuranceclaim": "k",
    "equityconversion": "q",
}

# The columns a figure reads, per table: a change to any other costs nothing.
_READ = {
    "license": (
        "state, trial_ended_on, trial_end_effective, purchased_on, price, trial_fee, trial_start, enterprise_id, "
        "offer_id, institution_id"
    ),
    "installment": "amount, paid_amount, report_pending, effective_due_date, kind, license_id",
    "payment": "state, amount, paid_on, license_id",
    "royaltyreport": "state, due_date, license_id",
    "licensepatent": "patent_id, license_id",
    "insuranceclaim": "state, filed_on, claimed_amount, paid_amount, license_id",
    "equityconversion": "state, executed_on, converted_amount, license_id",
}


def _changed(table: str) -> str:
    return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in _READ[table].split(", "))


def _row_triggers(table: str, apply: str) -> list[str]:
    """BEFORE UPDATE/DELETE: take the row's part away; AFTER INSERT/UPDATE: add it."""
    t = f"licensing_{table}"
    return [
        f"""CREATE OR REPLACE FUNCTION {t}_tally_out() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM {apply}(OLD.id, -1); IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$""",
        f"""CREATE OR REPLACE FUNCTION {t}_tally_in() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM {apply}(NEW.id, 1); RETURN NULL; END $$""",
        f"DROP TRIGGER IF EXISTS {t}_tally_out ON {t}",
        f"DROP TRIGGER IF EXISTS {t}_tally_out_delete ON {t}",
        f"DROP TRIGGER IF EXISTS {t}_tally_in ON {t}",
        f"DROP TRIGGER IF EXISTS {t}_tally_in_insert ON {t}",
        f"""CREATE TRIGGER {t}_tally_out BEFORE UPDATE OF {_READ[table]} ON {t} FOR EACH ROW
            WHEN ({_changed(table)}) EXECUTE FUNCTION {t}_tally_out()""",
        f"CREATE TRIGGER {t}_tally_out_delete BEFORE DELETE ON {t} FOR EACH ROW EXECUTE FUNCTION {t}_tally_out()",
        f"""CREATE TRIGGER {t}_tally_in AFTER UPDATE OF {_READ[table]} ON {t} FOR EACH ROW
            WHEN ({_changed(table)}) EXECUTE FUNCTION {t}_tally_in()""",
        f"CREATE TRIGGER {t}_tally_in_insert AFTER INSERT ON {t} FOR EACH ROW EXECUTE FUNCTION {t}_tally_in()",
    ]


# What a license's figures read in other tables: a change there re-counts the licenses it reaches
# (`licenses`: SQL giving their ids from the changed row `{r}`).
# A policy or a contract is added and removed; the others are only changed (a license PROTECTs them).
_COMES_AND_GOES = ("insurancepolicy", "contract")
_REACHES = {
    "insurancepolicy": ("coverage_ratio, license_id", "SELECT {r}.license_id"),
    "contract": ("license_id", "SELECT {r}.license_id"),
    "enterprise": ("size_class", "SELECT id FROM licensing_license WHERE enterprise_id = {r}.id"),
    "patent": (
        "ipc_class",
        "SELECT l.id FROM licensing_license l JOIN licensing_offer o ON o.id = l.offer_id WHERE o.patent_id = {r}.id",
    ),
    "offer": ("patent_id", "SELECT id FROM licensing_license WHERE offer_id = {r}.id"),
}


def _reaching_triggers(table: str) -> list[str]:
    columns, licenses = _REACHES[table]
    t = f"licensing_{table}"
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns.split(", "))

    def recount(sign: int) -> str:
        of_old, of_new = licenses.format(r="OLD"), licenses.format(r="NEW")
        old = f"IF TG_OP <> 'INSERT' THEN PERFORM licensing_tally_licenses(ARRAY({of_old}), {sign}); END IF;"
        new = f"IF TG_OP <> 'DELETE' THEN PERFORM licensing_tally_licenses(ARRAY({of_new}), {sign}); END IF;"
        # A row that moves between licenses (an update of license_id) re-counts both.
        moved = f"ARRAY({of_old}) IS DISTINCT FROM ARRAY({of_new})"
        return f"{old} IF TG_OP <> 'UPDATE' OR {moved} THEN {new} END IF;"

    statements = [
        f"""CREATE OR REPLACE FUNCTION {t}_tally_out() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {recount(-1)} IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$""",
        f"""CREATE OR REPLACE FUNCTION {t}_tally_in() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {recount(1)} RETURN NULL; END $$""",
        f"DROP TRIGGER IF EXISTS {t}_tally_out ON {t}",
        f"DROP TRIGGER IF EXISTS {t}_tally_out_write ON {t}",
        f"DROP TRIGGER IF EXISTS {t}_tally_in ON {t}",
        f"DROP TRIGGER IF EXISTS {t}_tally_in_write ON {t}",
        f"""CREATE TRIGGER {t}_tally_out BEFORE UPDATE OF {columns} ON {t} FOR EACH ROW
            WHEN ({changed}) EXECUTE FUNCTION {t}_tally_out()""",
        f"""CREATE TRIGGER {t}_tally_in AFTER UPDATE OF {columns} ON {t} FOR EACH ROW
            WHEN ({changed}) EXECUTE FUNCTION {t}_tally_in()""",
    ]
    if table in _COMES_AND_GOES:
        statements += [
            f"""CREATE TRIGGER {t}_tally_out_write BEFORE INSERT OR DELETE ON {t} FOR EACH ROW
                EXECUTE FUNCTION {t}_tally_out()""",
            f"""CREATE TRIGGER {t}_tally_in_write AFTER INSERT OR DELETE ON {t} FOR EACH ROW
                EXECUTE FUNCTION {t}_tally_in()""",
        ]
    return statements


POSTGRESQL = [
    _function("licensing_tally_license", FIGURES, "l.id = key"),
    *(
        _function(f"licensing_tally_{table}", tuple(f for f in FIGURES if f.row == f"{alias}.id"), f"{alias}.id = key")
        for table, alias in _ROWS.items()
    ),
    """CREATE OR REPLACE FUNCTION licensing_tally_licenses(ids bigint[], sign integer) RETURNS void
       LANGUAGE plpgsql AS $$
       DECLARE one bigint;
       BEGIN FOREACH one IN ARRAY ids LOOP PERFORM licensing_tally_license(one, sign); END LOOP; END $$""",
    *_row_triggers("license", "licensing_tally_license"),
    *(statement for table in _ROWS for statement in _row_triggers(table, f"licensing_tally_{table}")),
    *(statement for table in _REACHES for statement in _reaching_triggers(table)),
]

_TABLES = ("license", *_ROWS, *_REACHES)
_TRIGGERS = ("tally_out", "tally_out_delete", "tally_in", "tally_in_insert", "tally_out_write", "tally_in_write")


def in_use(connection: BaseDatabaseWrapper) -> bool:
    return connection.vendor == "postgresql"


def install(connection: BaseDatabaseWrapper, *, fill: bool = True) -> None:
    """Create (or replace) the triggers; with `fill`, recount every tally from the raw tables."""
    if not in_use(connection):
        return
    with connection.cursor() as cursor:
        for statement in POSTGRESQL:
            cursor.execute(statement)
    if fill:
        rebuild(connection)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    if not in_use(connection):
        return
    with connection.cursor() as cursor:
        for table in _TABLES:
            t = f"licensing_{table}"
            for trigger in _TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {t}_{trigger} ON {t}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {t}_tally_out(), {t}_tally_in()")
        for table in ("license", *_ROWS):
            cursor.execute(f"DROP FUNCTION IF EXISTS licensing_tally_{table}(bigint, integer)")
        cursor.execute("DROP FUNCTION IF EXISTS licensing_tally_licenses(bigint[], integer)")


def rebuild(connection: BaseDatabaseWrapper) -> int:
    """Recount every tally from the raw tables, in one transaction: what `rebuild_tallies` runs,
    and the bulk loader after writing with the triggers off. Returns the rows written."""
    if not in_use(connection):
        return 0
    insert = "INSERT INTO licensing_tally (figure, institution_id, section, dim, month, n, m, a, b, c)"
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        # A national book's rebuild takes minutes: no web request's time limit, room to group in memory.
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("DELETE FROM licensing_tally")
        written = 0
        for figure in FIGURES:
            grains = figure.grains()
            cursor.execute(insert + figure.select(grain=len(grains) - 1))  # the finest: its days, or the stock
            written += cursor.rowcount
            if len(grains) == 2:  # its months, summed from its days rather than from the book again
                (month_figure, _month), (day_figure, _day) = grains
                cursor.execute(
                    f"""{insert} SELECT %s, institution_id, section, dim, date_trunc('month', month)::date,
                               SUM(n), SUM(m), SUM(a), SUM(b), SUM(c)
                        FROM licensing_tally WHERE figure = %s GROUP BY 2, 3, 4, 5""",
                    [month_figure, day_figure],
                )
                written += cursor.rowcount
        cursor.execute("ANALYZE licensing_tally")  # the planner's statistics of the new rows
    return written


_ZERO = "n = 0 AND m = 0 AND a = 0 AND b = 0 AND c = 0"


def out_of_step(connection: BaseDatabaseWrapper) -> list[tuple]:
    """Rows where a kept tally differs from what the raw tables give (a row counted to nothing is
    the same as no row): (figure, licensor, section, dim, month, kept measures, computed measures)."""
    computed = " UNION ALL ".join(f"({select})" for figure in FIGURES for select in figure.selects())
    sql = f"""
        WITH computed (figure, institution_id, section, dim, month, n, m, a, b, c) AS ({computed}),
             kept AS (SELECT figure, institution_id, section, dim, month, n, m, a, b, c
                      FROM licensing_tally WHERE NOT ({_ZERO}))
        SELECT COALESCE(k.figure, c.figure), COALESCE(k.institution_id, c.institution_id),
               COALESCE(k.section, c.section), COALESCE(k.dim, c.dim), COALESCE(k.month, c.month),
               k.n, k.m, k.a, k.b, k.c, c.n, c.m, c.a, c.b, c.c
        FROM kept k FULL OUTER JOIN computed c
             ON (k.figure, k.institution_id, k.section, k.dim, k.month)
              = (c.figure, c.institution_id, c.section, c.dim, c.month)
        WHERE k.n IS DISTINCT FROM c.n OR k.m IS DISTINCT FROM c.m
           OR k.a IS DISTINCT FROM c.a OR k.b IS DISTINCT FROM c.b OR k.c IS DISTINCT FROM c.c
        ORDER BY 1, 2, 3, 4, 5"""
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())
