"""Revenue distribution (issue 24): how fast `allocate_book` allocates a book recorded before the
ledger, in rows per second, and what allocating adds to one payment. Prints figures only.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tto_bench_100k \\
        .venv/bin/python bench/distribution_bench.py --licenses 100000

The bulk book has no inventors: the bench gives every patent two (60/40, from 2020) and every
institution a policy (10% service rate, 70/15/15), so each allocation writes the lines a real
book would (service fee, two inventors, two colleges' or one college's part, the institution's).
The ledger is emptied first, and the backfill timed from empty.
"""

import argparse
import datetime as dt
import time
import uuid
from decimal import Decimal

from common import RUNS, ensure_book, median, ms, timed
from django.db import connection, transaction
from tqdm import tqdm

from licensing import services
from licensing.domain import clock
from licensing.models import (
    Allocation,
    AllocationLine,
    DistributionPolicy,
    Installment,
    Institution,
    Inventor,
    InventorShare,
    InventorShareSet,
    License,
    Patent,
    Payment,
)

SINCE = dt.date(2020, 1, 1)


def give_every_patent_two_inventors() -> None:
    """Two inventors per patent (60/40) and a policy per institution, in bulk, once."""
    if InventorShareSet.objects.exists():
        return
    for institution in Institution.objects.order_by("pk"):
        if not DistributionPolicy.objects.filter(institution=institution).exists():
            DistributionPolicy.objects.create(
                institution=institution,
                effective_from=SINCE,
                service_rate=Decimal("0.10"),
                inventors_share=Decimal("0.70"),
                college_share=Decimal("0.15"),
                institution_share=Decimal("0.15"),
            )
    patents = list(Patent.objects.order_by("pk").values_list("pk", "owner_id"))
    with tqdm(total=len(patents), unit="patent", desc="inventors", disable=None) as bar:
        for start in range(0, len(patents), 5000):
            chunk = patents[start : start + 5000]
            with transaction.atomic():
                inventors = Inventor.objects.bulk_create(
                    Inventor(institution_id=owner, name=f"Inventor {pk}-{n}", college=f"College {pk % 12 + n}")
                    for pk, owner in chunk
                    for n in (1, 2)
                )
                sets = InventorShareSet.objects.bulk_create(
                    InventorShareSet(patent_id=pk, effective_from=SINCE) for pk, _owner in chunk
                )
                InventorShare.objects.bulk_create(
                    InventorShare(share_set=share_set, inventor=inventor, share=share)
                    for i, share_set in enumerate(sets)
                    for inventor, share in zip(
                        inventors[2 * i : 2 * i + 2], (Decimal("0.6"), Decimal("0.4")), strict=True
                    )
                )
            bar.update(len(chunk))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--licenses", type=int, default=0, help="book size (default: the demo book)")
    parser.add_argument("--batch", type=int, default=1000, help="licenses per transaction")
    args = parser.parse_args()
    print(ensure_book(args.licenses))
    give_every_patent_two_inventors()
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        cursor.execute(f"TRUNCATE {AllocationLine._meta.db_table}, {Allocation._meta.db_table}")
    payments = Payment.objects.count()
    started = time.perf_counter()
    with tqdm(total=License.objects.count(), unit="license", desc="allocate_book", disable=None) as bar:
        totals = services.backfill_allocations(batch=args.batch, progress=bar.update)
    took = time.perf_counter() - started
    print(
        f"allocate_book: {totals['licenses']:,} licenses, {payments:,} payments -> {totals['allocations']:,} "
        f"allocations and {totals['lines']:,} lines in {took:.1f} s: {totals['allocations'] / took:,.0f} "
        f"allocations/s, {totals['lines'] / took:,.0f} lines/s, {payments / took:,.0f} payments/s"
    )
    _again, second = timed(lambda: services.backfill_allocations(batch=args.batch))
    print(f"  run again (nothing left to allocate): {second[0]:.1f} s")

    # One payment recorded live, its allocation in the same transaction (rolled back each time).
    open_installments = Installment.objects.open().filter(report_pending=False, license__state="purchased")
    license_ids = list(open_installments.order_by("license_id").values_list("license_id", flat=True).distinct()[:RUNS])
    staff = Institution.objects.order_by("pk").first().staff.select_related("user").first().user
    times = []
    for license_id in license_ids:
        with transaction.atomic():
            lic = License.objects.get(pk=license_id)
            start = time.perf_counter()
            services.record_payment(
                license_id=lic.pk,
                amount="100.00",
                paid_on=clock.today(),
                reference=f"BENCH-{uuid.uuid4().hex[:8]}",
                idempotency_key=uuid.uuid4().hex,
                by=staff,
            )
            times.append(time.perf_counter() - start)
            transaction.set_rollback(True)
    print(f"record one payment with its allocation: {ms(median(times))} (median of {len(times)})")


if __name__ == "__main__":
    main()
