"""Offers: publish, withdraw, and revise. Published terms never change in place: a revision is a
new version, drafted from the old, that replaces it when published; licenses keep theirs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from ..models import (
    BLOCKING_TYPES,
    DealTerms,
    License,
    Offer,
    today,
)
from . import _audit
from ._runner import (
    _refused,
    _require_patent_in_force,
    _require_reason,
    _run,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def publish_offer(*, offer_id: int, by: User | None) -> Offer:
    """Publish a draft; a new version withdraws the one it replaces, in the same transaction."""
    offer = Offer.objects.select_for_update().select_related("patent").get(pk=offer_id)
    _require_patent_in_force(offer.patent, today())
    offer.full_clean(exclude=["state"])  # the protected FSM field is not re-assigned
    _check_open_licence_rules(offer)
    _run(offer, "publish", by=by)
    if offer.replaces_id:
        replaced = Offer.objects.select_for_update().get(pk=offer.replaces_id)
        if replaced.state == Offer.State.PUBLISHED:
            reason = _("Replaced by version %(version)s.") % {"version": offer.version}
            _run(replaced, "withdraw", by=by, reason=reason)
    return offer


def _check_open_licence_rules(offer: Offer) -> None:
    """No exclusive or sole license while an open licence stands on the patent (Patent Law Art. 51)."""
    others = Offer.objects.filter(patent_id=offer.patent_id, state=Offer.State.PUBLISHED)
    if offer.replaces_id:
        others = others.exclude(pk=offer.replaces_id)  # the version this one replaces goes
    if offer.open_licence:
        blocking = License.objects.live().filter(offer__patent_id=offer.patent_id, license_type__in=BLOCKING_TYPES)
        if blocking.exists():
            raise _refused(
                _("An exclusive or sole license is live on this patent: no open licence can be declared until it ends.")
            )
    elif offer.blocks_other_licensees and others.filter(open_licence=True).exists():
        raise _refused(
            _("An open licence stands on this patent: it cannot be offered as an exclusive or sole license.")
        )


@transaction.atomic
def revise_offer(*, offer_id: int, by: User | None) -> Offer:
    """Draft the next version of a published offer, with its terms to edit. Until the draft is
    published the offer stays as it is; its licenses keep the terms they applied on either way."""
    offer = Offer.objects.select_for_update().get(pk=offer_id)
    if not offer.accepts_revision():
        draft = Offer.objects.filter(replaces=offer).first()
        if draft is not None:
            raise _refused(
                _("Version %(version)s of this offer is already drafted: edit that one.") % {"version": draft.version}
            )
        raise _refused(_("Only a published offer is revised; a draft is edited as it is."))
    terms = {name: getattr(offer, name) for name in DealTerms.term_names()}
    draft = Offer.objects.create(patent_id=offer.patent_id, replaces=offer, version=offer.version + 1, **terms)
    reason = _("New version of %(offer)s") % {"offer": offer}
    _audit.created(draft, by=by, fields=("patent", "version", "replaces", *terms), reason=reason)
    return draft


@transaction.atomic
def withdraw_offer(*, offer_id: int, by: User | None, reason: str) -> Offer:
    offer = Offer.objects.select_for_update().get(pk=offer_id)
    _run(offer, "withdraw", by=by, reason=_require_reason(reason))
    return offer
