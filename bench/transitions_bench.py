"""Audited transitions per second on PostgreSQL: services.approve_trial on fresh applications,
each one a transaction that locks the license row, runs the transition, saves it and writes its
audit event (who, when, from, to, the fields it set, why). One process, then two in parallel (this machine
has 2 cores). Prints figures only.

    make bench   # or:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tto_bench_10k \\
        .venv/bin/python bench/transitions_bench.py --transitions 3000
"""

import argparse
import multiprocessing
import random

from common import ensure_book, timed
from django.contrib.auth import get_user_model
from django.db import connection

from licensing import services
from licensing.demo.identifiers import make_uscc
from licensing.domain.clock import today
from licensing.models import AuditEvent, DealTerms, Enterprise, License, LicensePatent, Offer, OfferPatent


def applications(n: int) -> list[int]:
    """n new applications, inserted in bulk: each by a new enterprise, on a published bench offer
    (not exclusive), as the apply_for_trial service would leave them."""
    offers = list(
        Offer.objects.filter(state="published", patent__title__startswith="Bench").select_related("patent")[:200]
    )
    serial = random.randrange(10**8, 8 * 10**8)
    enterprises = Enterprise.objects.bulk_create(
        Enterprise(
            name=f"Transition bench {serial}-{i}",
            uscc=make_uscc(serial + i, "310104"),
            industry="industry",
            employees=10,
            annual_revenue=100,
            size_class="micro",
        )
        for i in range(n)
    )
    created = License.objects.bulk_create(
        License(
            offer=offers[i % len(offers)],
            institution_id=offers[i % len(offers)].patent.owner_id,  # the licensor, as apply_for_trial copies it
            enterprise=enterprise,
            **{name: getattr(offers[i % len(offers)], name) for name in DealTerms.term_names()},
        )
        for i, enterprise in enumerate(enterprises)
    )
    # The patents each covers, as apply_for_trial copies them from the offer's package.
    packages: dict[int, list[int]] = {}
    for offer_id, patent_id in OfferPatent.objects.filter(offer__in=offers).values_list("offer_id", "patent_id"):
        packages.setdefault(offer_id, []).append(patent_id)
    LicensePatent.objects.bulk_create(
        LicensePatent(license=lic, patent_id=patent_id) for lic in created for patent_id in packages[lic.offer_id]
    )
    return [lic.pk for lic in created]


def remove(ids: list[int]) -> None:
    """Take the benchmark's licenses, their audit events and enterprises out of the book again."""
    AuditEvent.objects.filter(license_id__in=ids).delete()
    enterprises = list(License.objects.filter(pk__in=ids).values_list("enterprise_id", flat=True))
    License.objects.filter(pk__in=ids).delete()
    Enterprise.objects.filter(pk__in=enterprises).delete()


def approve_all(ids: list[int]) -> None:
    by = get_user_model().objects.get(username="admin")
    start = today()
    for license_id in ids:
        services.approve_trial(license_id=license_id, by=by, start=start, reason="benchmark")
    connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--licenses", type=int, default=10_000, help="book size (generated if missing)")
    parser.add_argument("--transitions", type=int, default=3000, help="per run")
    args = parser.parse_args()
    print(ensure_book(args.licenses))

    for processes in (1, 2):
        ids = applications(args.transitions)
        logged_before = AuditEvent.objects.count()
        connection.close()  # each process opens its own
        chunks = [ids[i::processes] for i in range(processes)]
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            _, seconds = timed(lambda chunks=chunks, pool=pool: pool.map(approve_all, chunks))
        logged = AuditEvent.objects.count() - logged_before
        in_trial = License.objects.filter(pk__in=ids, state="trial").count()
        print(
            f"{processes} process(es): {args.transitions} approvals in {seconds[0]:.2f} s = "
            f"{args.transitions / seconds[0]:.0f} audited transitions/s "
            f"({in_trial} licenses in trial, {logged} audit events written)"
        )
        remove(ids)


if __name__ == "__main__":
    main()
