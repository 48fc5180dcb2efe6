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
from .test_deferred_start import DEFERRED_ROYALTY

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
    with pytest.raises(ValueError, match=r"^a reporting period is 3, 6 or 12 months$"):
        royalties.periods(dt.date(2026, 1, 1), dt.date(2026, 12, 31), 4)


def test_splits_add_up_to_the_fen_and_give_the_left_over_fen_to_the_later_parts():
    assert money.split_evenly(D("100000.00"), 3) == [D("33333.33"), D("33333.33"), D("33333.34")]
    assert money.split_evenly(D("0.02"), 3) == [D("0.00"), D("0.01"), D("0.01")]
    assert money.split_evenly(D("10.00"), 1) == [D("10.00")]
    assert money.split_proportionally(D("100.00"), [D(1), D(2), D(3)]) == [D("16.67"), D("33.33"), D("50.00")]
    for total, parts in ((D("1000000.01"), 7), (D("0.05"), 6), (D("99.99"), 12)):
        assert sum(money.split_evenly(total, parts)) == total
    with pytest.raises(ValueError, match=r"^parts must be at least 1$"):
        money.split_evenly(D(1), 0)
    with pytest.raises(ValueError, match=r"^weights must be positive$"):
        money.split_proportionally(D(1), [D(0), D(0)])
    with pytest.raises(ValueError, match=r"^weights must be positive$"):
        money.split_proportionally(D(1), [])
    assert money.add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert money.add_months(dt.date(2028, 1, 31), 1) == dt.date(2028, 2, 29)


# -- credit ------------------------------------------------------------------------------------


def test_the_whole_credit_can_be_refunded_and_not_a_fen_more(trial_with_credit, staff):
    refund = {"license_id": trial_with_credit.pk, "reference": "ICBC-R", "by": staff, "reason": "asked"}
    with pytest.raises(ValidationError, match="no more can be refunded"):
        services.refund_credit(amount="3000.01", **refund)
    services.refund_credit(amount="3000.00", **refund)
    assert License.objects.get(pk=trial_with_credit.pk).credit == D("0.00")
    with pytest.raises(ValidationError, match="no more can be refunded"):
        services.refund_credit(amount="0.01", **refund)


@pytest.mark.parametrize("reference", ["", "   ", "\u200b"])
def test_a_refund_needs_a_bank_reference_and_writes_nothing_without_one(trial_with_credit, staff, reference):
    with pytest.raises(ValidationError) as refused:
        services.refund_credit(
            license_id=trial_with_credit.pk, amount="10.00", reference=reference, by=staff, reason="x"
        )
    assert "reference" in refused.value.message_dict
    assert License.objects.get(pk=trial_with_credit.pk).credit == D("3000.00")
    assert not CreditMovement.objects.filter(kind="refunded").exists()


# -- royalty reports, deferral and credit --------------------------------------------------------

# 12 months or the first revenue (the terms of tests/test_deferred_start.py)
FIRST_REVENUE = {**DEFERRED_ROYALTY, "deferred_until_revenue": True}


def test_a_late_first_revenue_report_starts_payments_on_the_day_it_is_filed_not_in_the_past(
    institution, make_license, staff, clock
):
    clock("2026-03-01")
    offer = OfferFactory(patent__owner=institution, **FIRST_REVENUE)
    lic = make_license(offer, "purchased", start="2025-09-01", plan="lump_sum")  # bought 2026-03-01
    q2 = lic.royalty_reports.get(period_start=dt.date(2026, 4, 1))  # due 2026-07-30
    clock("2026-09-14")  # filed six weeks late
    services.file_royalty_report(report_id=q2.pk, base="100000.00", by=staff)

    lic.refresh_from_db()
    assert lic.payments_start == dt.date(2026, 9, 14)
    fee = lic.installments.get(kind=Installment.Kind.ENTRY_FEE)
    assert (fee.due_date, fee.deferred_from) == (dt.date(2026, 9, 14), dt.date(2026, 3, 1))
    from licensing.models import AuditEvent

    moved = AuditEvent.objects.filter(
        license=lic, reason_code="Payments start with the first revenue report, for %(start)s – %(end)s"
    )
    assert {e.why for e in moved} == {"Payments start with the first revenue report, for 2026-04-01 – 2026-06-30"}
    assert {(e.content_type.model, e.by) for e in moved} == {("license", staff), ("installment", staff)}
    assert moved.get(content_type__model="license").changes == {"payments_start": ["2027-03-01", "2026-09-14"]}
    assert moved.get(object_id=fee.pk, content_type__model="installment").changes["due_date"] == [
        "2027-03-01",
        "2026-09-14",
    ]


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


