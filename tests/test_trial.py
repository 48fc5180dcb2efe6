"""Approving, rejecting, returning, expiring and terminating trials."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from licensing import services
from licensing.models import Installment, License, Patent
from licensing.selectors import audit_trail

from .factories import OfferFactory


def test_trial_from_jan_31_for_one_month_ends_on_the_last_day_of_february(institution, make_license):
    offer = OfferFactory(patent__owner=institution, trial_months=1)
    lic = make_license(offer, "trial", start="2026-01-31")

    assert (lic.trial_start, lic.trial_end) == (dt.date(2026, 1, 31), dt.date(2026, 2, 28))


def test_trial_cannot_end_after_the_patent_expires(offer, make_license, staff, clock):
    clock("2026-01-01")
    Patent.objects.filter(pk=offer.patent_id).update(expiry_date=dt.date(2026, 5, 1))
    lic = make_license(offer, "applied")

    with pytest.raises(ValidationError, match="after the patent expires"):
        services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 1, 1))
    lic.refresh_from_db()
    assert lic.state == "applied" and lic.trial_start is None


def test_non_zero_trial_fee_is_due_when_the_trial_starts(institution, make_license):
    offer = OfferFactory(patent__owner=institution, trial_fee=Decimal("2000.00"))
    lic = make_license(offer, "trial", start="2026-03-02")

    fee = lic.installments.get()
    assert (fee.kind, fee.amount, fee.due_date) == (Installment.Kind.TRIAL_FEE, Decimal("2000.00"), dt.date(2026, 3, 2))


def test_free_trial_creates_nothing_to_pay(offer, make_license):
    assert not make_license(offer, "trial").installments.exists()


def test_every_transition_is_logged_with_who_when_and_why(offer, make_license, staff, clock):
    clock("2026-02-10")
    lic = make_license(offer, "applied")
    services.reject_application(license_id=lic.pk, by=staff, reason="Not an SME in our region")

    log = audit_trail(lic).get(action="transition")
    assert (log.by, log.source_state, log.state, log.reason) == (
        staff,
        "applied",
        "rejected",
        "Not an SME in our region",
    )
    assert log.at.date() == dt.date(2026, 2, 10)


@pytest.mark.parametrize("service", [services.reject_application, services.terminate])
def test_decisions_that_need_a_reason_refuse_an_empty_one(offer, make_license, staff, service):
    lic = make_license(offer, "applied" if service is services.reject_application else "trial")
    state = lic.state

    with pytest.raises(ValidationError) as excinfo:
        service(license_id=lic.pk, by=staff, reason="   ")
    assert "reason" in excinfo.value.message_dict
    lic.refresh_from_db()
    assert lic.state == state
    assert not audit_trail(lic).filter(state__in=["rejected", "terminated"]).exists()


def test_sme_returns_the_patent_during_the_trial(offer, make_license, staff):
    lic = services.return_patent(license_id=make_license(offer, "trial").pk, by=staff, reason="Did not fit our line")
    assert lic.state == License.State.RETURNED


def test_trial_expires_only_after_its_end_date(offer, make_license, clock):
    clock("2026-01-31")
    lic = make_license(offer, "trial", start="2026-01-31")  # ends 2026-07-31

    clock("2026-07-31")
    with pytest.raises(ValidationError, match="The trial runs until 2026-07-31"):
        services.expire_trial(license_id=lic.pk)

    clock("2026-08-01")
    assert services.expire_trial(license_id=lic.pk).state == License.State.EXPIRED
    assert audit_trail(lic).first().by is None  # the system did it


def test_wrong_state_gives_a_clear_error(offer, make_license, staff):
    lic = make_license(offer, "applied")

    with pytest.raises(ValidationError, match=r"“Purchase” is not possible while License #\d+ is “Applied”"):
        services.purchase(license_id=lic.pk, plan="lump_sum", by=staff)


def test_tto_terminates_a_purchased_license_with_a_reason(offer, make_license, staff):
    lic = make_license(offer, "purchased")
    lic = services.terminate(license_id=lic.pk, by=staff, reason="Licensee dissolved")
    assert lic.state == License.State.TERMINATED


def test_every_transition_condition_says_why_it_refuses():
    """Each condition of every lifecycle carries its refusal (models.refuses_with), which the
    services' runner reports: no service re-checks a condition to word an error."""
    from django.apps import apps
    from django_fsm import FSMFieldMixin

    missing = []
    for model in apps.get_app_config("licensing").get_models():
        for field in model._meta.fields:
            if not isinstance(field, FSMFieldMixin):
                continue
            for transition in field.get_all_transitions(model):
                for condition in transition.conditions:
                    if not hasattr(condition, "refusal"):
                        missing.append(f"{model.__name__}.{transition.name}: {condition.__name__}")
    assert missing == []
