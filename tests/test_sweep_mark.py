"""A day's notices change only with the day or with a license: after the day's first complete claim
(its SweepMark), a sweep claims only for the licenses with an audit event since, so the hourly
sweeps of a national book cost what changed (issue 25). Every change is an audit event; what is
not (a bulk load) forgets the marks."""

import datetime as dt

import pytest

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

    clock("2026-08-27 00:30")  # the next day's first sweep is complete again: the moved trial is found
    sweep.run_sweep(dt.date(2026, 8, 27))
    assert second.pk in trial_notices()


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
