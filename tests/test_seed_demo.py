"""The demo book: every license state, every size class, realistic and idempotent; the bulk book."""

import pytest
from django.core.management import CommandError, call_command
from django.db import models, transaction

from licensing.models import Enterprise, Installment, Inventor, License
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


def test_the_demo_member_has_a_signed_contract_one_to_sign_and_licenses_to_issue_one_for(demo_book, db):
    from licensing.models import Contract

    contracts = Contract.objects.filter(license__enterprise__members__user__username="sme_demo").order_by("pk")
    assert [c.state for c in contracts] == ["signed", "issued"]
    signed = contracts[0]
    assert signed.effective_on == signed.license.purchased_on and signed.signed_copy and signed.versions.count() == 1
    assert signed.vat_exempt and signed.recordals.get().state == "due"
    assert License.objects.filter(License.awaits_contract_q()).exists()
    from licensing.models import InvoiceRequest

    assert InvoiceRequest.objects.filter(license=signed.license, state="requested").count() == 1


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


def test_the_demo_history_reads_as_it_happened(demo_book, db):
    """Issue 15, point 15: events are recorded on the day they happen in the story (the trial's
    approval before its start, the purchase on the trial's end, each payment on the day it was
    paid), not all at the moment the demo was loaded."""
    from django.utils import timezone

    from licensing.models import AuditEvent, Payment

    def local_day(event):
        return timezone.localtime(event.at).date()

    days = {local_day(e) for e in AuditEvent.objects.all()}
    assert max(days) <= timezone.localdate() and (max(days) - min(days)).days > 365  # years, not one day
    for lic in License.objects.filter(purchased_on__isnull=False, offer__trial_months__gt=0):
        trail = audit_trail(lic).filter(action="transition", content_type__model="license")
        bought = next(e for e in trail if e.transition == "purchase")
        assert local_day(bought) == lic.purchased_on, lic
        approved = next(e for e in trail if "trial_start" in e.changes and e.changes["trial_start"][0] is None)
        assert local_day(approved) <= lic.trial_start <= local_day(bought)
    for payment in Payment.objects.all()[:50]:
        assert timezone.localtime(payment.recorded_at).date() == payment.paid_on


def test_bad_arguments_are_refused(db):
    count = License.objects.count()  # the module's demo book may be loaded
    with pytest.raises(CommandError, match="--licenses must be 0 or more"):
        call_command("seed_demo", licenses=-1)
    assert License.objects.count() == count


def test_bulk_book_splits_every_price_exactly(bulk_book, db):
    bulk = License.objects.filter(enterprise__name__startswith="Bench SME")
    assert bulk.count() == 300
    fixed = bulk.exclude(purchased_on=None).filter(price__gt=0)
    for lic in fixed[:50]:
        assert sum(i.amount for i in lic.installments.all()) == lic.price
    assert Installment.objects.filter(license__in=fixed).count() == 14 * fixed.count()


def test_bulk_book_mixes_fee_shapes_as_recorded_nationally(bulk_book, db):
    """About 54% free, 39% fixed price, 7% royalty; free ones taken paid up, royalty ones owing
    their periods (reported and paid while they pay, the latest missing in arrears)."""
    from licensing.models import RoyaltyReport

    bulk = License.objects.filter(enterprise__name__startswith="Bench SME")
    free = bulk.filter(price=0, royalty_base="")
    royalty = bulk.exclude(royalty_base="")
    assert 0.46 <= free.count() / 300 <= 0.62 and 0.03 <= royalty.count() / 300 <= 0.12
    assert not free.filter(state__in=["purchased", "in_arrears", "defaulted"]).exists()
    assert not free.exclude(purchased_on=None).filter(installments__isnull=False).exists()
    bought = royalty.exclude(purchased_on=None)
    assert bought.exists() and not bought.filter(state="paid_up").exists()
    reports = RoyaltyReport.objects.filter(license__in=bought)
    assert reports.count() == Installment.objects.filter(license__in=bought, kind="royalty").count()
    accepted = reports.filter(state="accepted")
    assert not accepted.exclude(installment__amount=models.F("royalty")).exists()
    assert not reports.exclude(state="accepted").exclude(installment__report_pending=True).exists()


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


