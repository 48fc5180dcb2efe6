"""Running royalties to the fen (issue 14): tiers on the license year's cumulative base, caps and
the minimum annual royalty. The examples are the issue's own."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from licensing.domain.royalties import Tier, capped, minimum_shortfall, royalty_on

RISING = [Tier(D("10000000.00"), D("0.03")), Tier(None, D("0.02"))]  # 3% up to 10M, 2% above


def test_tiers_on_the_cumulative_base_of_the_license_year():
    """6,000,000 then 7,000,000 in one year: 180,000 then 180,000 (4M at 3% + 3M at 2%)."""
    first = royalty_on(D("6000000.00"), RISING)
    second = royalty_on(D("7000000.00"), RISING, earlier=D("6000000.00"))

    assert (first, second) == (D("180000.00"), D("180000.00"))


def test_a_rising_scale_charges_more_on_the_part_above_the_bound():
    rising = [Tier(D("1000000"), D("0.02")), Tier(None, D("0.05"))]
    assert royalty_on(D("1500000"), rising) == D("45000.00")  # 1M at 2% + 0.5M at 5%


def test_a_flat_rate_and_rounding_half_up_to_the_fen():
    assert royalty_on(D("333.33"), [Tier(None, D("0.015"))]) == D("5.00")  # 4.99995 -> 5.00
    assert royalty_on(D("100.10"), [Tier(None, D("0.025"))]) == D("2.50")  # 2.5025 -> 2.50


def test_a_nil_report_owes_nothing():
    assert royalty_on(D("0"), RISING, earlier=D("12000000")) == D("0.00")


def test_the_minimum_annual_royalty_shortfall():
    """Minimum 500,000 with 360,000 accepted: 140,000 falls due; none once royalties reach it."""
    assert minimum_shortfall(D("500000.00"), D("360000.00")) == D("140000.00")
    assert minimum_shortfall(D("500000.00"), D("500000.00")) == D("0.00")
    assert minimum_shortfall(D("500000.00"), D("612000.00")) == D("0.00")
    assert minimum_shortfall(None, D("0")) == D("0")


def test_a_cap_keeps_what_is_left_of_it():
    assert capped(D("180000.00"), cap=D("300000.00"), already=D("180000.00")) == D("120000.00")
    assert capped(D("180000.00"), cap=D("300000.00"), already=D("300000.00")) == D("0")
    assert capped(D("180000.00"), cap=None) == D("180000.00")


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ([], "at least one rate"),
        ([Tier(None, D("1.5"))], "between 0 and 1"),
        ([Tier(D("100"), D("0.1"))], "last tier has no upper bound"),
        ([Tier(D("100"), D("0.1")), Tier(D("50"), D("0.1")), Tier(None, D("0.1"))], "must rise"),
    ],
)
def test_tiers_that_make_no_sense_are_refused(tiers, message):
    with pytest.raises(ValidationError, match=message):
        royalty_on(D("100"), tiers)


def test_a_negative_base_is_refused():
    with pytest.raises(ValidationError, match="cannot be negative"):
        royalty_on(D("-1"), RISING)


@pytest.mark.parametrize("typed", ["3% 至 1000万; 2%", "3% up to 1000万元; 2%", "3%，1000万以内；以上2%"])
def test_a_bound_in_wan_is_ten_thousand_yuan_whichever_form_it_takes(typed):
    """万 after the bound counts in every form of a tier (a mutant that dropped the unit of the
    "rate first, up to" form survived)."""
    from licensing.domain.royalties import parse_tiers

    assert parse_tiers(typed) == [Tier(D("10000000"), D("0.03")), Tier(None, D("0.02"))]


def test_a_term_longer_than_fifty_years_of_quarters_stops_at_two_hundred_periods():
    import datetime as dt

    from licensing.domain.royalties import MAX_PERIODS, periods

    many = periods(dt.date(2026, 1, 1), dt.date(2099, 12, 31), 3)
    assert len(many) == MAX_PERIODS == 200 and many[-1] == (dt.date(2075, 10, 1), dt.date(2075, 12, 31))