# -- date windows: each bound on both sides ------------------------------------------------------


def _refusal(call) -> dict:
    with pytest.raises(ValidationError) as refused:
        call()
    return refused.value.message_dict


def test_a_contract_is_signed_between_its_issue_and_today_and_takes_effect_from_the_purchase_to_a_year_on():
    from licensing.domain import windows

    issued, bought, today = dt.date(2026, 3, 2), dt.date(2026, 2, 1), dt.date(2026, 4, 1)
    windows.contract_dates(issued, bought, issued, bought, today)  # every bound, at its edge
    windows.contract_dates(today, today + dt.timedelta(days=366), issued, bought, today)
    assert _refusal(lambda: windows.contract_dates(dt.date(2026, 3, 1), today, issued, bought, today)) == {
        "signed_on": ["Enter a date from 2026-03-02 to 2026-04-01."]
    }
    assert _refusal(lambda: windows.contract_dates(dt.date(2026, 4, 2), today, issued, bought, today)) == {
        "signed_on": ["Enter a date from 2026-03-02 to 2026-04-01."]
    }
    assert _refusal(lambda: windows.contract_dates(today, dt.date(2026, 1, 31), issued, bought, today)) == {
        "effective_on": ["Enter a date from 2026-02-01 to 2027-04-02."]
    }
    assert _refusal(lambda: windows.contract_dates(today, dt.date(2027, 4, 3), issued, bought, today)) == {
        "effective_on": ["Enter a date from 2026-02-01 to 2027-04-02."]
    }


def test_each_date_window_holds_at_its_bounds_and_says_the_window():
    from licensing.domain import windows

    filing, today = dt.date(2020, 5, 1), dt.date(2026, 3, 1)
    windows.patent_dates(filing, filing + dt.timedelta(days=1), today)
    windows.patent_dates(filing, dt.date(2050, 5, 1), today)  # 30 years to the day
    assert _refusal(lambda: windows.patent_dates(filing, filing, today)) == {
        "expiry_date": ["Enter a date from 2020-05-02 to 2050-05-01."]
    }
    assert "expiry_date" in _refusal(lambda: windows.patent_dates(filing, dt.date(2050, 5, 2), today))
    windows.patent_dates(dt.date(1985, 4, 1), None, today)
    assert _refusal(lambda: windows.patent_dates(dt.date(1985, 3, 31), None, today)) == {
        "filing_date": ["Enter a date from 1985-04-01 to 2026-03-01."]
    }
    assert windows.payment_date(today, dt.date(2026, 1, 1), today) == today
    assert windows.payment_date(dt.date(2026, 1, 1), dt.date(2026, 1, 1), today) == dt.date(2026, 1, 1)
    assert _refusal(lambda: windows.payment_date(dt.date(2026, 3, 2), dt.date(2026, 1, 1), today)) == {
        "paid_on": ["The payment date cannot be in the future."]
    }
    assert _refusal(lambda: windows.payment_date(dt.date(2025, 12, 31), dt.date(2026, 1, 1), today)) == {
        "paid_on": ["Enter a date from 2026-01-01 to 2026-03-01."]
    }
    assert windows.report_period(dt.date(2076, 3, 1), "date_to", today) == dt.date(2076, 3, 1)
    assert _refusal(lambda: windows.report_period(dt.date(2076, 3, 2), "date_to", today)) == {
        "date_to": ["Enter a date from 1985-04-01 to 2076-03-01."]
    }
    assert windows.report_period(None, "date_to", today) is None
    assert _refusal(lambda: windows.require_within("2026-01-01", "on", None, None)) == {"on": ["Enter a date."]}
    applied = dt.date(2026, 1, 10)
    windows.policy_dates(dt.date(2025, 1, 9), dt.date(2025, 1, 10), applied, today)  # a year before applying
    windows.policy_dates(dt.date(2027, 3, 2), dt.date(2057, 3, 2), applied, today)  # a year on; 30 years long
    assert _refusal(lambda: windows.policy_dates(dt.date(2025, 1, 8), dt.date(2026, 1, 1), applied, today)) == {
        "starts_on": ["Enter a date from 2025-01-09 to 2027-03-02."]
    }
    assert _refusal(lambda: windows.policy_dates(dt.date(2027, 3, 3), dt.date(2028, 1, 1), applied, today)) == {
        "starts_on": ["Enter a date from 2025-01-09 to 2027-03-02."]
    }
    assert _refusal(lambda: windows.policy_dates(dt.date(2026, 1, 1), dt.date(2026, 1, 1), applied, today)) == {
        "ends_on": ["Enter a date from 2026-01-02 to 2056-01-01."]
    }
    assert _refusal(lambda: windows.policy_dates(dt.date(2026, 1, 1), dt.date(2056, 1, 2), applied, today)) == {
        "ends_on": ["Enter a date from 2026-01-02 to 2056-01-01."]
    }
    assert _refusal(lambda: windows.require_within(dt.date(2026, 1, 1), "on", dt.date(2026, 1, 2), None)) == {
        "on": ["Enter a date on or after 2026-01-02."]
    }
    assert _refusal(lambda: windows.require_within(dt.date(2026, 1, 3), "on", None, dt.date(2026, 1, 2))) == {
        "on": ["Enter a date on or before 2026-01-02."]
    }


