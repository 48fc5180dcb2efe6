"""The payment page separates overdue, due now and later, and is prefilled with what is due now
(issue 22, point 3); the payee block groups the account number and names the transfer remark
(point 5)."""

import datetime as dt
from decimal import Decimal as D

import pytest

from licensing import selectors
from licensing.domain.numbers import digit_groups

from .factories import OfferFactory


@pytest.fixture
def bought(institution, make_license, clock, sme_client):
    """90,000.00 in 3 installments of 30,000.00 every 6 months from 2026-07-31, and a CNY 50,000
    milestone 18 months after the purchase (2028-01-31)."""
    institution.payee_name, institution.payee_bank = "Jinghua University", "ICBC Haidian"
    institution.payee_account = "0200004509001234567"
    institution.save()
    clock("2026-01-31")
    offer = OfferFactory(
        patent__owner=institution,
        price=D("90000.00"),
        installment_count=3,
        first_due_months=0,
        installment_interval_months=6,
    )
    offer.milestones.create(name="Eighteen months on", amount=D("50000.00"), due_months=18)
    return make_license(offer, "purchased", start="2026-01-31", enterprise=sme_client.member.enterprise)


def test_overdue_due_now_and_later_are_apart_and_the_form_asks_for_what_is_due_now(bought, sme_client, clock):
    clock("2026-09-10")  # the first installment (2026-07-31) is late; the second falls due 2027-02-01
    position = selectors.money_position(bought, dt.date(2026, 9, 10))
    assert [(r.kind, r.sequence) for r in position.overdue] == [("purchase", 1)]
    assert [(r.kind, r.sequence, r.effective_due_date) for r in position.due_now] == [
        ("purchase", 2, dt.date(2027, 2, 1))  # 2027-01-31 is a Sunday
    ]
    assert [(r.kind, r.sequence) for r in position.later] == [("purchase", 3), ("milestone", 1)]
    assert (position.overdue_total, position.due_now_total, position.to_pay_now) == (
        D("30000.00"),
        D("30000.00"),
        D("60000.00"),
    )

    response = sme_client.get(f"/licenses/{bought.pk}/payments/new/")
    page = response.content.decode()
    assert response.context["form"]["amount"].value() == D("60000.00")  # not the 140,000.00 outstanding
    assert "41 days late" in page and "Due by 2027-02-01" in page
    assert 'Milestone payment 1 · CNY 50,000.00 · <span class="date">2028-01-31</span>' in page  # later, not summed
    assert "0200 0045 0900 1234 567" in page and "Transfer remark" in page and f"License #{bought.pk}" in page


def test_nothing_owed_leaves_the_amount_empty(bought, sme_client, clock, staff):
    from licensing import services

    clock("2026-02-01")
    services.record_payment(
        license_id=bought.pk,
        amount=D("140000.00"),
        paid_on=dt.date(2026, 2, 1),
        reference="ICBC-all",
        idempotency_key="all",
        by=staff,
    )
    position = selectors.money_position(bought, dt.date(2026, 2, 1))
    assert position.to_pay_now == D("0") and not (position.overdue or position.due_now or position.later)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("0200004509001234567", "0200 0045 0900 1234 567"),
        ("6222 0202 0001 2345", "6222 0202 0001 2345"),
        (" 62220202 ", "6222 0202"),
        ("02 000045 09", "0200 0045 09"),  # spaced anyhow: regrouped by four
        ("ICBC-0200-0045", "ICBC-0200-0045"),  # not only digits: as typed
        ("０２００", "０２００"),  # full-width digits are not regrouped
        ("", ""),
    ],
)
def test_an_account_number_is_shown_in_groups_of_four(typed, shown):
    assert digit_groups(typed) == shown


def test_the_next_report_is_what_is_due_now_and_a_long_term_folds(institution, make_license, clock, sme_client):
    """A royalty license with a milestone next year: due now is the quarter's report (its royalty is
    due with it), not the milestone, which is listed later; 15 years of quarters fold away."""
    clock("2027-01-11")
    offer = OfferFactory(
        patent__owner=institution,
        patent__expiry_date=dt.date(2041, 3, 1),
        price=D("0"),
        royalty_base="net_sales",
        royalty_rates="2%",
        reporting_period="quarter",
        report_due_days=30,
    )
    offer.milestones.create(name="Eighteen months on", amount=D("50000.00"), due_months=18)
    lic = make_license(offer, "purchased", start="2026-12-07", plan="lump_sum", enterprise=sme_client.member.enterprise)

    first_report = lic.royalty_reports.order_by("period_start").first()
    assert first_report.due_date == dt.date(2027, 7, 30)  # bought at the trial's end, 2027-06-07
    clock("2027-06-08")
    position = selectors.money_position(lic, dt.date(2027, 6, 8))
    assert [(r.kind, r.sequence, r.effective_due_date) for r in position.due_now] == [
        ("royalty", 1, dt.date(2027, 7, 30))
    ]
    assert position.due_now_total == D("0") and position.to_pay_now == D("0")
    assert ("milestone", 1) in [(r.kind, r.sequence) for r in position.later]
    assert len(position.later_first) == 6 and len(position.later_rest) == len(position.later) - 6 > 40

    sme_client.force_login(sme_client.member.user)  # months on: a new session
    page = sme_client.get(f"/licenses/{lic.pk}/").content.decode()
    assert "Due by 2027-07-30" in page and "CNY 50,000.00</strong>" not in page
    assert f"{len(position.later_rest)} more, to the end of the term</summary>" in page


def test_a_deferred_periods_report_is_due_before_its_royalty(institution, make_license, clock, sme_client):
    """Point 3: the deferral holds back payments, not reports. A deferred period's row says when
    its report is due and when its royalty is payable; the header names the royalty, not a report."""
    clock("2027-06-08")
    offer = OfferFactory(
        patent__owner=institution,
        price=D("0"),
        royalty_base="net_sales",
        royalty_rates="2%",
        reporting_period="quarter",
        report_due_days=30,
        deferred_months=12,
    )
    lic = make_license(offer, "purchased", start="2026-12-07", plan="lump_sum", enterprise=sme_client.member.enterprise)
    first = lic.royalty_reports.order_by("period_start").first()
    assert first.due_date == dt.date(2027, 7, 30) and lic.payments_start == dt.date(2028, 6, 7)

    sme_client.force_login(sme_client.member.user)
    page = sme_client.get(f"/licenses/{lic.pk}/").content.decode()
    assert 'Royalty 1 · report by 2027-07-30, royalty payable · <span class="date">2028-06-07</span>' in page
    assert "Royalty by 2028-06-07, its amount from your report" in page
