"""Admin lists benchmark: every list in the TTO admin, and the searches staff run, on the book of
the size asked for (Django test client, one request at a time: the time a page takes, without
queueing). For a superuser and for staff of one of five institutions. Prints figures only; run it
on two book sizes to see which pages grow with the book.

    make bench   # or, for one size:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tto_bench_100k \\
        .venv/bin/python bench/admin_bench.py --licenses 100000
"""

import argparse
import logging
from urllib.parse import urlencode

from common import RUNS, ensure_book, logged_in, ms, page
from django.contrib import admin
from django.urls import reverse
from django.utils import translation

from licensing.models import Institution, License, Payment


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
    print(f"{'page':<40} {'superuser':>16} {'staff':>16}")
    for label, path in lists + searches():
        su_s, su_q = page(superuser, path)
        if staff.get(path).status_code == 200:
            st_s, st_q = page(staff, path)
            as_staff = f"{ms(st_s):>9} {st_q:>2} q"
        else:
            as_staff = f"{'not theirs':>14}"
        print(f"{label:<40} {ms(su_s):>9} {su_q:>2} q  {as_staff}")


if __name__ == "__main__":
    main()