def test_the_rates_read_back_in_words():
    assert royalties.describe_tiers(royalties.parse_tiers("5%")) == "5%"
    assert royalties.describe_tiers(royalties.parse_tiers("3% up to 10,000,000; 2%")) == (
        "3% up to 10,000,000.00; 2% above (of the license year's cumulative base)"
    )
    assert royalties.format_tiers(royalties.parse_tiers("3.5%  up to 1000000 ; 2%")) == "3.5% up to 1,000,000; 2%"


def test_the_visible_start_of_a_text_skips_spaces_and_invisible_characters_only():
    from licensing.domain.text import visible_start

    assert visible_start(" \u200b\ufeff\u3000=1+1") == "=1+1"
    assert visible_start("a \u200bb") == "a \u200bb"
    assert visible_start(" \u200b ") == ""
    assert visible_start("") == ""


# -- royalty services: one license's reports never count on another -----------------------------


@pytest.fixture
def two_royalty_licenses(institution, make_license, clock, enterprise):
    """Two licenses on the same terms, bought 2026-01-01: 10% of net sales, quarterly, a minimum
    of 40,000.00 a year and a total cap of 10,000.00 (for the cap's own test)."""
    from .factories import EnterpriseFactory

    def make(**terms):
        clock("2026-01-01")
        base = {"price": D("0"), "royalty_base": "net_sales", "royalty_rates": "10%", "reporting_period": "quarter"}
        offer = OfferFactory(patent__owner=institution, report_due_days=30, **{**base, **terms})
        first = make_license(offer, "purchased", start="2025-07-01", plan="lump_sum")
        second = make_license(offer, "purchased", start="2025-07-01", plan="lump_sum", enterprise=EnterpriseFactory())
        return first, second

    return make


def test_a_correction_is_not_capped_by_the_royalty_it_replaces(two_royalty_licenses, staff, clock):
    first, second = two_royalty_licenses(royalty_cap_total=D("10000"))
    clock("2026-04-10")
    q1 = first.royalty_reports.get(period_start=dt.date(2026, 1, 1))
    services.file_royalty_report(report_id=q1.pk, base="80000.00", by=staff)
    services.file_royalty_report(report_id=q1.pk, base="90000.00", by=staff)  # corrected before acceptance
    other = second.royalty_reports.get(period_start=dt.date(2026, 1, 1))
    services.file_royalty_report(report_id=other.pk, base="95000.00", by=staff)  # another license's cap
    q1.refresh_from_db()
    other.refresh_from_db()
    assert (q1.royalty, other.royalty) == (D("9000.00"), D("9500.00"))


def test_the_minimum_shortfall_reads_its_own_licenses_reports_only(two_royalty_licenses, staff, clock):
    first, second = two_royalty_licenses(royalty_minimum=D("40000"))
    clock("2027-02-15")
    for lic, base in ((first, "100000.00"), (second, "0")):
        for report in lic.royalty_reports.filter(period_start__year=2026).order_by("period_start"):
            services.file_royalty_report(report_id=report.pk, base=base, by=staff)
            services.accept_royalty_report(report_id=report.pk, by=staff)
    shortfalls = {
        lic.pk: list(lic.installments.filter(kind=Installment.Kind.ROYALTY_MINIMUM).values_list("amount", flat=True))
        for lic in (first, second)
    }
    assert shortfalls == {first.pk: [], second.pk: [D("40000.00")]}  # 40,000.00 accepted on the first
    from licensing.models import AuditEvent

    event = AuditEvent.objects.get(license=second, action="created", content_type__model="installment")
    assert (event.by, event.why) == (staff, "Minimum annual royalty 40,000.00 for 2026, royalties accepted 0.00")


