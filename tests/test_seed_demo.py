"""The demo book: every license state, every size class, realistic and idempotent; the bulk book."""

import pytest
from django.core.management import CommandError, call_command
from django.db import models, transaction

from licensing.models import Enterprise, Installment, License
from licensing.selectors import audit_trail


def shared_for_the_module(django_db_blocker, **seed_options):
    """Seed a book once for the module's tests, inside a transaction rolled back after the last of
    them; each test runs in a savepoint of it (the `db` fixture), so none sees another's changes."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", verbosity=0, **seed_options)
        yield
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def demo_book(django_db_setup, django_db_blocker):
    yield from shared_for_the_module(django_db_blocker)


@pytest.fixture(scope="module")
def bulk_book(django_db_setup, django_db_blocker):
    """The bulk book on top of the demo book (as `seed_demo --licenses 300` makes them): its tests
    come last in the module, after those that read the demo book alone."""
    yield from shared_for_the_module(django_db_blocker, licenses=300, batch=120)


def test_demo_book_has_every_license_state_and_size_class(demo_book, db):
    assert set(License.objects.values_list("state", flat=True)) == set(License.State.values)
    assert set(Enterprise.objects.values_list("size_class", flat=True)) == set(Enterprise.SizeClass.values)
    defaulted = License.objects.get(state="written_off")
    transitions = audit_trail(defaulted).filter(action="transition", content_type__model="license")
    assert [log.state for log in transitions][:2] == ["written_off", "defaulted"]


def test_demo_book_loads_once(demo_book, db, capsys):
    count = License.objects.count()
    call_command("seed_demo")

    assert License.objects.count() == count
    assert "nothing changed" in capsys.readouterr().out


def test_the_demo_book_has_packages_license_types_free_and_open_licence_deals(demo_book, db):
    from django.db.models import Count

    from licensing.models import Offer

    sizes = set(Offer.objects.annotate(n=Count("patents")).values_list("n", flat=True))
    assert sizes == {1, 2, 3}
    assert set(License.objects.values_list("license_type", flat=True)) == {"exclusive", "sole", "ordinary"}
    assert License.objects.filter(price=0, state="paid_up").exists()  # a free license taken
    assert License.objects.filter(open_licence=True, state="trial").exists()  # granted on application


def test_every_institution_has_a_varied_book(demo_book, db):
    from django.db.models import Count

    states_per_institution = License.objects.values("offer__patent__owner").annotate(
        states=Count("state", distinct=True)
    )
    assert len(states_per_institution) == 3
    assert min(row["states"] for row in states_per_institution) >= 4


def test_the_sweep_agrees_with_the_demo_book(demo_book, db):
    """A first sweep over fresh demo data changes no state: the book is what it would have been."""
    from licensing.reminders import sweep

    states = dict(License.objects.values_list("pk", "state"))

    stats = sweep.run_sweep()

    assert (stats["expired"], stats["overdue"], stats["defaulted"]) == (0, 0, 0)
    assert dict(License.objects.values_list("pk", "state")) == states


def test_bad_arguments_are_refused(db):
    count = License.objects.count()  # the module's demo book may be loaded
    with pytest.raises(CommandError, match="--licenses must be 0 or more"):
        call_command("seed_demo", licenses=-1)
    assert License.objects.count() == count


def test_bulk_book_splits_every_price_exactly(bulk_book, db):
    bulk = License.objects.filter(enterprise__name__startswith="Bench SME")
    assert bulk.count() == 300
    for lic in bulk.exclude(purchased_on=None)[:50]:
        assert sum(i.amount for i in lic.installments.all()) == lic.price
    assert Installment.objects.filter(license__in=bulk).count() >= 14 * bulk.exclude(purchased_on=None).count()


def test_bulk_book_dates_ended_trials_as_the_transitions_do(bulk_book, db):
    from django.db.models import F

    bulk = License.objects.filter(enterprise__name__startswith="Bench SME")
    not_started = bulk.filter(state__in=["applied", "rejected", "trial"])
    ended = bulk.exclude(state__in=["applied", "rejected", "trial"])
    assert not not_started.exclude(trial_ended_on=None).exists()
    assert not ended.filter(trial_ended_on=None).exists()
    assert not ended.exclude(purchased_on=None).exclude(trial_ended_on=F("purchased_on")).exists()
    assert not bulk.filter(state="expired").exclude(trial_ended_on=F("trial_end_effective")).exists()


def test_bulk_book_has_the_money_the_services_would_have_recorded(bulk_book, db):
    from django.db.models import F, Sum

    from licensing.models import InsuranceClaim, Payment

    bulk = License.objects.filter(enterprise__name__startswith="Bench SME")
    paid = Installment.objects.filter(license__in=bulk).aggregate(total=Sum("paid_amount"))["total"]
    assert Payment.objects.filter(license__in=bulk).aggregate(total=Sum("amount"))["total"] == paid
    claims = InsuranceClaim.objects.filter(license__in=bulk)
    assert set(claims.values_list("license__state", "state")) <= {("claim_filed", "filed"), ("compensated", "paid")}
    assert claims.count() == bulk.filter(state__in=["claim_filed", "compensated"]).count()
    assert not claims.exclude(policy__license=F("license")).exists()


def test_bulk_book_licenses_packages_of_about_two_point_four_patents(bulk_book, db):
    from licensing.models import LicensePatent

    bulk = License.objects.filter(enterprise__name__startswith="Bench SME")
    per_license = LicensePatent.objects.filter(license__in=bulk).count() / bulk.count()
    assert 2.0 <= per_license <= 2.8
    assert not bulk.exclude(patents=models.F("offer__patent")).exists()  # the lead is always covered
