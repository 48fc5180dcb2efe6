"""Offers: publish and withdraw."""

from django.db import transaction

from ..models import (
    Offer,
    today,
)
from ._runner import (
    _require_patent_in_force,
    _require_reason,
    _run,
)


@transaction.atomic
def publish_offer(*, offer_id: int, by) -> Offer:
    offer = Offer.objects.select_for_update().select_related("patent").get(pk=offer_id)
    _require_patent_in_force(offer.patent, today())
    offer.full_clean(exclude=["state"])  # the protected FSM field is not re-assigned
    _run(offer, "publish", by=by)
    return offer


@transaction.atomic
def withdraw_offer(*, offer_id: int, by, reason: str) -> Offer:
    offer = Offer.objects.select_for_update().get(pk=offer_id)
    _run(offer, "withdraw", by=by, reason=_require_reason(reason))
    return offer