def test_a_claim_counts_the_late_periods_of_its_own_license_only(two_royalty_licenses, staff, clock):
    from licensing.services.royalties import unreported_minimum

    first, second = two_royalty_licenses(royalty_minimum=D("36500"))
    clock("2026-05-15")  # Q1 (90 days) due 2026-04-30: late on both until filed
    services.file_royalty_report(  # filed, its 100.00 unpaid and overdue: owed, but not a late report
        report_id=second.royalty_reports.get(period_start=dt.date(2026, 1, 1)).pk, base="1000", by=staff
    )
    assert unreported_minimum(License.objects.get(pk=first.pk), dt.date(2026, 5, 15)) == D("9000.00")
    assert str(unreported_minimum(License.objects.get(pk=second.pk), dt.date(2026, 5, 15))) == "0.00"
    assert str(unreported_minimum(License.objects.get(pk=first.pk), dt.date(2026, 4, 30))) == "0.00"  # not yet late


def test_a_report_corrected_down_and_up_after_payment_says_who_and_why_on_each_event(
    institution, make_license, staff, clock
):
    """Down: the excess paid becomes credit, tied to the period's installment. Up: the paid
    period owes again. Each change is an event by the person who filed, with the reason."""
    from licensing.models import AuditEvent

    clock("2026-01-01")
    terms = {"price": D("0"), "royalty_base": "net_sales", "royalty_rates": "5%", "reporting_period": "quarter"}
    offer = OfferFactory(patent__owner=institution, report_due_days=30, **terms)
    lic = make_license(offer, "purchased", start="2025-07-01", plan="lump_sum")
    q1 = lic.royalty_reports.get(period_start=dt.date(2026, 1, 1))
    clock("2026-04-10")
    services.file_royalty_report(report_id=q1.pk, base="100000.00", by=staff)  # 5,000.00
    services.record_payment(
        license_id=lic.pk,
        amount=D("5000.00"),
        paid_on=dt.date(2026, 4, 10),
        reference="P1",
        idempotency_key="p1",
        by=staff,
    )
    period = Installment.objects.get(pk=q1.installment_id)
    assert period.state == "paid"

    services.file_royalty_report(report_id=q1.pk, base="60000.00", by=staff)  # 3,000.00: 2,000.00 back as credit
    movement = CreditMovement.objects.get(license=lic, kind="overpayment")
    assert (movement.amount, movement.installment_id, movement.by) == (D("2000.00"), period.pk, staff)
    down = AuditEvent.objects.filter(object_id=period.pk, content_type__model="installment").latest("pk")
    assert (down.by, down.changes["amount"], down.changes["paid_amount"]) == (
        staff,
        ["5000.00", "3000.00"],
        ["5000.00", "3000.00"],
    )
    assert down.why == f"Royalty reported for {q1.period_start} – {q1.period_end}"

    services.file_royalty_report(report_id=q1.pk, base="120000.00", by=staff)  # 6,000.00: owes 3,000.00 again
    period.refresh_from_db()
    assert (period.amount, period.paid_amount, period.state) == (D("6000.00"), D("5000.00"), "due")
    assert License.objects.get(pk=lic.pk).credit == D("0.00")  # the 2,000.00 of credit paid into it at once
    up = AuditEvent.objects.get(object_id=period.pk, content_type__model="installment", transition="owe_again")
    assert (up.by, up.source_state, up.state, up.why) == (staff, "paid", "due", down.why)  # a system reason
    assert up.changes["amount"] == ["3000.00", "6000.00"]


def test_a_negative_base_is_refused_with_its_own_words():
    with pytest.raises(ValidationError, match=r"^\['A royalty base cannot be negative\.'\]$"):
        royalties.royalty_on(D("-0.01"), royalties.parse_tiers("5%"))


