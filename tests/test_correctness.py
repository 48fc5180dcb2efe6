"""Correctness found by the acceptance run: no trial, purchase or later decision on a lapsed patent
(effective, holiday-moved dates counted); one rounding rule and splits as even as the fen allows;
one definition of "due" (the effective date) in the admin, the sweep and the dashboard; an admin
POST acts or says why not."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from licensing import services
from licensing.domain.money import cny, split_evenly, split_proportionally
from licensing.models import EquityConversion, License, Offer, Patent

from .factories import EnterpriseFactory, OfferFactory, PatentFactory

# -- lapsed patents --------------------------------------------------------------------------------


def test_a_trial_whose_effective_end_passes_the_expiry_is_refused(institution, staff, clock):
    """Expiry on Saturday 2026-10-03 (National Day holidays): a trial ending that day contractually
    ends effectively on 2026-10-08, after the patent expired."""
    clock("2026-04-03")
    patent = PatentFactory(owner=institution, filing_date=dt.date(2006, 10, 3), expiry_date=dt.date(2026, 10, 3))
    offer = OfferFactory(patent=patent, trial_months=6, installment_count=0, first_due_months=0)
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    with pytest.raises(ValidationError, match="after the patent expires on 2026-10-03"):
        services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 4, 3))
    lic.refresh_from_db()
    assert lic.state == License.State.APPLIED


@pytest.mark.parametrize("lapse", ["invalidated", "lapsed", "expired"])
def test_no_purchase_on_a_patent_no_longer_in_force(offer, make_license, staff, clock, lapse):
    clock("2026-01-31")
    lic = make_license(offer, "trial")
    Patent.objects.filter(pk=offer.patent.pk).update(legal_status=lapse)
    with pytest.raises(ValidationError, match="not in force"):
        services.purchase(license_id=lic.pk, plan="lump_sum", by=staff, on=dt.date(2026, 3, 1))
    lic.refresh_from_db()
    assert lic.state == License.State.TRIAL and not lic.installments.exists()
    services.return_patent(license_id=lic.pk, by=staff)  # returning it is still possible


def test_no_purchase_after_the_expiry_date_passed(institution, staff, clock):
    clock("2026-01-05")
    patent = PatentFactory(owner=institution, filing_date=dt.date(2006, 6, 30), expiry_date=dt.date(2026, 6, 30))
    offer = OfferFactory(patent=patent, trial_months=3, installment_count=0, first_due_months=0)
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 5))
    clock("2026-07-02")  # the trial ended in April: the sweep would expire it; a late purchase is refused
    with pytest.raises(ValidationError):
        services.purchase(license_id=lic.pk, plan="lump_sum", by=staff)


def test_no_equity_proposal_on_a_lapsed_patent(institution, staff, clock):
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, equity_allowed=True, equity_max_share=Decimal("0.5"))
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 31))
    services.purchase(license_id=lic.pk, plan="installments", by=staff, on=dt.date(2026, 3, 2))
    Patent.objects.filter(pk=offer.patent.pk).update(legal_status="invalidated")
    with pytest.raises(ValidationError, match="not in force"):
        services.propose_equity_conversion(license_id=lic.pk, share="0.2", valuation="1000000", by=staff)
    assert not EquityConversion.objects.exists()


# -- rounding ------------------------------------------------------------------------------------


def test_one_rounding_rule_half_up():
    assert cny(Decimal("0.005")) == Decimal("0.01")
    assert cny(Decimal("0.015")) == Decimal("0.02")
    assert cny(Decimal("0.025")) == Decimal("0.03")  # half-even would give 0.02
    assert cny(Decimal("-0.005")) == Decimal("-0.01")


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        ("20000.00", ["33333.33", "33333.34"], ["10000.00", "10000.00"]),  # the review's 9,999.99 / 10,000.01
        ("100000.00", ["1", "1", "1"], ["33333.33", "33333.33", "33333.34"]),
        ("0.02", ["1", "1", "1"], ["0.00", "0.01", "0.01"]),
        ("10.00", ["1", "2", "3", "4"], ["1.00", "2.00", "3.00", "4.00"]),
        ("100.00", ["0.01", "999.99"], ["0.00", "100.00"]),
        ("0.07", ["1", "1", "1", "1", "1", "1"], ["0.01", "0.01", "0.01", "0.01", "0.01", "0.02"]),
    ],
)
def test_splits_add_up_and_are_as_even_as_the_fen_allows(total, weights, expected):
    shares = split_proportionally(Decimal(total), [Decimal(w) for w in weights])
    assert shares == [Decimal(e) for e in expected]
    assert sum(shares) == Decimal(total)
    exact = [Decimal(total) * Decimal(w) / sum(Decimal(x) for x in weights) for w in weights]
    assert all(abs(s - e) < Decimal("0.01") for s, e in zip(shares, exact, strict=True))


def test_split_evenly_differs_by_at_most_a_fen():
    for total, parts in [(Decimal("100000.00"), 7), (Decimal("0.05"), 3), (Decimal("99999.99"), 120)]:
        shares = split_evenly(total, parts)
        assert sum(shares) == total and max(shares) - min(shares) <= Decimal("0.01")


def test_equity_of_20000_over_two_equal_installments_lowers_each_by_10000(institution, staff, clock):
    clock("2026-01-31")
    offer = OfferFactory(
        patent__owner=institution,
        price=Decimal("66666.67"),
        installment_count=2,
        equity_allowed=True,
        equity_max_share=Decimal("0.5"),
    )
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 31))
    services.purchase(license_id=lic.pk, plan="installments", by=staff, on=dt.date(2026, 3, 2))
    amounts = [i.amount for i in lic.installments.order_by("sequence")]
    assert amounts == [Decimal("33333.33"), Decimal("33333.34")]
    share = Decimal("20000.00") / Decimal("66666.67")
    conversion = services.propose_equity_conversion(
        license_id=lic.pk, share=share.quantize(Decimal("0.0001")), valuation="1000000", by=staff
    )
    services.approve_equity_conversion(conversion_id=conversion.pk, by=staff)
    services.execute_equity_conversion(conversion_id=conversion.pk, by=staff)
    conversion.refresh_from_db()
    after = [i.amount for i in lic.installments.order_by("sequence")]
    reductions = [b - a for b, a in zip(amounts, after, strict=True)]
    assert sum(reductions) == conversion.converted_amount
    assert max(reductions) - min(reductions) <= Decimal("0.01")


# -- one definition of "due" -----------------------------------------------------------------------


def test_the_admin_reads_due_dates_as_the_sweep_does(admin_client, institution, staff, clock):
    """An installment due on Saturday 2026-10-03 (National Day holidays) is due, effectively, on
    Thursday 2026-10-08: on 2026-10-05
    it is not overdue in the sweep, the dashboard, the admin filter or the next-due column."""
    clock("2026-01-31")
    offer = OfferFactory(patent__owner=institution, trial_months=1, installment_count=0, first_due_months=0)
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 9, 3))
    services.purchase(license_id=lic.pk, plan="lump_sum", by=staff, on=dt.date(2026, 10, 3))
    inst = lic.installments.get()
    assert inst.due_date == dt.date(2026, 10, 3) and inst.effective_due_date == dt.date(2026, 10, 8)
    clock("2026-10-05")
    url = reverse("admin:licensing_license_changelist")
    overdue = admin_client.get(url, {"due": "overdue"}).context["cl"].result_list
    assert list(overdue) == []
    soon = admin_client.get(url, {"due": "7"}).context["cl"]
    assert list(soon.result_list) == [lic]
    assert soon.result_list[0].next_due_date == dt.date(2026, 10, 8)
    clock("2026-10-09")
    assert list(admin_client.get(url, {"due": "overdue"}).context["cl"].result_list) == [lic]


# -- admin POSTs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["publish"])
def test_an_empty_post_to_a_fieldless_action_acts(admin_client, institution, action):
    offer = OfferFactory(patent__owner=institution, state=Offer.State.DRAFT)
    response = admin_client.post(reverse("admin:licensing_offer_act", args=[offer.pk, action]), {})
    assert response.status_code == 302
    offer.refresh_from_db()
    assert offer.state == Offer.State.PUBLISHED


def test_an_empty_post_to_an_action_with_fields_says_what_is_missing(admin_client, two_institutions):
    lic = two_institutions["A"]["license"]
    response = admin_client.post(
        reverse("admin:licensing_license_act", args=[lic.pk, "terminate"]), {}, headers={"accept-language": "en"}
    )
    assert response.status_code == 200 and b"This field is required" in response.content
    lic.refresh_from_db()
    assert lic.state == License.State.PURCHASED


def test_an_empty_post_in_the_portal_says_what_is_missing(sme_client, offer):
    response = sme_client.post(f"/patents/{offer.pk}/apply/", {})
    assert response.status_code == 200 and b"This field is required" in response.content
