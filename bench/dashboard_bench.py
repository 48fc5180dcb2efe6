"""Dashboard benchmark: the whole page (Django test client: middleware, ORM, template) against the
same figures as hand-written SQL GROUP BY statements run back to back. Prints figures only.

    make bench   # or, for one size:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tto_bench_100k \
        .venv/bin/python bench/dashboard_bench.py --licenses 100000

The book is generated first when the database holds fewer licenses than asked.
"""

import argparse

from common import RUNS, ensure_book, logged_in, median, ms, page, timed
from django.db import connection
from django.utils import timezone

from licensing.models import Institution

# The dashboard's twelve figure groups for the whole book, as one would write them by hand.
OWED = "('trial', 'purchased', 'in_arrears', 'defaulted', 'claim_filed')"
FIGURES_SQL = [
    """SELECT state, count(*), count(*) FILTER (WHERE state = 'trial'
           AND trial_end_effective BETWEEN %(today)s AND %(today)s + 30)
       FROM licensing_license GROUP BY state""",
    f"""SELECT sum(i.amount - i.paid_amount),
           count(*) FILTER (WHERE i.effective_due_date BETWEEN %(today)s AND %(today)s + 30),
           sum(i.amount - i.paid_amount) FILTER (WHERE i.effective_due_date BETWEEN %(today)s AND %(today)s + 30),
           sum((i.amount - i.paid_amount) * p.coverage_ratio),
           count(*) FILTER (WHERE i.effective_due_date BETWEEN %(today)s - 30 AND %(today)s - 1),
           sum(i.amount - i.paid_amount) FILTER (WHERE i.effective_due_date BETWEEN %(today)s - 30 AND %(today)s - 1),
           count(*) FILTER (WHERE i.effective_due_date BETWEEN %(today)s - 90 AND %(today)s - 31),
           sum(i.amount - i.paid_amount) FILTER (WHERE i.effective_due_date BETWEEN %(today)s - 90 AND %(today)s - 31),
           count(*) FILTER (WHERE i.effective_due_date <= %(today)s - 91),
           sum(i.amount - i.paid_amount) FILTER (WHERE i.effective_due_date <= %(today)s - 91)
       FROM licensing_installment i JOIN licensing_license l ON l.id = i.license_id
       LEFT JOIN licensing_insurancepolicy p ON p.license_id = l.id
       WHERE i.paid_amount < i.amount AND l.state IN {OWED}""",
    """SELECT e.size_class, count(*), count(*) FILTER (WHERE l.purchased_on IS NOT NULL)
       FROM licensing_license l JOIN licensing_enterprise e ON e.id = l.enterprise_id
       WHERE l.trial_ended_on IS NOT NULL GROUP BY 1 ORDER BY 1""",
    """SELECT n.name, count(*), count(*) FILTER (WHERE l.purchased_on IS NOT NULL)
       FROM licensing_license l JOIN licensing_offer o ON o.id = l.offer_id
       JOIN licensing_patent p ON p.id = o.patent_id JOIN licensing_institution n ON n.id = p.owner_id
       WHERE l.trial_ended_on IS NOT NULL GROUP BY 1 ORDER BY 1""",
    """SELECT upper(substring(p.ipc_class, 1, 1)), count(*), count(*) FILTER (WHERE l.purchased_on IS NOT NULL)
       FROM licensing_license l JOIN licensing_offer o ON o.id = l.offer_id
       JOIN licensing_patent p ON p.id = o.patent_id
       WHERE l.trial_ended_on IS NOT NULL GROUP BY 1 ORDER BY 1""",
    """SELECT extract(year FROM trial_ended_on), count(*), count(*) FILTER (WHERE purchased_on IS NOT NULL)
       FROM licensing_license WHERE trial_ended_on IS NOT NULL GROUP BY 1 ORDER BY 1""",
    """SELECT count(*) FILTER (WHERE purchased_on IS NOT NULL), sum(price) FILTER (WHERE purchased_on IS NOT NULL),
           sum(trial_fee) FILTER (WHERE trial_start IS NOT NULL)
       FROM licensing_license""",
    """SELECT date_trunc('month', paid_on), count(*), sum(amount) FROM licensing_payment GROUP BY 1 ORDER BY 1""",
    """SELECT count(*), sum(claimed_amount), count(*) FILTER (WHERE state IN ('filed', 'approved')),
           count(*) FILTER (WHERE state = 'paid'), sum(paid_amount) FILTER (WHERE state = 'paid'),
           count(*) FILTER (WHERE state = 'rejected')
       FROM licensing_insuranceclaim""",
    """SELECT count(*) FILTER (WHERE state = 'executed'), sum(converted_amount) FILTER (WHERE state = 'executed'),
           count(*) FILTER (WHERE state IN ('proposed', 'approved'))
       FROM licensing_equityconversion""",
    # Income by fee kind (issue 14): what fell due by today, was collected and is owed, per kind.
    """SELECT kind, count(*), sum(amount), sum(paid_amount), sum(amount - paid_amount)
       FROM licensing_installment WHERE NOT report_pending AND effective_due_date <= CURRENT_DATE GROUP BY 1""",
    # Royalty and use reports of running licenses: due soon, late, filed, disputed.
    """SELECT count(*) FILTER (WHERE r.state IN ('expected', 'disputed')
               AND r.due_date BETWEEN %(today)s AND %(today)s + 30),
           count(*) FILTER (WHERE r.state IN ('expected', 'disputed') AND r.due_date < %(today)s),
           count(*) FILTER (WHERE r.state = 'filed'), count(*) FILTER (WHERE r.state = 'disputed')
       FROM licensing_royaltyreport r JOIN licensing_license l ON l.id = r.license_id
       WHERE l.state IN ('purchased', 'in_arrears', 'paid_up')""",
]


def raw_sql() -> float:
    today = timezone.localdate()
    with connection.cursor() as cursor:

        def all_figures():
            for sql in FIGURES_SQL:
                cursor.execute(sql, {"today": today})
                cursor.fetchall()

        all_figures()  # warm-up, as for the page
        _, times = timed(all_figures, repeat=RUNS)
    return median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--licenses", type=int, default=100_000)
    args = parser.parse_args()
    print(ensure_book(args.licenses))

    sql_s = raw_sql()
    print(f"Hand-written SQL, the same {len(FIGURES_SQL)} figure groups: {ms(sql_s)} (median of {RUNS})")
    institution = Institution.objects.get(name="Bench University 0")
    for label, client, path in [
        ("superuser, whole book", logged_in("bench-admin"), "/admin/dashboard/"),
        ("staff of 1 of 5 institutions", logged_in("bench-staff", institution=institution), "/admin/dashboard/"),
        (
            "superuser, IPC section G, 2025",
            logged_in("bench-admin"),
            "/admin/dashboard/?ipc_section=G&date_from=2025-01-01&date_to=2025-12-31",
        ),
    ]:
        seconds, queries = page(client, path)
        ratio = f", {seconds / sql_s:.2f}x the SQL" if path == "/admin/dashboard/" and "superuser" in label else ""
        print(f"Dashboard page, {label}: {ms(seconds)} (median of {RUNS}), {queries} queries{ratio}")


if __name__ == "__main__":
    main()
