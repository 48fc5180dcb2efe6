"""Payments: oldest installment first, partial payments, no overpayment, idempotent."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from licensing import services
from licensing.models import License, Payment


@pytest.fixture
def purchased(offer, make_license, clock):
    clock("2026-08-01")
    return make_license(offer, "purchased", start="2026-01-31")  # 3 x 33,333.33/.33/.34


def pay(lic, amount, key, by, on=dt.date(2026, 8, 1)):
    return services.record_payment(
        license_id=lic.pk, amount=Decimal(amount), paid_on=on, reference=f"BANK-{key}", idempotency_key=key, by=by
    )


def test_partial_payment_reduces_what_is_due_on_the_oldest_installment(purchased, staff):
    pay(purchased, "10000.00", "k1", staff)

    first, second, third = purchased.installments.order_by("sequence")
    assert (first.paid_amount, first.outstanding, first.state) == (Decimal("10000.00"), Decimal("23333.33"), "due")
    assert second.paid_amount == third.paid_amount == Decimal("0.00")


def test_payment_spanning_installments_pays_them_in_order(purchased, staff):
    pay(purchased, "40000.00", "k1", staff)

    first, second, _ = purchased.installments.order_by("sequence")
    assert (first.state, first.outstanding) == ("paid", Decimal("0.00"))
    assert (second.state, second.paid_amount) == ("due", Decimal("6666.67"))


def test_paying_everything_makes_the_license_paid_up(purchased, staff):
    pay(purchased, "60000.00", "k1", staff)
    pay(purchased, "40000.00", "k2", staff)

    purchased.refresh_from_db()
    assert purchased.state == License.State.PAID_UP
    assert set(purchased.installments.values_list("state", flat=True)) == {"paid"}


def test_payment_above_the_outstanding_amount_pays_everything_and_keeps_the_rest_as_credit(purchased, staff):
    payment = pay(purchased, "100000.01", "k1", staff)

    purchased.refresh_from_db()
    assert purchased.state == License.State.PAID_UP and purchased.credit == Decimal("0.01")
    movement = purchased.credit_movements.get()
    assert (movement.kind, movement.amount, movement.payment) == ("overpayment", Decimal("0.01"), payment)
    assert sum(i.paid_amount for i in purchased.installments.all()) == Decimal("100000.00")


def test_same_idempotency_key_twice_records_the_payment_once(purchased, staff):
    first = pay(purchased, "5000.00", "same-key", staff)
    again = pay(purchased, "5000.00", "same-key", staff)

    assert again.pk == first.pk
    assert Payment.objects.count() == 1
    assert purchased.installments.order_by("sequence").first().paid_amount == Decimal("5000.00")


def test_reused_idempotency_key_for_another_amount_is_refused(purchased, staff):
    pay(purchased, "5000.00", "same-key", staff)
    with pytest.raises(ValidationError, match="different payment"):
        pay(purchased, "6000.00", "same-key", staff)


@pytest.mark.parametrize(("amount", "field"), [("0", "amount"), ("-5", "amount"), ("10.001", "amount")])
def test_bad_amounts_are_refused(purchased, staff, amount, field):
    with pytest.raises(ValidationError) as excinfo:
        pay(purchased, amount, "k", staff)
    assert field in excinfo.value.message_dict


def test_future_payment_date_is_refused(purchased, staff):
    with pytest.raises(ValidationError) as excinfo:
        pay(purchased, "10.00", "k", staff, on=dt.date(2026, 8, 2))
    assert "paid_on" in excinfo.value.message_dict


def test_payment_is_refused_once_the_license_is_closed(offer, make_license, staff):
    lic = make_license(offer, "applied")
    services.reject_application(license_id=lic.pk, by=staff, reason="No")
    with pytest.raises(ValidationError, match="cannot be recorded while the license is Rejected"):
        pay(lic, "10.00", "k", staff, on=dt.date(2020, 1, 1))


def test_trial_fee_is_paid_like_an_installment(institution, make_license, staff, clock):
    from .factories import OfferFactory

    clock("2026-03-05")
    offer = OfferFactory(patent__owner=institution, trial_fee=Decimal("1500.00"))
    lic = make_license(offer, "trial", start="2026-03-01")

    pay(lic, "1500.00", "fee", staff, on=dt.date(2026, 3, 5))
    assert lic.installments.get().state == "paid"
    lic.refresh_from_db()
    assert lic.state == License.State.TRIAL


def test_idempotency_keys_belong_to_one_license(offer, make_license, purchased, staff):
    """Another license's key is not this license's business: nobody can take or probe it."""
    from .factories import EnterpriseFactory

    other = make_license(offer, "purchased", start="2026-01-31", enterprise=EnterpriseFactory())
    pay(purchased, "5000.00", "shared-key", staff)
    pay(other, "5000.00", "shared-key", staff)
    assert Payment.objects.filter(idempotency_key="shared-key").count() == 2
