"""Issue 21, point 5: the money core at its edges, where hand-made mutants survived the suite (a
100% rate, equal tier bounds, a cap already used up, leap years, a term ending on a period's first
day, the whole credit refunded, a refund with no reference, a late first-revenue report, credit
arriving between filing and acceptance). Each test fails if its rule is changed by one operator."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from licensing import services
from licensing.domain import money, royalties
from licensing.domain.royalties import Tier
from licensing.models import CreditMovement, Installment, License

from .factories import OfferFactory

# -- pure arithmetic ---------------------------------------------------------------------------


def test_a_rate_of_100_percent_is_allowed_and_takes_the_whole_base():
    tiers = royalties.parse_tiers("100%")
    assert tiers == [Tier(None, D(1))]
    assert royalties.royalty_on(D("1234.56"), tiers) == D("1234.56")
    with pytest.raises(ValidationError):
        royalties.parse_tiers("100.01%")
    with pytest.raises(ValidationError):
        royalties.check_tiers([Tier(None, D("-0.01"))])
    royalties.check_tiers([Tier(None, D(0))])  # 0% is a rate too (a free period)


def test_tier_bounds_must_rise_strictly():
    with pytest.raises(ValidationError, match="must rise"):
        royalties.parse_tiers("3% up to 1,000; 2% up to 1,000; 1%")
    with pytest.raises(ValidationError, match="must rise"):
        royalties.parse_tiers("3% up to 0; 1%")
    with pytest.raises(ValidationError, match="no upper bound"):
        royalties.check_tiers([Tier(D(1000), D("0.03"))])
    with pytest.raises(ValidationError, match="at least one"):
        royalties.check_tiers([])
    assert len(royalties.parse_tiers("3% up to 1,000; 2% up to 1,000.01; 1%")) == 3


def test_a_base_exactly_on_a_tier_bound_takes_the_lower_tiers_rate():
    tiers = royalties.parse_tiers("10% up to 1,000; 1%")
    assert royalties.royalty_on(D(1000), tiers) == D("100.00")
    assert royalties.royalty_on(D("1000.01"), tiers) == D("100.00")  # 0.01 at 1%: 0.0001, rounds away
    assert royalties.royalty_on(D(1100), tiers) == D("101.00")
    assert royalties.royalty_on(D(100), tiers, earlier=D(950)) == D("5.50")  # 50 at 10%, 50 at 1%
    assert royalties.royalty_on(D(100), tiers, earlier=D(1000)) == D("1.00")
    assert royalties.royalty_on(D(0), tiers, earlier=D(5000)) == D("0.00")
    with pytest.raises(ValidationError):
        royalties.royalty_on(D("-1"), tiers)
    with pytest.raises(ValidationError):
        royalties.royalty_on(D(1), tiers, earlier=D("-1"))


def test_rounding_is_half_up_once_on_the_exact_sum():
    tiers = royalties.parse_tiers("0.5% up to 1; 1.5%")
    # 1 at 0.5% + 0.01 at 1.5% = 0.005 + 0.00015 = 0.00515: 0.01 half up, once
    assert royalties.royalty_on(D("1.01"), tiers) == D("0.01")
    assert money.cny(D("0.005")) == D("0.01") and money.cny(D("0.00499")) == D("0.00")


def test_a_cap_already_used_up_gives_nothing_never_a_negative_royalty():
    assert royalties.capped(D(500), cap=D(1000), already=D(1500)) == D(0)  # a correction upward used it
    assert royalties.capped(D(500), cap=D(1000), already=D(1000)) == D(0)
    assert royalties.capped(D(500), cap=D(1000), already=D(600)) == D(400)
    assert royalties.capped(D(500), cap=D(1000), already=D(500)) == D(500)
    assert royalties.capped(D(500), cap=None, already=D(10**9)) == D(500)


def test_the_minimum_shortfall_is_never_negative_and_none_without_a_minimum():
    assert royalties.minimum_shortfall(D(1000), D(400)) == D("600.00")
    assert royalties.minimum_shortfall(D(1000), D(1000)) == D("0.00")
    assert royalties.minimum_shortfall(D(1000), D(1200)) == D("0.00")
    assert royalties.minimum_shortfall(None, D(0)) == D("0.00")
    assert royalties.minimum_shortfall(D("0"), D(0)) == D("0.00")


def test_pro_rating_counts_the_days_of_a_leap_year():
    assert royalties.prorated(D(36600), dt.date(2028, 1, 1), dt.date(2028, 12, 31)) == D("36600.00")
    assert royalties.prorated(D(36600), dt.date(2028, 2, 29), dt.date(2028, 2, 29)) == D("100.00")
    assert royalties.prorated(D(36500), dt.date(2027, 1, 1), dt.date(2027, 1, 31)) == D("3100.00")
    assert royalties.prorated(D(36600), dt.date(2028, 3, 1), dt.date(2028, 12, 31)) == D("30600.00")


def test_a_term_ending_on_a_periods_first_day_has_a_last_period_of_one_day():
    spans = royalties.periods(dt.date(2026, 2, 15), dt.date(2026, 7, 1), 3)
    assert spans == [
        (dt.date(2026, 2, 15), dt.date(2026, 3, 31)),
        (dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
        (dt.date(2026, 7, 1), dt.date(2026, 7, 1)),
    ]
    assert royalties.periods(dt.date(2026, 1, 1), dt.date(2026, 12, 31), 12) == [
        (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    ]
    assert royalties.periods(dt.date(2026, 6, 30), dt.date(2026, 7, 1), 6) == [
        (dt.date(2026, 6, 30), dt.date(2026, 6, 30)),
        (dt.date(2026, 7, 1), dt.date(2026, 7, 1)),
    ]
    with pytest.raises(ValueError, match="3, 6 or 12 months"):
        royalties.periods(dt.date(2026, 1, 1), dt.date(2026, 12, 31), 4)


def test_splits_add_up_to_the_fen_and_give_the_left_over_fen_to_the_later_parts():
    assert money.split_evenly(D("100000.00"), 3) == [D("33333.33"), D("33333.33"), D("33333.34")]
    assert money.split_evenly(D("0.02"), 3) == [D("0.00"), D("0.01"), D("0.01")]
    assert money.split_evenly(D("10.00"), 1) == [D("10.00")]
    assert money.split_proportionally(D("100.00"), [D(1), D(2), D(3)]) == [D("16.67"), D("33.33"), D("50.00")]
    for total, parts in ((D("1000000.01"), 7), (D("0.05"), 6), (D("99.99"), 12)):
        assert sum(money.split_evenly(total, parts)) == total
    with pytest.raises(ValueError, match="parts must be at least 1"):
        money.split_evenly(D(1), 0)
    with pytest.raises(ValueError, match="weights must be positive"):
        money.split_proportionally(D(1), [D(0), D(0)])
    with pytest.raises(ValueError, match="weights must be positive"):
        money.split_proportionally(D(1), [])
    assert money.add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert money.add_months(dt.date(2028, 1, 31), 1) == dt.date(2028, 2, 29)


# -- credit ------------------------------------------------------------------------------------


@pytest.fixture
def credit_3000(institution, staff, make_license, clock):
    """A trial whose 5,000.00 fee was paid with 8,000.00: 3,000.00 of credit."""
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, trial_fee=D("5000.00"), price=D("90000.00"))
    lic = make_license(offer, "trial")
    clock("2026-02-02")
    services.record_payment(
        license_id=lic.pk,
        amount=D("8000.00"),
        paid_on=dt.date(2026, 2, 2),
        reference="OVER",
        idempotency_key="o",
        by=staff,
    )
    return License.objects.get(pk=lic.pk)


def test_the_whole_credit_can_be_refunded_and_not_a_fen_more(credit_3000, staff):
    refund = {"license_id": credit_3000.pk, "reference": "ICBC-R", "by": staff, "reason": "asked"}
    with pytest.raises(ValidationError, match="no more can be refunded"):
        services.refund_credit(amount="3000.01", **refund)
    services.refund_credit(amount="3000.00", **refund)
    assert License.objects.get(pk=credit_3000.pk).credit == D("0.00")
    with pytest.raises(ValidationError, match="no more can be refunded"):
        services.refund_credit(amount="0.01", **refund)


@pytest.mark.parametrize("reference", ["", "   ", "\u200b"])
def test_a_refund_needs_a_bank_reference_and_writes_nothing_without_one(credit_3000, staff, reference):
    with pytest.raises(ValidationError) as refused:
        services.refund_credit(license_id=credit_3000.pk, amount="10.00", reference=reference, by=staff, reason="x")
    assert "reference" in refused.value.message_dict
    assert License.objects.get(pk=credit_3000.pk).credit == D("3000.00")
    assert not CreditMovement.objects.filter(kind="refunded").exists()


# -- royalty reports, deferral and credit --------------------------------------------------------

DEFERRED_ROYALTY = {
    "price": D("0"),
    "entry_fee": D("20000.00"),
    "royalty_base": "net_sales",
    "royalty_rates": "3%",
    "reporting_period": "quarter",
    "report_due_days": 30,
    "deferred_months": 12,
    "deferred_until_revenue": True,
}


def test_a_late_first_revenue_report_starts_payments_on_the_day_it_is_filed_not_in_the_past(
    institution, make_license, staff, clock
):
    clock("2026-03-01")
    offer = OfferFactory(patent__owner=institution, **DEFERRED_ROYALTY)
    lic = make_license(offer, "purchased", start="2025-09-01", plan="lump_sum")  # bought 2026-03-01
    q2 = lic.royalty_reports.get(period_start=dt.date(2026, 4, 1))  # due 2026-07-30
    clock("2026-09-14")  # filed six weeks late
    services.file_royalty_report(report_id=q2.pk, base="100000.00", by=staff)

    lic.refresh_from_db()
    assert lic.payments_start == dt.date(2026, 9, 14)
    fee = lic.installments.get(kind=Installment.Kind.ENTRY_FEE)
    assert (fee.due_date, fee.deferred_from) == (dt.date(2026, 9, 14), dt.date(2026, 3, 1))


def test_credit_that_arrives_between_filing_and_acceptance_pays_the_royalty_once(
    institution, make_license, staff, clock
):
    clock("2026-01-01")
    terms = {"price": D("0"), "royalty_base": "net_sales", "royalty_rates": "5%", "reporting_period": "quarter"}
    offer = OfferFactory(patent__owner=institution, report_due_days=30, **terms)
    lic = make_license(offer, "purchased", start="2025-07-01", plan="lump_sum")  # bought 2026-01-01
    q1 = lic.royalty_reports.get(period_start=dt.date(2026, 1, 1))
    clock("2026-04-10")
    services.file_royalty_report(report_id=q1.pk, base="100000.00", by=staff)  # 5,000.00 due 04-30
    services.record_payment(
        license_id=lic.pk,
        amount=D("7000.00"),
        paid_on=dt.date(2026, 4, 10),
        reference="P",
        idempotency_key="p",
        by=staff,
    )
    lic.refresh_from_db()
    assert lic.credit == D("2000.00")
    services.accept_royalty_report(report_id=q1.pk, by=staff)

    lic.refresh_from_db()
    period = Installment.objects.get(pk=q1.installment_id)
    assert (period.amount, period.paid_amount, period.state) == (D("5000.00"), D("5000.00"), "paid")
    assert lic.credit == D("2000.00")  # acceptance neither spends nor doubles it
    assert sum(lic.credit_movements.filter(kind="overpayment").values_list("amount", flat=True)) == D("2000.00")
