"""'Transfer then equity': executing a conversion lowers what is owed by exactly the converted amount."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from licensing import services
from licensing.models import EquityConversion, License

from .factories import OfferFactory


@pytest.fixture
def equity_offer(institution):
    return OfferFactory(patent__owner=institution, equity_allowed=True, equity_max_share=Decimal("0.5"))


@pytest.fixture
def purchased(equity_offer, make_license, clock):
    clock("2026-08-01")
    return make_license(equity_offer, "purchased", start="2026-01-31")


def test_executed_conversion_lowers_the_remaining_installments_exactly(purchased, staff):
    services.record_payment(
        license_id=purchased.pk,
        amount=Decimal("10000.00"),
        paid_on=dt.date(2026, 8, 1),
        reference="B",
        idempotency_key="k",
        by=staff,
    )
    conversion = services.propose_equity_conversion(license_id=purchased.pk, share="0.3", valuation="5000000", by=staff)
    assert conversion.converted_amount == Decimal("27000.00")  # 30% of 90,000.00 remaining
    assert conversion.stake == Decimal("0.005400")

    services.approve_equity_conversion(conversion_id=conversion.pk, by=staff)
    services.execute_equity_conversion(conversion_id=conversion.pk, by=staff)

    installments = list(purchased.installments.order_by("sequence"))
    assert sum(i.outstanding for i in installments) == Decimal("63000.00")
    assert sum(i.amount for i in installments) == Decimal("73000.00")
    assert all(i.paid_amount <= i.amount for i in installments)


def test_share_above_the_offer_maximum_is_refused(purchased, staff):
    with pytest.raises(ValidationError) as excinfo:
        services.propose_equity_conversion(license_id=purchased.pk, share="0.51", valuation="1000000", by=staff)
    assert "50.00%" in excinfo.value.message_dict["share"][0]
    assert not EquityConversion.objects.exists()


def test_offer_without_equity_refuses_conversion(offer, make_license, staff, clock):
    clock("2026-08-01")
    lic = make_license(offer, "purchased", start="2026-01-31")
    with pytest.raises(ValidationError, match="terms do not allow converting"):
        services.propose_equity_conversion(license_id=lic.pk, share="0.1", valuation="1000000", by=staff)


def test_only_one_pending_conversion_at_a_time(purchased, staff):
    services.propose_equity_conversion(license_id=purchased.pk, share="0.1", valuation="1000000", by=staff)
    with pytest.raises(ValidationError, match="already pending"):
        services.propose_equity_conversion(license_id=purchased.pk, share="0.1", valuation="1000000", by=staff)


def test_conversion_of_everything_left_makes_the_license_paid_up(institution, make_license, staff, clock):
    clock("2026-08-01")
    offer = OfferFactory(patent__owner=institution, equity_allowed=True, equity_max_share=Decimal("1"))
    lic = make_license(offer, "purchased", start="2026-01-31")
    conversion = services.propose_equity_conversion(license_id=lic.pk, share="1", valuation="800000", by=staff)
    services.approve_equity_conversion(conversion_id=conversion.pk, by=staff)
    services.execute_equity_conversion(conversion_id=conversion.pk, by=staff)

    lic.refresh_from_db()
    assert lic.state == License.State.PAID_UP


def test_rejected_conversion_changes_nothing_owed(purchased, staff):
    conversion = services.propose_equity_conversion(license_id=purchased.pk, share="0.2", valuation="1000000", by=staff)
    services.reject_equity_conversion(conversion_id=conversion.pk, by=staff, reason="Valuation too high")

    assert sum(i.outstanding for i in purchased.installments.all()) == Decimal("100000.00")
    with pytest.raises(ValidationError, match="not possible"):
        services.execute_equity_conversion(conversion_id=conversion.pk, by=staff)
