"""Sweep benchmark: one full sweep over a large book against the one hand-written SQL query that
selects the same due rows. Prints figures; asserts nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tto_bench .venv/bin/python bench/sweep_bench.py --licenses 100000

It generates the book when the database holds fewer licenses than asked (seed_demo --licenses),
runs one catch-up sweep so that the book is in its steady state, then times three sweeps:

- a day's first sweep after yesterday's ran (the steady state: it reads the rows whose deadline
  meets an offset today, and those of the licenses changed since yesterday's first sweep);
- a day's first sweep with nothing claimed in the windows (after an outage of a month, or on a
  new book: it writes every notice due in them, tens of thousands at 1,000,000 licenses);
- the day's later, hourly sweeps (they claim only for the licenses changed since the first).
"""

import argparse
import datetime as dt

from common import ensure_book, median, timed
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from licensing.domain import clock
from licensing.models import Installment, License, Reminder, SweepMark
from licensing.reminders import sweep

# The same rows the sweep selects, in one statement: trials to expire, installments to mark
# overdue, licenses past their grace days, trials ending within 30 days, installments due within
# 14 days and installments overdue by at most 30 days. An installment is open while money is
# unpaid or its period's royalty report is still to come (Installment.is_open), so report
# deadlines are among these rows. Each range reads the expression index the sweep reads (a date
# only where the row counts: licensing/models/licenses.py), so it costs what it returns.
OPEN = "(i.paid_amount < i.amount OR i.report_pending)"
OPEN_DUE_ON = f"CASE WHEN {OPEN} THEN i.effective_due_date END"
PAYABLE = "l.state IN ('trial', 'purchased', 'in_arrears')"
DUE_ROWS_SQL = f"""
SELECT 'expire', id FROM licensing_license
    WHERE CASE WHEN state = 'trial' THEN trial_end_effective END < %(today)s
UNION ALL
SELECT DISTINCT 'overdue', i.license_id FROM licensing_installment i JOIN licensing_license l ON l.id = i.license_id
    WHERE CASE WHEN i.state = 'due' THEN i.effective_due_date END < %(today)s AND {OPEN} AND {PAYABLE}
UNION ALL
SELECT 'default', l.id FROM licensing_license l
    JOIN licensing_installment i ON i.license_id = l.id
    WHERE l.state = 'in_arrears' AND {OPEN} AND i.effective_due_date < %(today)s
    GROUP BY l.id, l.grace_days
    HAVING min(i.effective_due_date) < %(today)s - l.grace_days
UNION ALL
SELECT 'trial_ending', id FROM licensing_license
    WHERE state = 'trial' AND trial_end_effective BETWEEN %(today)s AND %(today)s + 30
UNION ALL
SELECT 'installment_due', i.id FROM licensing_installment i JOIN licensing_license l ON l.id = i.license_id
    WHERE {OPEN_DUE_ON} BETWEEN %(today)s AND %(today)s + 14 AND {PAYABLE}
UNION ALL
SELECT 'overdue_notice', i.id FROM licensing_installment i JOIN licensing_license l ON l.id = i.license_id
    WHERE {OPEN_DUE_ON} BETWEEN %(today)s - 30 AND %(today)s - 1 AND {PAYABLE}
UNION ALL
SELECT 'use_report', r.id FROM licensing_royaltyreport r JOIN licensing_license l ON l.id = r.license_id
    WHERE r.installment_id IS NULL AND r.state IN ('expected', 'disputed')
        AND l.state IN ('purchased', 'in_arrears', 'paid_up') AND r.due_date BETWEEN %(today)s - 30 AND %(today)s + 14
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--licenses", type=int, default=100_000)
    args = parser.parse_args()
    print(ensure_book(args.licenses))
    today = timezone.localdate()
    Reminder.objects.filter(created_at__date=today).delete()  # an earlier run's today, if any
    SweepMark.forget()
    before = Reminder.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    figures: dict[str, list] = {}

    def forget_since(last_id: int) -> None:
        """The notices claimed after `last_id` unclaimed, and today's mark with them."""
        Reminder.objects.filter(pk__gt=last_id).delete()
        SweepMark.objects.filter(day=today).delete()
        with connection.cursor() as cursor:  # a ledger only grows: no dead rows from the deletes above
            cursor.execute("VACUUM licensing_reminder")

    def time_day(first_label: str, last_id: int) -> None:
        """The day's first sweep, then an hourly one, 5 times (median), from the same ledger."""
        for _ in range(5):
            forget_since(last_id)  # the day starts again
            for label in (first_label, "hourly"):
                with CaptureQueriesContext(connection) as queries:
                    stats, seconds = timed(lambda: sweep.run_sweep(today))
                figures.setdefault(label, []).append((seconds[0], len(queries), stats))

    _, catch_up = timed(lambda: sweep.run_sweep(today))
    print(f"Catch-up sweep (first run on this book): {catch_up[0]:.2f} s")
    SweepMark.forget()  # no mark of yesterday either: the day's first claim is complete
    time_day("first of the day, nothing claimed in its windows", before)
    # Yesterday's notices claimed as yesterday's sweep would have: today's first sweep then writes
    # what came due today.
    forget_since(before)
    yesterday = today - dt.timedelta(days=1)
    with clock.as_of(yesterday):
        sweep.claim_due_reminders(yesterday)  # complete, and marks yesterday
    time_day(
        "first of the day, after yesterday's", Reminder.objects.order_by("-pk").values_list("pk", flat=True).first()
    )
    with connection.cursor() as cursor:

        def raw():
            cursor.execute(DUE_ROWS_SQL, {"today": today})
            return cursor.fetchall()

        rows, sql_times = timed(raw, repeat=5)
    sql_s = median(sql_times)
    print(f"SQL selecting the due rows: {sql_s * 1000:.0f} ms (median of 5), {len(rows)} rows")
    periods = Installment.objects.filter(kind=Installment.Kind.ROYALTY)
    print(
        f"Book: {License.objects.filter(price=0, royalty_base='').count()} free, "
        f"{License.objects.exclude(royalty_base='').count()} royalty licenses; {periods.count()} royalty periods, "
        f"{periods.filter(report_pending=True).count()} with the report to come"
    )
    for label, runs in figures.items():
        sweep_s = median([seconds for seconds, _, _ in runs])
        _, n_queries, stats = runs[-1]
        print(
            f"Sweep, {label}: {sweep_s * 1000:.0f} ms (median of 5), {n_queries} queries, "
            f"ratio to SQL {sweep_s / sql_s:.2f}; {stats}"
        )


if __name__ == "__main__":
    main()
