"""One business clock: a sweep run "as of" a day decides by that day in every service it calls,
and a whole lifecycle runs as of chosen days while the system clock stays where it is."""

import datetime as dt
from decimal import Decimal

import time_machine
from django.utils import timezone

from licensing import services
from licensing.domain import clock
from licensing.models import InsuranceClaim, License
from licensing.reminders import sweep

from .factories import EnterpriseFactory, OfferFactory


def test_as_of_sets_the_business_date_and_restores_it(db):
    real = timezone.localdate()
    with clock.as_of(dt.date(2030, 1, 1)):
        assert clock.today() == dt.date(2030, 1, 1)
        with clock.as_of(dt.date(2031, 5, 5)):
            assert clock.today() == dt.date(2031, 5, 5)
        assert clock.today() == dt.date(2030, 1, 1)
    assert clock.today() == real


def test_a_whole_lifecycle_as_of_chosen_days_without_moving_the_system_clock(institution, staff):
    """Apply today; trial from the 1st of next month; bought at its end; nothing paid; the sweep
    as of a day past the grace period defaults the license and files the insurance claim (before,
    declare_default refused it against the wall clock)."""
    wall = timezone.now()
    with time_machine.travel(wall, tick=False):  # the system clock is frozen: it must not move
        offer = OfferFactory(
            patent__owner=institution, trial_months=3, installment_count=0, first_due_months=0, grace_days=90
        )
        lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
        start = (timezone.localdate().replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        with clock.as_of(start):
            services.approve_trial(license_id=lic.pk, by=staff, start=start)
            services.register_policy(
                license_id=lic.pk,
                by=staff,
                insurer="PICC",
                policy_number="P-9",
                coverage_ratio=Decimal("0.8"),
                starts_on=start,
                ends_on=start.replace(year=start.year + 3),
            )
        lic.refresh_from_db()
        with clock.as_of(lic.trial_end):
            services.purchase(license_id=lic.pk, plan="lump_sum", by=staff)
        due = lic.installments.get().effective_due_date

        assert sweep.run_sweep(due + dt.timedelta(days=1))["overdue"] == 1
        lic.refresh_from_db()
        assert lic.state == License.State.IN_ARREARS

        assert sweep.run_sweep(due + dt.timedelta(days=90))["defaulted"] == 0  # grace not passed
        past_grace = due + dt.timedelta(days=91)
        assert sweep.run_sweep(past_grace)["defaulted"] == 1
        lic.refresh_from_db()
        claim = InsuranceClaim.objects.get(license=lic)
        assert (lic.state, lic.defaulted_on, claim.filed_on) == (License.State.CLAIM_FILED, past_grace, past_grace)
        assert claim.claimed_amount == Decimal("80000.00")
        assert timezone.now() == wall  # the wall clock never moved


def test_a_recorded_moment_reads_on_beijing_time_not_the_current_one():
    """clock.local_time shows the moment it is given (a mutant that read the current moment survived)."""
    moment = dt.datetime(2026, 1, 1, 0, 30, tzinfo=dt.UTC)
    local = clock.local_time(moment)
    assert (local.date(), local.hour, local.minute, local.utcoffset()) == (
        dt.date(2026, 1, 1),
        8,
        30,
        dt.timedelta(hours=8),
    )
    assert clock.local_date(dt.datetime(2026, 1, 1, 16, 0, tzinfo=dt.UTC)) == dt.date(2026, 1, 2)


def test_a_day_starts_at_midnight_in_beijing_whatever_the_servers_zone():
    """Where a date compares with moments (a request asked 15 days ago): 00:00 Asia/Shanghai,
    which is 16:00 UTC the evening before."""
    start = clock.start_of_day(dt.date(2026, 3, 1))
    assert start.isoformat() == "2026-03-01T00:00:00+08:00"
    assert start.astimezone(dt.UTC).isoformat() == "2026-02-28T16:00:00+00:00"
