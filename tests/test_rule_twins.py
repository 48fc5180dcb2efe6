"""A rule checked both on one object (Python) and over the book (SQL) is written twice, once for
each, side by side on its model; these tests hold the twins to the same answers."""

import datetime as dt
import itertools

from licensing import services
from licensing.domain.clock import as_of
from licensing.models import License, Patent

from .factories import EnterpriseFactory, OfferFactory, PatentFactory


def test_patent_in_force_agrees_in_python_and_sql(institution):
    patents = [
        PatentFactory(owner=institution, legal_status=status, filing_date=filing)
        for status, filing in itertools.product(Patent.LegalStatus.values, [dt.date(2006, 6, 1), dt.date(2016, 6, 1)])
    ]  # invention patents: they expire 2026-06-01 and 2036-06-01
    counts = []
    for on in [dt.date(2026, 5, 31), dt.date(2026, 6, 1), dt.date(2026, 6, 2), dt.date(2036, 6, 2)]:
        in_sql = set(Patent.objects.filter(Patent.in_force_q(on)))
        in_python = {p for p in patents if p.is_in_force(on)}
        assert in_sql == in_python, on
        counts.append(len(in_python))
    assert counts == [2, 2, 1, 0]  # valid ones only, until their expiry day inclusive


def test_past_grace_agrees_in_python_and_sql(institution, staff, clock):
    """Licenses with grace periods of 30 and 90 days, overdue since the same day, compared day by
    day around the ends of both grace periods."""
    clock("2026-01-05")
    licenses = []
    for grace in (30, 90):
        for _copy in range(2):
            offer = OfferFactory(
                patent__owner=institution, trial_months=1, installment_count=0, first_due_months=0, grace_days=grace
            )
            lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
            services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 5))
            services.purchase(license_id=lic.pk, plan="lump_sum", by=staff, on=dt.date(2026, 2, 5))  # due that day
            licenses.append(lic)
    clock.stop()
    with as_of(dt.date(2026, 2, 6)):
        for lic in licenses:
            services.mark_overdue(license_id=lic.pk)
    seen = set()
    for days in range(25, 100):
        on = dt.date(2026, 2, 5) + dt.timedelta(days=days)
        with as_of(on):
            in_sql = set(License.objects.past_grace(on).values_list("pk", flat=True))
            fresh = (
                License.objects.prefetch_related("installments")
                .select_related("offer")
                .filter(pk__in=[lic.pk for lic in licenses])
            )
            in_python = {lic.pk for lic in fresh if lic.grace_exceeded()}
        assert in_sql == in_python, on
        seen.add(len(in_sql))
    assert seen == {0, 2, 4}  # neither, the 30-day ones, all
