"""Offers: publish and withdraw."""

from django.db import transaction
from django.utils.translation import gettext as _

from ..models import (
    Offer,
    today,
)
from ._runner import (
    _refused,
    _require_reason,
    _run,
)


@transaction.atomic
def publish_offer(*, offer_id: int, by) -> Offer:
    offer = Offer.objects.select_for_update().select_related("patent").get(pk=offer_id)
    if not offer.patent.is_in_force(today()):
        raise _refused(_("Patent %(number)s is not in force: it cannot be offered.") % {"number": offer.patent.number})
    offer.full_clean(exclude=["state"])  # the protected FSM field is not re-assigned
    _run(offer, "publish", by=by)
    return offer


@transaction.atomic
def withdraw_offer(*, offer_id: int, by, reason: str) -> Offer:
    offer = Offer.objects.select_for_update().get(pk=offer_id)
    _run(offer, "withdraw", by=by, reason=_require_reason(reason))
    return offer