def test_the_demo_book_has_a_deal_of_every_fee_shape(demo_book, db):
    """Fixed price, entry fee + fixed, entry fee + royalty, free, and use first, pay later (zero
    entry fee + milestones + revenue share, deferred 12 months or to the first revenue)."""
    from licensing.models import LicenseMilestone, RoyaltyReport

    bought = License.objects.exclude(purchased_on=None)
    assert bought.filter(price__gt=0, entry_fee=0, royalty_base="").exists()
    assert bought.filter(price__gt=0, entry_fee__gt=0).exists()
    assert bought.filter(entry_fee__gt=0).exclude(royalty_base="").exists()
    assert bought.filter(price=0, entry_fee=0, royalty_base="").exists()
    pay_later = bought.get(deferred_until_revenue=True)
    assert pay_later.payments_start < pay_later.purchased_on.replace(
        year=pay_later.purchased_on.year + 1
    )  # revenue came
    assert RoyaltyReport.objects.filter(license=pay_later, state="filed").count() == 1  # waits for the TTO
    milestones = dict(LicenseMilestone.objects.filter(license=pay_later).values_list("name", "state"))
    assert milestones == {"首次商业销售": "pending", "许可第二年固定费": "scheduled"}


def test_the_demo_member_has_a_royalty_period_to_report_today(demo_book):
    """Issue 22, point 8: a newcomer tries reporting without moving the clock."""
    from licensing.domain.clock import today
    from licensing.models import RoyaltyReport

    waiting = RoyaltyReport.objects.filter(
        license__enterprise__members__user__username="sme_demo",
        license__royalty_base__gt="",
        period_end__lt=today(),
        state=RoyaltyReport.State.EXPECTED,
    )
    assert waiting.exists() and all(r.accepts_filing for r in waiting)


def test_the_demo_books_income_is_shared_with_its_inventors_and_one_of_them_can_log_in(demo_book, db):
    """Every patent has its two inventors (60/40) and every institution its policy, set before
    the stories were told: all the demo's income is in the ledger, to the fen, with names."""
    from django.db.models import Sum

    from licensing.demo.stories import INSTITUTIONS
    from licensing.models import Allocation, AllocationLine, InventorShareSet, Patent

    demo_patents = Patent.objects.filter(owner__name__in=[name for name, *_rest in INSTITUTIONS])
    assert demo_patents.exists() and not demo_patents.exclude(share_sets__isnull=False).exists()
    allocated = Allocation.objects.aggregate(total=Sum("amount"))["total"]
    assert allocated and AllocationLine.objects.aggregate(total=Sum("amount"))["total"] == allocated
    assert not AllocationLine.objects.filter(party="inventor", inventor__isnull=True).exists()
    assert InventorShareSet.objects.filter(patent__in=demo_patents).count() == demo_patents.count()
    inventor = Inventor.objects.get(user__username="inventor_demo")
    assert AllocationLine.objects.filter(inventor=inventor).exists()


def test_the_demo_member_is_recommended_offers_and_offers_have_fitting_enterprises(demo_book, db):
    """Issue 26: a newcomer sees matching at work on the demo book, both ways."""
    from licensing import selectors
    from licensing.models import EnterpriseMember, Offer

    member = EnterpriseMember.objects.select_related("enterprise").get(user__username="sme_demo")
    recommended = selectors.recommended_offers(member.enterprise)
    assert recommended and recommended[0].terms  # said why
    published = Offer.objects.filter(state=Offer.State.PUBLISHED).order_by("pk")
    assert sum(bool(selectors.fitting_enterprises(offer)) for offer in published) >= 3
