"""A day's notices change only with the day or with a license: after the day's first claim (its
SweepMark), a sweep claims only for the licenses with an audit event since, and the next day's
first sweep for those and for the deadlines that meet an offset that day, so the sweeps of a
national book cost what changed and what came due (issue 25). Every change is an audit event;
what is not (a bulk load) forgets the marks; a missed day, and every week, the claim is complete."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import transaction

from licensing import services
from licensing.models import License, Reminder, ReminderSchedule, SweepMark
from licensing.reminders import sweep

from .factories import EnterpriseFactory

DAY = dt.date(2026, 8, 26)  # 7 days before the trials below end (2026-09-02): a notice is due


@pytest.fixture
def trials(offer, staff, clock):
    """Two trials of one offer, both ending on 2026-09-02."""
    clock("2026-03-02")
    made = []
    for _ in range(2):
        lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
        made.append(services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 3, 2)))
    return made


def trial_notices():
    return set(Reminder.objects.filter(kind=Reminder.Kind.TRIAL_ENDING).values_list("license_id", flat=True))


def moved_past_the_trail(lic, end):
    """A write that is no audit event (as a bulk load's): the trial's end moved in the table alone."""
    License.objects.filter(pk=lic.pk).update(trial_end=end, trial_end_effective=end)


def test_the_first_sweep_of_a_day_is_complete_and_marks_the_day(trials, clock):
    clock("2026-08-26 09:00")
    assert sweep.run_sweep(DAY)["reminders"] == 2
    mark = SweepMark.objects.get(day=DAY)
    assert mark.claimed_from.date() == DAY and mark.last_event > 0


def test_a_later_sweep_of_the_day_claims_for_the_licenses_changed_since(trials, offer, staff, clock):
    first, second = trials
    moved_past_the_trail(second, dt.date(2026, 12, 31))  # nothing due for it today
    clock("2026-08-26 09:00")
    assert sweep.run_sweep(DAY)["reminders"] == 1

    moved_past_the_trail(second, dt.date(2026, 9, 2))  # due again, but the trail does not say so
    clock("2026-08-26 10:00")
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    third = services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 3, 2))  # an event: changed
    # the next hour's sweep claims for the license changed since, not for the one written past the trail
    assert sweep.run_sweep(DAY)["reminders"] == 1
    assert trial_notices() == {first.pk, third.pk}

    clock("2026-08-27 00:30")  # the next day's first sweep: what came due today, and what changed
    sweep.run_sweep(dt.date(2026, 8, 27))
    assert second.pk not in trial_notices()  # moved past the trail, and no offset met today
    clock("2026-08-29 00:30")  # a day missed (no sweep on the 28th): complete again, the moved trial found
    sweep.run_sweep(dt.date(2026, 8, 29))
    assert second.pk in trial_notices()
    assert SweepMark.objects.get(day=dt.date(2026, 8, 29)).complete_on == dt.date(2026, 8, 29)


def test_the_next_days_first_sweep_claims_what_came_due_and_what_changed(trials, offer, staff, clock):
    first, second = trials
    clock("2026-08-26 09:00")
    assert sweep.run_sweep(DAY)["reminders"] == 2  # complete: 7 days before the end, both
    clock("2026-08-27 00:30")
    assert sweep.run_sweep(dt.date(2026, 8, 27))["reminders"] == 0  # no offset met today
    mark = SweepMark.objects.get(day=dt.date(2026, 8, 27))
    assert mark.complete_on == DAY  # the chain's complete claim is the day before's

    clock("2026-08-27 15:00")  # a trial started today, ending within 30 days: an event, so changed
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    third = services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 3, 12))  # ends 2026-09-12
    for day in (28, 29, 30, 31):
        clock(f"2026-08-{day} 00:30")
        claimed = sweep.run_sweep(dt.date(2026, 8, day))["reminders"]
        assert claimed == (1 if day == 28 else 0), day  # the new trial's 30-day notice, once
    clock("2026-09-01 00:30")  # 1 day before the first two end: their last notice came due today
    assert sweep.run_sweep(dt.date(2026, 9, 1))["reminders"] == 2
    keys = set(Reminder.objects.filter(kind=Reminder.Kind.TRIAL_ENDING).values_list("license_id", "offset_days"))
    assert keys == {(first.pk, 7), (second.pk, 7), (third.pk, 30), (first.pk, 1), (second.pk, 1)}


def test_a_complete_claim_comes_back_every_week(trials, clock):
    first, second = trials
    clock("2026-08-20 09:00")
    sweep.run_sweep(dt.date(2026, 8, 20))
    moved_past_the_trail(second, dt.date(2026, 9, 2))  # unseen by the daily steps
    moved_past_the_trail(first, dt.date(2026, 12, 31))
    for day in range(21, 28):
        clock(f"2026-08-{day} 00:30")
        sweep.run_sweep(dt.date(2026, 8, day))
        complete_on = SweepMark.objects.get(day=dt.date(2026, 8, day)).complete_on
        assert complete_on == (dt.date(2026, 8, 27) if day == 27 else dt.date(2026, 8, 20)), day
    assert second.pk in trial_notices()  # found by the 27th's complete claim, 7 days after the last


SWEPT_KINDS = ("installment_due", "overdue", "trial_ending", "use_report_due", "use_report_late")


def keys_claimed():
    return sorted(Reminder.objects.values_list("key", flat=True))


@pytest.mark.slow
def test_daily_steps_claim_exactly_what_a_complete_claim_each_day_would(db, clock):
    """The demo book and a bulk book of 400 licenses, swept day by day for 40 days: once with the
    marks (the daily and hourly steps), once complete every day (the marks forgotten). The sweep's
    own changes (trials expired, installments overdue, defaults and claims) are events between
    the days. Both ledgers hold the same keys."""
    call_command("seed_demo", licenses=400, verbosity=0)
    days = [dt.date(2026, 12, 1) + dt.timedelta(days=n) for n in range(40)]

    def swept(complete: bool) -> list[str]:
        with transaction.atomic():
            SweepMark.forget()
            for day in days:
                if complete:
                    SweepMark.forget()
                clock(f"{day.isoformat()} 01:00")
                sweep.run_sweep(day)
                sweep.run_sweep(day)  # the next hour's
            keys = keys_claimed()
            transaction.set_rollback(True)
        return keys

    with_marks, complete_each_day = swept(False), swept(True)
    assert len([k for k in with_marks if k.split(":")[0] in SWEPT_KINDS]) > 150
    assert with_marks == complete_each_day


def test_a_change_that_belongs_to_no_license_makes_the_next_sweep_complete(trials, institution, staff, clock):
    first, second = trials
    moved_past_the_trail(second, dt.date(2026, 12, 31))
    clock("2026-08-26 09:00")
    sweep.run_sweep(DAY)
    moved_past_the_trail(second, dt.date(2026, 9, 2))

    clock("2026-08-26 10:00")  # an institution's schedule changes: every license's notices may
    services.save_record(obj=ReminderSchedule(institution=institution, trial_ending_days="30,7,1"), by=staff)
    assert sweep.run_sweep(DAY)["reminders"] == 1
    assert trial_notices() == {first.pk, second.pk}


def test_forgetting_the_marks_makes_the_next_sweep_complete(trials, clock):
    first, second = trials
    moved_past_the_trail(second, dt.date(2026, 12, 31))
    clock("2026-08-26 09:00")
    sweep.run_sweep(DAY)
    moved_past_the_trail(second, dt.date(2026, 9, 2))

    SweepMark.forget()  # what the bench book's loader does after writing past the services
    assert sweep.run_sweep(DAY)["reminders"] == 1
    assert trial_notices() == {first.pk, second.pk}


def test_a_change_recorded_before_the_mark_but_after_its_last_event_counts(trials, offer, staff, clock):
    """An event whose moment is earlier than the day's complete claim (a demo story replayed on its
    own days, a transaction that began before the claim and committed after) still counts: it
    came after the mark's last event."""
    first, second = trials
    moved_past_the_trail(second, dt.date(2026, 12, 31))
    clock("2026-08-26 09:00")
    sweep.run_sweep(DAY)

    clock("2026-03-02")  # recorded on an earlier day
    lic = License.objects.get(pk=second.pk)
    lic.contact = "Ms Li 138 0000 0000"
    services.save_record(obj=lic, by=staff)
    moved_past_the_trail(second, dt.date(2026, 9, 2))
    clock("2026-08-26 10:00")
    assert sweep.run_sweep(DAY)["reminders"] == 1
    assert trial_notices() == {first.pk, second.pk}


def test_a_change_that_decides_no_notice_leaves_the_sweep_to_what_changed(trials, offer, staff, clock):
    """Staff edit the catalogue all day: an offer's change belongs to no license and decides no
    notice (a license keeps the terms it applied on), so the hourly sweeps stay small."""
    first, second = trials
    moved_past_the_trail(second, dt.date(2026, 12, 31))
    clock("2026-08-26 09:00")
    sweep.run_sweep(DAY)
    moved_past_the_trail(second, dt.date(2026, 9, 2))

    clock("2026-08-26 10:00")
    offer.name = "A new name for the catalogue"
    services.save_record(obj=offer, by=staff)
    assert sweep.run_sweep(DAY)["reminders"] == 0
    assert trial_notices() == {first.pk}
