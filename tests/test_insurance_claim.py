"""On default an insured license files a claim for coverage x outstanding; the insurer pays."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from licensing import services
from licensing.models import InsuranceClaim, License


@pytest.fixture
def defaulted(offer, make_license, staff, clock):
    clock("2026-01-31")
    lic = make_license(offer, "trial", start="2026-01-31")
    services.register_policy(
        license_id=lic.pk,
        by=staff,
        kind="insurance",
        insurer="PICC Property and Casualty",
        policy_number="PI-2026-001",
        coverage_ratio=Decimal("0.8"),
        premium=Decimal("1200.00"),
        starts_on=dt.date(2026, 1, 31),
        ends_on=dt.date(2031, 1, 31),
    )
    services.purchase(license_id=lic.pk, plan="installments", by=staff, on=dt.date(2026, 7, 31))
    clock("2027-08-10")
    services.record_payment(
        license_id=lic.pk,
        amount=Decimal("10000.00"),
        paid_on=dt.date(2027, 8, 10),
        reference="B1",
        idempotency_key="k1",
        by=staff,
    )
    services.mark_overdue(license_id=lic.pk)
    clock("2027-11-01")
    return services.declare_default(license_id=lic.pk, by=staff)


def test_claim_is_coverage_times_outstanding(defaulted, staff):
    claim = services.file_claim(license_id=defaulted.pk, by=staff)

    assert claim.outstanding_at_filing == Decimal("90000.00")
    assert claim.claimed_amount == Decimal("72000.00")
    defaulted.refresh_from_db()
    assert defaulted.state == License.State.CLAIM_FILED


def test_paid_claim_compensates_the_license(defaulted, staff):
    claim = services.file_claim(license_id=defaulted.pk, by=staff)
    services.approve_claim(claim_id=claim.pk, by=staff)
    services.record_claim_paid(claim_id=claim.pk, amount=Decimal("72000.00"), by=staff)

    claim.refresh_from_db()
    defaulted.refresh_from_db()
    assert (claim.state, claim.paid_amount) == (InsuranceClaim.State.PAID, Decimal("72000.00"))
    assert defaulted.state == License.State.COMPENSATED


def test_insurer_cannot_pay_more_than_claimed(defaulted, staff):
    claim = services.file_claim(license_id=defaulted.pk, by=staff)
    services.approve_claim(claim_id=claim.pk, by=staff)

    with pytest.raises(ValidationError, match=r"more than the claimed 72000\.00"):
        services.record_claim_paid(claim_id=claim.pk, amount=Decimal("72000.01"), by=staff)
    claim.refresh_from_db()
    assert claim.state == InsuranceClaim.State.APPROVED


def test_open_claim_blocks_write_off_until_rejected(defaulted, staff):
    claim = services.file_claim(license_id=defaulted.pk, by=staff)
    with pytest.raises(ValidationError, match="claim is still open"):
        services.write_off(license_id=defaulted.pk, by=staff, reason="Give up")

    services.reject_claim(claim_id=claim.pk, by=staff, reason="Policy excluded wilful default")
    lic = services.write_off(license_id=defaulted.pk, by=staff, reason="Claim rejected, SME insolvent")
    assert lic.state == License.State.WRITTEN_OFF


def test_second_policy_on_one_license_is_refused(defaulted, staff):
    with pytest.raises(ValidationError, match="already has an insurance policy"):
        services.register_policy(
            license_id=defaulted.pk,
            by=staff,
            insurer="X",
            policy_number="2",
            coverage_ratio=Decimal("0.5"),
            starts_on=dt.date(2026, 1, 1),
            ends_on=dt.date(2027, 1, 1),
        )


def test_policy_cannot_be_registered_on_a_closed_license(offer, make_license, staff):
    lic = make_license(offer, "applied")
    services.reject_application(license_id=lic.pk, by=staff, reason="Out of scope")

    with pytest.raises(ValidationError, match="cannot be registered while the license is Rejected"):
        services.register_policy(
            license_id=lic.pk,
            by=staff,
            insurer="X",
            policy_number="2",
            coverage_ratio=Decimal("0.5"),
            starts_on=dt.date(2026, 1, 1),
            ends_on=dt.date(2027, 1, 1),
        )
