"""Deferred start (Beijing's and Shaanxi's use-first-pay-later rules: nothing falls due before N
months after the license takes effect, or the first revenue, whichever the terms say) and dated
milestones (issue 14)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from licensing import services
from licensing.models import Installment, License, LicenseMilestone
from licensing.reminders.sweep import run_sweep

from .factories import OfferFactory

DEFERRED_ROYALTY = {
    "price": D("0"),
    "entry_fee": D("20000.00"),
    "royalty_base": "net_sales",
    "royalty_rates": "3%",
    "reporting_period": "quarter",
    "report_due_days": 30,
    "deferred_months": 12,
}


@pytest.fixture
def bought_2026_03_01(institution, make_license, clock):
    def make(**terms):
        clock("2026-03-01")
        offer = OfferFactory(patent__owner=institution, **{**DEFERRED_ROYALTY, **terms})
        return make_license(offer, "purchased", start="2025-09-01", plan="lump_sum")  # on 2026-03-01

    return make


def due(lic, kind, sequence=1) -> Installment:
    return Installment.objects.get(license=lic, kind=kind, sequence=sequence)


def test_nothing_falls_due_before_the_deferral_ends(bought_2026_03_01):
    lic = bought_2026_03_01()
    assert lic.payments_start == dt.date(2027, 3, 1)
    fee = due(lic, Installment.Kind.ENTRY_FEE)
    q2 = due(lic, Installment.Kind.ROYALTY, 2)  # 2026-04-01 .. 06-30, due 07-30 without the deferral
    assert (fee.due_date, fee.deferred_from) == (dt.date(2027, 3, 1), dt.date(2026, 3, 1))
    assert (q2.due_date, q2.deferred_from) == (dt.date(2027, 3, 1), dt.date(2026, 7, 30))
    later = due(lic, Installment.Kind.ROYALTY, 5)  # 2027-01-01 .. 03-31: after the deferral, its own date
    assert (later.due_date, later.deferred_from) == (dt.date(2027, 4, 30), None)


def test_twelve_months_or_first_revenue_starts_payments_with_the_first_revenue_report(bought_2026_03_01, staff, clock):
    """The issue's example: bought 2026-03-01, "12 months or first revenue"; a nil report for
    March, then revenue in 2026-Q2: payments start with that report (2026-07-30), not in 2027-03."""
    lic = bought_2026_03_01(deferred_until_revenue=True)
    march, q2 = lic.royalty_reports.order_by("period_start")[:2]
    clock("2026-04-05")
    services.file_royalty_report(report_id=march.pk, base="0", by=staff)
    assert License.objects.get(pk=lic.pk).payments_start == dt.date(2027, 3, 1)  # a nil report is no revenue
    assert not License.objects.get(pk=lic.pk).deferral_ended_by_revenue

    clock("2026-07-05")
    services.file_royalty_report(report_id=q2.pk, base="1000000.00", by=staff)

    lic.refresh_from_db()
    assert lic.payments_start == dt.date(2026, 7, 30)
    assert lic.deferral_ended_by_revenue  # the portal says "with your first royalty report with revenue"
    royalty = due(lic, Installment.Kind.ROYALTY, 2)
    assert (royalty.amount, royalty.due_date, royalty.deferred_from) == (D("30000.00"), dt.date(2026, 7, 30), None)
    fee = due(lic, Installment.Kind.ENTRY_FEE)
    assert (fee.due_date, fee.effective_due_date) == (dt.date(2026, 7, 30), dt.date(2026, 7, 30))
    q3 = due(lic, Installment.Kind.ROYALTY, 3)  # no longer held back: its own date
    assert (q3.due_date, q3.deferred_from) == (dt.date(2026, 10, 30), None)

    clock("2026-07-31")
    run_sweep()
    assert License.objects.get(pk=lic.pk).state == License.State.IN_ARREARS  # 50,000.00 unpaid since 07-30


def test_without_the_revenue_clause_revenue_changes_nothing(bought_2026_03_01, staff, clock):
    lic = bought_2026_03_01()
    q2 = lic.royalty_reports.order_by("period_start")[1]
    clock("2026-07-05")
    services.file_royalty_report(report_id=q2.pk, base="1000000.00", by=staff)

    clock("2026-12-01")
    run_sweep()
    lic.refresh_from_db()
    assert (lic.payments_start, lic.state) == (dt.date(2027, 3, 1), License.State.PURCHASED)
    assert due(lic, Installment.Kind.ROYALTY, 2).due_date == dt.date(2027, 3, 1)


def test_a_fixed_price_is_deferred_too(institution, make_license, clock):
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, deferred_months=12, first_due_months=0)
    lic = make_license(offer, "purchased", plan="installments")  # on 2026-07-31, every 6 months from then
    dates = list(lic.installments.order_by("sequence").values_list("due_date", "deferred_from"))
    assert dates == [
        (dt.date(2027, 7, 31), dt.date(2026, 7, 31)),
        (dt.date(2027, 7, 31), dt.date(2027, 1, 31)),
        (dt.date(2027, 7, 31), None),
    ]


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"deferred_until_revenue": True}, "deferred_until_revenue"),  # no royalty to report revenue for
        ({"deferred_months": 61}, "deferred_months"),
    ],
)
def test_deferral_terms_are_checked(institution, terms, field):
    offer = OfferFactory.build(patent=OfferFactory(patent__owner=institution).patent, **terms)
    with pytest.raises(ValidationError) as refused:
        offer.full_clean(exclude=["state"])
    assert field in refused.value.message_dict


# -- dated milestones ------------------------------------------------------------------------------


def test_a_dated_milestone_falls_due_its_months_after_the_purchase(institution, make_license, staff, clock):
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, price=D("0"))
    offer.milestones.create(name="Second year fee", amount=D("50000.00"), due_months=6)
    offer.milestones.create(name="First commercial sale", amount=D("80000.00"), due_days=30)
    lic = make_license(offer, "purchased", plan="lump_sum")  # on 2026-07-31

    dated, event = lic.milestones.order_by("pk")
    dated.refresh_from_db()
    assert (dated.state, dated.installment.amount, dated.installment.due_date) == (
        LicenseMilestone.State.SCHEDULED,
        D("50000.00"),
        dt.date(2027, 1, 31),
    )
    assert License.objects.get(pk=lic.pk).state == License.State.PURCHASED  # it owes the milestone
    clock("2026-09-01")
    with pytest.raises(ValidationError, match="falls due on its date"):
        services.reach_milestone(milestone_id=dated.pk, on=dt.date(2026, 8, 1), by=staff)
    services.reach_milestone(milestone_id=event.pk, on=dt.date(2026, 8, 1), by=staff)  # events are declared


def test_a_dated_milestone_is_held_back_by_a_deferral(institution, make_license, clock):
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, price=D("0"), deferred_months=12)
    offer.milestones.create(name="Six months on", amount=D("10000.00"), due_months=6)
    lic = make_license(offer, "purchased", plan="lump_sum")

    inst = lic.milestones.get().installment
    assert (inst.due_date, inst.deferred_from) == (dt.date(2027, 7, 31), dt.date(2027, 1, 31))


def test_the_portal_shows_a_dated_milestone_with_its_date(sme_client, institution, make_license, clock):
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, price=D("0"))
    offer.milestones.create(name="Second year fee", amount=D("50000.00"), due_months=6)
    lic = make_license(offer, "purchased", plan="lump_sum", enterprise=sme_client.member.enterprise)

    page = sme_client.get(f"/licenses/{lic.pk}/").content.decode()
    assert "Second year fee" in page and "due on 2027-01-31" in page
    assert f"/licenses/{lic.pk}/milestones/" not in page  # nothing to declare


def test_the_offer_page_states_the_royalty_milestones_and_deferral_in_plain_words(client, institution):
    offer = OfferFactory(
        patent__owner=institution, **DEFERRED_ROYALTY, deferred_until_revenue=True, royalty_minimum=D("100000")
    )
    offer.milestones.create(name="Second year fee", amount=D("50000.00"), due_months=12)
    page = client.get(f"/patents/{offer.pk}/", headers={"accept-language": "en"}).content.decode()
    for words in (
        "A running royalty: 3%, on net sales. You report each quarter",
        "At least CNY 100,000.00 per year",
        "Second year fee: CNY 50,000.00, due 12 months after the purchase.",
        "nothing but the trial fee falls due in the first 12 months after the purchase, or until your first",
    ):
        assert words in page, words
    zh = client.get(f"/patents/{offer.pk}/", headers={"accept-language": "zh-hans"}).content.decode()
    assert "提成" in zh and "先使用后付费" in zh


def test_a_zero_price_deal_with_milestones_is_not_free_and_the_catalogue_says_what_is_paid(client, institution):
    milestones_only = OfferFactory(patent__owner=institution, price=D("0"))
    milestones_only.milestones.create(name="First sale", amount=D("10000.00"), due_days=30)
    assert not milestones_only.is_free and OfferFactory(patent__owner=institution, price=D("0")).is_free
    OfferFactory(patent__owner=institution, **DEFERRED_ROYALTY)

    page = client.get("/", headers={"accept-language": "en"}).content.decode()
    assert "6-month trial, then milestone payments" in page
    assert "6-month trial, then an entry fee of CNY 20,000.00 + a royalty of 3%" in page
    assert "nothing due for 12 months" in page and "6-month trial, then free" in page
    assert "then CNY 0.00" not in page


def test_a_dated_milestone_after_the_patent_expires_is_refused_at_the_purchase(institution, make_license, staff):
    offer = OfferFactory(patent__owner=institution, price=D("0"))  # the patent expires 2039-03-01
    offer.milestones.create(name="Year 15", amount=D("10000.00"), due_months=180)
    lic = make_license(offer, "trial")
    with pytest.raises(ValidationError, match="after the patent expires"):
        services.purchase(license_id=lic.pk, plan="lump_sum", by=staff, on=lic.trial_end)
    assert not Installment.objects.filter(license=lic).exists()
