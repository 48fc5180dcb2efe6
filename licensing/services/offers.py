"""Offers: publish and withdraw."""

from __future__ import annotations

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def publish_offer(*, offer_id: int, by: User | None) -> Offer:
    offer = Offer.objects.select_for_update().select_related("patent").get(pk=offer_id)
    _require_patent_in_force(offer.patent, today())
    offer.full_clean(exclude=["state"])  # the protected FSM field is not re-assigned
    _run(offer, "publish", by=by)
    return offer


@transaction.atomic
def withdraw_offer(*, offer_id: int, by: User | None, reason: str) -> Offer:
    offer = Offer.objects.select_for_update().get(pk=offer_id)
    _run(offer, "withdraw", by=by, reason=_require_reason(reason))
    return offer
