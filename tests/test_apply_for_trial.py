"""Who may apply: exclusivity, patent in force, one live license per enterprise and patent."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from licensing import services
from licensing.models import License, Offer, Patent

from .factories import EnterpriseFactory, OfferFactory


def test_application_copies_the_contract_terms_from_the_offer(offer, enterprise):
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise, intended_use="Pilot line")

    assert (lic.state, lic.price, lic.trial_fee, lic.intended_use) == (
        "applied",
        offer.price,
        offer.trial_fee,
        "Pilot line",
    )


def test_second_application_to_an_exclusive_offer_is_refused(institution, enterprise):
    offer = OfferFactory(patent__owner=institution, license_type="exclusive")
    services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise)

    with pytest.raises(ValidationError, match="exclusively"):
        services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    assert License.objects.count() == 1


def test_exclusive_offer_cannot_be_taken_while_a_non_exclusive_license_is_live(institution, enterprise):
    patent = OfferFactory(patent__owner=institution).patent
    services.apply_for_trial(offer_id=patent.offers.get().pk, enterprise=enterprise)
    exclusive = OfferFactory(patent=patent, license_type="exclusive")

    with pytest.raises(ValidationError, match="licensed to another enterprise now: an exclusive or sole license is"):
        services.apply_for_trial(offer_id=exclusive.pk, enterprise=EnterpriseFactory())


def test_exclusive_patent_is_free_again_once_the_license_ends(institution, enterprise, staff):
    offer = OfferFactory(patent__owner=institution, license_type="exclusive")
    first = services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise)
    services.reject_application(license_id=first.pk, by=staff, reason="Incomplete file")

    second = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    assert second.state == "applied"


def test_non_exclusive_offer_takes_many_licensees_but_one_live_license_per_enterprise(offer, enterprise):
    services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise)

    with pytest.raises(ValidationError, match="already has a live license"):
        services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise)


@pytest.mark.parametrize(
    "status", [Patent.LegalStatus.LAPSED, Patent.LegalStatus.INVALIDATED, Patent.LegalStatus.EXPIRED]
)
def test_patent_not_in_force_cannot_be_applied_for(offer, enterprise, status):
    Patent.objects.filter(pk=offer.patent_id).update(legal_status=status)

    with pytest.raises(ValidationError, match=r"is not in force on .* \(expired or no longer valid\)"):
        services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise)


def test_patent_past_its_expiry_date_cannot_be_applied_for(offer, enterprise, clock):
    Patent.objects.filter(pk=offer.patent_id).update(expiry_date=dt.date(2026, 6, 30))
    clock("2026-07-01")

    with pytest.raises(ValidationError, match="expired"):
        services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise)


@pytest.mark.parametrize("state", [Offer.State.DRAFT, Offer.State.WITHDRAWN])
def test_unpublished_offer_takes_no_applications(institution, enterprise, state):
    offer = OfferFactory(patent__owner=institution, state=state)

    with pytest.raises(ValidationError, match="not open"):
        services.apply_for_trial(offer_id=offer.pk, enterprise=enterprise)
