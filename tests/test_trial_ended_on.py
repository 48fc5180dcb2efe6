"""Every way a trial ends dates it (the conversion figures count trials by that date), and the
migration that added the date gives an existing book the same dates."""

import datetime as dt
import importlib

import pytest
from django.apps import apps

from licensing import services
from licensing.models import License
from licensing.reminders import sweep

from .factories import EnterpriseFactory

backfill = importlib.import_module("licensing.migrations.0004_dashboard_exports").backfill_trial_ended_on


@pytest.fixture
def ended_every_way(offer, make_license, staff, clock):
    """Trials from 2026-01-31 (6 months: they end 2026-07-31) ended by each of the four ways."""

    def make(state, **kwargs):  # one enterprise each: one live license per enterprise and patent
        return make_license(offer, state, enterprise=EnterpriseFactory(), **kwargs)

    clock("2026-03-10")
    returned = services.return_patent(license_id=make("trial").pk, by=staff)
    terminated = services.terminate(license_id=make("trial").pk, by=staff, reason="dissolved")
    bought = make("purchased")  # on the trial's last day
    clock("2026-05-20")
    bought_then_ended = services.terminate(license_id=make("purchased").pk, by=staff, reason="breach")
    expired = make("trial")
    clock("2026-08-04")
    sweep.run_sweep()
    running = make("trial", start="2026-08-01")
    return {
        "returned": returned,
        "terminated": terminated,
        "bought": bought,
        "bought_then_terminated": bought_then_ended,
        "expired": expired,
        "running": running,
    }


EXPECTED = {
    "returned": dt.date(2026, 3, 10),
    "terminated": dt.date(2026, 3, 10),
    "bought": dt.date(2026, 7, 31),
    "bought_then_terminated": dt.date(2026, 7, 31),  # ended by the purchase, not the termination
    "expired": dt.date(2026, 7, 31),  # its last day, not the day the sweep noticed
    "running": None,
}


def test_each_way_a_trial_ends_sets_the_day_it_ended(ended_every_way):
    dates = {name: License.objects.get(pk=lic.pk).trial_ended_on for name, lic in ended_every_way.items()}

    assert dates == EXPECTED
    assert License.objects.get(pk=ended_every_way["expired"].pk).state == License.State.EXPIRED


def test_the_migration_dates_a_book_without_the_retired_log_by_each_trials_last_day(ended_every_way, clock):
    """Databases that had licenses before the date existed also had django-fsm-log, and ran this
    migration with it (a return or termination dated by its log row). Run where the log is gone,
    the migration still dates every ended trial: a return or termination by the trial's last day."""
    clock("2026-11-22")
    License.objects.update(trial_ended_on=None)  # a book from before the field existed

    backfill(apps, None)

    dates = {name: License.objects.get(pk=lic.pk).trial_ended_on for name, lic in ended_every_way.items()}
    assert dates == {**EXPECTED, "returned": dt.date(2026, 7, 31), "terminated": dt.date(2026, 7, 31)}
