"""Buying after the trial creates a schedule that splits the price exactly, on calendar months."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from licensing import services
from licensing.models import Installment, License
from licensing.selectors import audit_trail

from .factories import OfferFactory


def test_installments_split_the_price_exactly(offer, make_license):
    lic = make_license(offer, "purchased", plan="installments")

    amounts = list(lic.installments.order_by("sequence").values_list("amount", flat=True))
    assert amounts == [Decimal("33333.33"), Decimal("33333.33"), Decimal("33333.34")]
    assert sum(amounts) == Decimal("100000.00")
    assert lic.state == License.State.PURCHASED


def test_due_dates_count_from_the_purchase_date_without_drifting(offer, make_license):
    # trial from 2026-01-31 for 6 months ends 2026-07-31; first due 12 months later, then every 6.
    lic = make_license(offer, "purchased", start="2026-01-31")

    assert lic.purchased_on == dt.date(2026, 7, 31)
    dues = list(lic.installments.order_by("sequence").values_list("due_date", flat=True))
    assert dues == [dt.date(2027, 7, 31), dt.date(2028, 1, 31), dt.date(2028, 7, 31)]


def test_lump_sum_is_one_installment_of_the_whole_price(offer, make_license):
    lic = make_license(offer, "purchased", plan="lump_sum")

    assert list(lic.installments.values_list("amount", "sequence")) == [(Decimal("100000.00"), 1)]


def test_a_plan_the_offer_does_not_allow_is_refused_and_nothing_is_written(institution, make_license, staff):
    offer = OfferFactory(patent__owner=institution, lump_sum_allowed=False, installment_count=4)
    lic = make_license(offer, "trial")

    with pytest.raises(ValidationError) as excinfo:
        services.purchase(license_id=lic.pk, plan="lump_sum", by=staff)

    assert "plan" in excinfo.value.message_dict
    lic.refresh_from_db()
    assert lic.state == License.State.TRIAL
    assert not Installment.objects.filter(license=lic).exists()


def test_insurance_required_blocks_purchase_until_a_policy_is_registered(institution, make_license, staff, clock):
    clock("2026-03-01")  # within the trial
    offer = OfferFactory(patent__owner=institution, insurance_required=True)
    lic = make_license(offer, "trial")

    with pytest.raises(ValidationError, match="insurance"):
        services.purchase(license_id=lic.pk, plan="lump_sum", by=staff)

    services.register_policy(
        license_id=lic.pk,
        by=staff,
        insurer="PICC",
        policy_number="P-1",
        coverage_ratio=Decimal("0.8"),
        starts_on=dt.date(2026, 1, 1),
        ends_on=dt.date(2030, 1, 1),
    )
    assert services.purchase(license_id=lic.pk, plan="lump_sum", by=staff).state == License.State.PURCHASED


def test_purchase_is_recorded_with_who_and_when(offer, make_license, staff):
    lic = make_license(offer, "purchased")

    log = audit_trail(lic).get(action="transition", state="purchased")
    assert (log.source_state, log.transition, log.by) == ("trial", "purchase", staff)
    assert log.changes["plan"][1] == "installments" and log.changes["purchased_on"] == [None, "2026-07-31"]
    schedule = audit_trail(lic).filter(action="created", content_type__model="installment").order_by("pk")
    assert [event.changes["amount"][1] for event in schedule] == [str(i.amount) for i in lic.installments.all()]
    assert {event.by for event in schedule} == {staff}
