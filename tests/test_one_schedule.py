"""Issue 21, point 2: one schedule and one bound. The buy page's preview is the schedule the
purchase writes (a deferral and dated milestones included), and an offer's schedule is bounded
by its package's life, every dated amount in it, when the offer is saved and published."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from licensing import services
from licensing.models import Installment, OfferMilestone

from .factories import OfferFactory, PatentFactory

INSTALLMENTS_DEFERRED = {
    "price": D("90000.00"),
    "installment_count": 3,
    "first_due_months": 0,
    "installment_interval_months": 6,
    "lump_sum_allowed": False,
    "deferred_months": 12,
}


def test_the_preview_is_the_schedule_the_purchase_writes(sme_client, institution, make_license, clock):
    """The issue's example: with 12 months deferred the preview said 2026-04-01 / 2026-10-01 /
    2027-04-01 while the purchase wrote 2027-03-01 / 2027-03-01 / 2027-04-01 (bought 2026-03-01)."""
    clock("2026-03-01")
    offer = OfferFactory(patent__owner=institution, **INSTALLMENTS_DEFERRED)
    OfferMilestone.objects.create(offer=offer, name="18 months", amount=D("50000.00"), due_months=18)
    lic = make_license(offer, "trial", start="2025-09-01", enterprise=sme_client.member.enterprise)
    sme_client.cookies["django_language"] = "en"

    preview = sme_client.post(f"/licenses/{lic.pk}/buy/", {"plan": "installments", "seen_state": "trial"})
    shown = [(row.amount, row.due_date) for row in preview.context["owed"].schedule]
    services.purchase(license_id=lic.pk, plan="installments", by=sme_client.member.user)
    written = [
        (i.amount, i.due_date)
        for i in Installment.objects.filter(license=lic).order_by("effective_due_date", "kind", "sequence")
    ]

    assert shown == written
    assert [due for _a, due in written] == [
        dt.date(2027, 3, 1),  # held back from 2026-03-01
        dt.date(2027, 3, 1),  # held back from 2026-09-01
        dt.date(2027, 3, 1),  # 2027-03-01 itself
        dt.date(2027, 9, 1),  # the milestone, 18 months after the purchase
    ]


def _package(institution, lead_expiry: dt.date, other_expiry: dt.date):
    lead = PatentFactory(owner=institution, expiry_date=lead_expiry)
    other = PatentFactory(owner=institution, expiry_date=other_expiry)
    return lead, other


@pytest.mark.parametrize("lead_first", [True, False])
def test_a_schedule_that_outlives_its_lead_but_not_the_package_is_accepted_whichever_patent_leads(
    institution, staff, clock, lead_first
):
    clock("2026-03-01")
    short, long = _package(institution, dt.date(2027, 6, 1), dt.date(2035, 6, 1))
    lead, other = (short, long) if lead_first else (long, short)
    offer = OfferFactory(patent=lead, state="draft", price=D("1000.00"), first_due_months=24, installment_count=0)
    services.set_package(offer_id=offer.pk, patents=[other], by=staff)
    offer.refresh_from_db()
    offer.full_clean(exclude=["state"])  # runs to 2028-09: after the short patent, before the long one
    assert services.publish_offer(offer_id=offer.pk, by=staff).state == "published"


def test_a_dated_milestone_after_the_package_expires_is_refused_when_the_offer_is_published(institution, staff, clock):
    """The issue's case: published, tried for a whole trial, and then the purchase was refused."""
    clock("2026-03-01")
    patent = PatentFactory(owner=institution, expiry_date=dt.date(2028, 6, 1))
    offer = OfferFactory(patent=patent, state="draft", price=D("0"), installment_count=0, trial_months=6)
    OfferMilestone.objects.create(offer=offer, name="3 years", amount=D("50000.00"), due_months=36)

    with pytest.raises(ValidationError, match="after the patent expires on 2028-06-01"):
        services.publish_offer(offer_id=offer.pk, by=staff)
    offer.refresh_from_db()
    assert offer.state == "draft"