def test_reports_are_accepted_in_their_own_years_order_only(two_royalty_licenses, staff, clock):
    """The year's order makes the tiers exact; a late report of last year does not hold up this one."""
    first, _second = two_royalty_licenses()
    clock("2027-05-15")
    q4 = first.royalty_reports.get(period_start=dt.date(2026, 10, 1))
    next_q1 = first.royalty_reports.get(period_start=dt.date(2027, 1, 1))
    services.file_royalty_report(report_id=next_q1.pk, base="1000", by=staff)
    assert services.accept_royalty_report(report_id=next_q1.pk, by=staff).state == "accepted"
    assert q4.state == "expected"


def test_credit_pays_a_new_amount_at_once_and_settles_it_as_the_person_acting(institution, make_license, staff, clock):
    """A milestone falls due on a license holding credit: the credit pays it and the license is
    paid up again, each event by the person who declared the milestone."""
    from licensing.models import AuditEvent

    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, price=D("0"), entry_fee=D("0"))
    offer.milestones.create(name="First sale", amount=D("50000.00"), due_days=30)
    offer.milestones.create(name="Production", amount=D("80000.00"), due_days=30)
    lic = make_license(offer, "purchased", plan="lump_sum")  # nothing to pay: paid up
    clock("2026-09-10")
    first, second = lic.milestones.order_by("pk")
    services.reach_milestone(milestone_id=first.pk, on=dt.date(2026, 9, 8), by=staff)
    services.record_payment(
        license_id=lic.pk,
        amount=D("140000.00"),
        paid_on=dt.date(2026, 9, 10),
        reference="P",
        idempotency_key="p",
        by=staff,
    )
    assert License.objects.get(pk=lic.pk).credit == D("90000.00")

    services.reach_milestone(milestone_id=second.pk, on=dt.date(2026, 9, 10), by=staff)

    lic.refresh_from_db()
    assert (lic.state, lic.credit) == ("paid_up", D("10000.00"))
    applied = CreditMovement.objects.get(license=lic, kind="applied")
    assert (applied.amount, applied.by) == (D("80000.00"), staff)
    settled = AuditEvent.objects.filter(license=lic, transition="settle").latest("pk")
    assert settled.by == staff


def test_the_tiers_read_only_the_same_years_earlier_periods_and_reports_whose_royalty_is_due(
    two_royalty_licenses, staff, clock
):
    """10% up to 100,000, then 1%: each license year starts at the bottom tier again; a period
    filed before an earlier one does not lift the earlier one's tier; a disputed report owes
    nothing until it is filed again, so it uses none of the cap."""
    first, second = two_royalty_licenses(royalty_rates="10% up to 100,000; 1%", royalty_cap_total=D("25000"))
    clock("2027-05-15")

    def file(lic, start, base):
        report = lic.royalty_reports.get(period_start=dt.date.fromisoformat(start))
        return services.file_royalty_report(report_id=report.pk, base=base, by=staff).royalty

    assert file(first, "2026-04-01", "100000") == D("10000.00")  # Q2 first: no earlier period filed
    assert file(first, "2026-01-01", "100000") == D("10000.00")  # Q1: Q2 is later, not below it
    assert file(first, "2027-01-01", "100000") == D("5000.00")  # a new year, the bottom tier; capped at 25,000
    assert file(second, "2026-01-01", "100000") == D("10000.00")
    q1 = second.royalty_reports.get(period_start=dt.date(2026, 1, 1))
    services.dispute_royalty_report(report_id=q1.pk, by=staff, reason="ledger missing")
    # Q1 disputed: neither its base nor its royalty counts; 10% of 100,000 + 1% of 200,000
    assert file(second, "2026-04-01", "300000") == D("12000.00")


