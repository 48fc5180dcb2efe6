"""Admin lists benchmark: every list in the TTO admin, and the searches staff run, on the book of
the size asked for (Django test client, one request at a time: the time a page takes, without
queueing). For a superuser and for staff of one of five institutions. Prints figures; run it
on two book sizes to see which pages grow with the book. Exits 1 when a list or search takes
longer than its budget (BUDGET_MS, the median; a query cut off by the web requests' statement
timeout counts as over budget).

    make bench   # or, for one size:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tto_bench_100k \\
        .venv/bin/python bench/admin_bench.py --licenses 100000
"""

import argparse
import logging
import sys
from urllib.parse import urlencode

from common import RUNS, ensure_book, logged_in, ms, page
from django.contrib import admin
from django.urls import reverse
from django.utils import translation

from licensing.models import Institution, License, Payment

# The longest a list or search may take (median, ms): a staff member waits this at most.
BUDGET_MS = 500  # issue 25: a national book's lists as fast as a small one's


def timed_page(client, path):
    """page(), or an infinite time for a page that failed (a query cut off by the timeout: 503)."""
    try:
        return page(client, path)
    except AssertionError:
        return float("inf"), 0


def changelist(model, **query) -> str:
    path = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return f"{path}?{urlencode(query)}" if query else path


def searches() -> list[tuple[str, str]]:
    """Searches as staff type them, with terms taken from the book."""
    lic = License.objects.select_related("offer__patent", "enterprise").order_by("pk").last()
    payment = Payment.objects.order_by("pk").last()
    name = lic.enterprise.name  # "Bench SME <run>-<n>": two of its three words are in every name
    return [
        ("licenses: enterprise name, 3 words", changelist(License, q=name)),
        ("licenses: its distinctive word", changelist(License, q=name.split()[-1])),
        ("licenses: patent number", changelist(License, q=lic.offer.patent.number)),
        ("licenses: no match", changelist(License, q="no-such-thing")),
        ("payments: bank reference", changelist(Payment, q=payment.reference)),
        ("payments: enterprise name, 3 words", changelist(Payment, q=name)),
        ("payments: its distinctive word", changelist(Payment, q=name.split()[-1])),
        ("payments: 2 words in every name", changelist(Payment, q=" ".join(name.split()[:2]))),
        ("licenses: 2 words in every name", changelist(License, q=" ".join(name.split()[:2]))),
    ]


def pages_sorts_and_filters() -> list[tuple[str, str]]:
    """The license and payment lists at their deepest page (the last, or the 200th when the count
    is bounded: admin/paging.py), sorted by each money column both ways, and filtered."""
    from licensing.admin.paging import COUNT_BOUND

    def deepest(model) -> int:
        return COUNT_BOUND // admin.site._registry[model].list_per_page

    return [
        ("licenses: deepest page", changelist(License, p=deepest(License))),
        ("licenses: by next due", changelist(License, o="4")),
        ("licenses: by next due, deepest page", changelist(License, o="4", p=deepest(License))),
        ("licenses: by next due, latest first", changelist(License, o="-4")),
        ("licenses: by outstanding, largest first", changelist(License, o="-5")),
        ("licenses: by enterprise", changelist(License, o="1")),
        ("licenses: by state", changelist(License, o="2")),
        ("licenses: in arrears", changelist(License, state__exact="in_arrears")),
        ("licenses: overdue", changelist(License, due="overdue")),
        ("licenses: due within 7 days", changelist(License, due="7")),
        ("licenses: nothing due", changelist(License, due="none")),
        ("licenses: something unpaid", changelist(License, due="unpaid")),
        ("licenses: trial ends in 30 days", changelist(License, trial_ends="30")),
        ("licenses: no contract issued", changelist(License, contract="to_issue")),
        ("licenses: micro enterprises", changelist(License, enterprise__size_class__exact="micro")),
        ("payments: deepest page", changelist(Payment, p=deepest(Payment))),
        ("payments: oldest first", changelist(Payment, o="0")),
        ("payments: largest first", changelist(Payment, o="-1")),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--licenses", type=int, default=100_000)
    args = parser.parse_args()
    print(ensure_book(args.licenses))

    logging.getLogger("django.request").setLevel(logging.ERROR)  # the 403s of lists that are not staff's
    translation.activate("en")  # labels; the pages are served in the default language
    superuser = logged_in("bench-admin")
    staff = logged_in("bench-staff", institution=Institution.objects.get(name="Bench University 0"))
    lists = [
        (str(m._meta.verbose_name_plural), changelist(m))
        for m in admin.site._registry
        if m._meta.app_label == "licensing"
    ]
    print(f"\nMedian of {RUNS} requests each; ms and queries, superuser | staff of 1 of 5 institutions")
    print(f"{'page':<40} {'superuser':>16} {'staff':>16}   budget {BUDGET_MS} ms")
    over = []
    for label, path in lists + pages_sorts_and_filters() + searches():
        su_s, su_q = timed_page(superuser, path)
        status = staff.get(path).status_code
        if status == 200:
            st_s, st_q = timed_page(staff, path)
            as_staff = f"{ms(st_s):>9} {st_q:>2} q"
        else:
            st_s, as_staff = 0, f"{'not theirs':>14}" if status in (302, 403) else f"{'HTTP ' + str(status):>14}"
            if status >= 500:
                st_s = float("inf")
        worst = max(su_s, st_s)
        flag = "" if worst * 1000 <= BUDGET_MS else "  OVER BUDGET"
        if flag:
            over.append(label)
        print(f"{label:<40} {ms(su_s):>9} {su_q:>2} q  {as_staff}{flag}", flush=True)
    if over:
        print(f"\n{len(over)} over the budget of {BUDGET_MS} ms: {', '.join(over)}")
        sys.exit(1)
    print(f"\nEvery list and search within {BUDGET_MS} ms.")


if __name__ == "__main__":
    main()
