"""Overdue installments put a license in arrears; paying cures it; past the grace days it defaults."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from licensing import services
from licensing.models import License


@pytest.fixture
def purchased(offer, make_license, clock):
    clock("2026-01-31")
    # first 33,333.33 due Saturday 2027-07-31: effective due date Monday 2027-08-02
    return make_license(offer, "purchased", start="2026-01-31")


def test_installment_is_overdue_only_the_day_after_its_effective_due_date(purchased, staff, clock):
    assert purchased.installments.first().effective_due_date == dt.date(2027, 8, 2)
    clock("2027-08-02")
    assert services.mark_overdue(license_id=purchased.pk).state == License.State.PURCHASED

    clock("2027-08-03")
    lic = services.mark_overdue(license_id=purchased.pk)
    assert lic.state == License.State.IN_ARREARS
    assert list(lic.installments.values_list("state", flat=True)) == ["overdue", "due", "due"]


def test_paying_the_overdue_installment_cures_the_arrears(purchased, staff, clock):
    clock("2027-08-05")
    services.mark_overdue(license_id=purchased.pk)

    services.record_payment(
        license_id=purchased.pk,
        amount=Decimal("33333.33"),
        paid_on=dt.date(2027, 8, 5),
        reference="B1",
        idempotency_key="cure",
        by=staff,
    )

    purchased.refresh_from_db()
    assert purchased.state == License.State.PURCHASED


def test_partial_payment_does_not_cure(purchased, staff, clock):
    clock("2027-08-05")
    services.mark_overdue(license_id=purchased.pk)
    services.record_payment(
        license_id=purchased.pk,
        amount=Decimal("33333.32"),
        paid_on=dt.date(2027, 8, 5),
        reference="B1",
        idempotency_key="short",
        by=staff,
    )

    purchased.refresh_from_db()
    assert purchased.state == License.State.IN_ARREARS


def test_default_is_refused_within_the_grace_days_and_allowed_after(purchased, staff, clock):
    clock("2027-08-03")
    services.mark_overdue(license_id=purchased.pk)

    clock("2027-10-31")  # 90 days after the effective due date 2027-08-02
    with pytest.raises(ValidationError, match="grace period of 90 days"):
        services.declare_default(license_id=purchased.pk, by=staff)

    clock("2027-11-01")
    lic = services.declare_default(license_id=purchased.pk, by=staff, reason="No answer to three letters")
    assert (lic.state, lic.defaulted_on) == (License.State.DEFAULTED, dt.date(2027, 11, 1))


def test_defaulted_license_accepts_no_more_payments(purchased, staff, clock):
    clock("2027-08-05")
    services.mark_overdue(license_id=purchased.pk)
    clock("2027-11-05")
    services.declare_default(license_id=purchased.pk, by=staff)

    with pytest.raises(ValidationError, match="Defaulted"):
        services.record_payment(
            license_id=purchased.pk,
            amount=Decimal("1.00"),
            paid_on=dt.date(2027, 11, 1),
            reference="late",
            idempotency_key="late",
            by=staff,
        )


def test_uninsured_default_is_written_off_with_a_reason(purchased, staff, clock):
    clock("2027-08-05")
    services.mark_overdue(license_id=purchased.pk)
    clock("2027-11-05")
    services.declare_default(license_id=purchased.pk, by=staff)

    with pytest.raises(ValidationError, match="no insurance"):
        services.file_claim(license_id=purchased.pk, by=staff)
    lic = services.write_off(license_id=purchased.pk, by=staff, reason="Enterprise bankrupt")
    assert lic.state == License.State.WRITTEN_OFF