@pytest.mark.parametrize(
    ("base", "message"),
    [
        (None, "Enter the period's base; 0 when there was none (a nil report)."),
        ("", "Enter the period's base; 0 when there was none (a nil report)."),
        ("-5", "This number cannot be negative."),
        (
            "1e3",
            "Enter a number with the digits 0-9 and at most one decimal point, commas only between thousands "
            "(no sign, exponent or spaces).",
        ),
        ("1000000000000.01", "The base must be at most 1,000,000,000,000.00."),
        ("100.001", "Amounts have at most two decimal places (fen)."),
    ],
)
def test_a_bad_base_is_refused_on_its_field_with_its_words(two_royalty_licenses, base, message):
    first, _second = two_royalty_licenses()
    q1 = first.royalty_reports.get(period_start=dt.date(2026, 1, 1))
    assert _refusal(lambda: services.preview_royalty(report=q1, base=base)) == {"base_amount": [message]}
    assert services.preview_royalty(report=q1, base="0") == D("0.00")
    assert services.preview_royalty(report=q1, base="1000000000000.00") == D("100000000000.00")


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ([], "A royalty needs at least one rate."),
        ([Tier(None, D("1.01"))], "Rate 1 must be between 0 and 1 (100%)."),
        ([Tier(D(100), D("0.1")), Tier(None, D("-0.1"))], "Rate 2 must be between 0 and 1 (100%)."),
        ([Tier(D(100), D("0.1"))], "The last tier has no upper bound."),
        (
            [Tier(D(100), D("0.1")), Tier(D(50), D("0.05")), Tier(None, D("0.01"))],
            "Tier bounds must rise: tier 2 ends above the one before.",
        ),
    ],
)
def test_each_refusal_of_the_tiers_has_its_own_words(tiers, message):
    with pytest.raises(ValidationError) as refused:
        royalties.check_tiers(tiers)
    assert refused.value.messages == [message]


@pytest.mark.parametrize("text", ["", None, " ; "])
def test_no_rates_at_all_is_said_so(text):
    with pytest.raises(ValidationError) as refused:
        royalties.parse_tiers(text)
    assert refused.value.messages == ["A royalty needs at least one rate."]


def test_ratios_read_as_percentages_and_what_is_not_a_number_is_shown_as_typed():
    from licensing.domain.numbers import percent

    assert (percent(None), percent(""), percent(D("0.8")), percent("0.0026")) == ("—", "—", "80%", "0.26%")
    assert percent("abc") == "abc" and percent(0) == "0%"


@pytest.mark.parametrize(
    ("units", "stored", "refusal"),
    [
        ("", None, None),
        (None, None, None),
        ("４０", 40, None),
        ("0", 0, None),
        ("1000000000000", 10**12, None),
        ("1000000000001", None, "Units are between 0 and 1,000,000,000,000."),
        (
            "4.5",
            None,
            (
                "Enter a whole number with the digits 0-9, commas only between thousands "
                "(no sign, decimal point or spaces)."
            ),
        ),
        ("-1", None, "This number cannot be negative."),
    ],
)
def test_units_are_a_whole_number_within_bounds(two_royalty_licenses, staff, clock, units, stored, refusal):
    first, _second = two_royalty_licenses()
    clock("2026-04-10")
    q1 = first.royalty_reports.get(period_start=dt.date(2026, 1, 1))
    file = lambda: services.file_royalty_report(report_id=q1.pk, base="10", units=units, by=staff)  # noqa: E731
    if refusal:
        assert _refusal(file) == {"units": [refusal]}
        q1.refresh_from_db()
        assert q1.state == "expected"
    else:
        assert file().units == stored


@pytest.mark.parametrize(
    "typed",
    [
        "3% up to 10,000,000; 2%",
        "3%，1000万以内；2%",
        "1000万元以内3%，以上2%",
        "1000万元以内3%；以上2%",
        "３%，１０００万以内；２%",  # full-width digits from a Chinese input method
        "不超过1000万元的部分3%，超过部分2%",
        "3% 至 10000000\n2%",
    ],
)
def test_tiers_are_read_in_english_and_chinese_and_stored_in_one_form(typed):
    """Issue 22, point 1: "3%，1000万以内；2%" was refused with a message quoting English syntax."""
    tiers = royalties.parse_tiers(typed)
    assert tiers == [royalties.Tier(D("10000000"), D("0.03")), royalties.Tier(None, D("0.02"))]
    assert royalties.format_tiers(tiers) == "3% up to 10,000,000; 2%"


def test_a_bound_in_yi_and_a_flat_rate_in_chinese():
    assert royalties.parse_tiers("1.5亿元以内5%，以上4%") == [
        royalties.Tier(D("150000000"), D("0.05")),
        royalties.Tier(None, D("0.04")),
    ]
    assert royalties.parse_tiers("5%") == [royalties.Tier(None, D("0.05"))]


@pytest.mark.parametrize("typed", ["3% 1000万", "以内3%", "3%，2%", "3% up to 10万; 2% up to 5万; 1%", "十万以内3%"])
def test_rates_in_neither_form_or_out_of_order_are_refused_with_both_examples(typed):
    with pytest.raises(ValidationError) as refused:
        royalties.parse_tiers(typed)
    assert refused.value.messages
