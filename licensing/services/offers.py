"""Offers: publish, withdraw, and revise. Published terms never change in place: a revision is a
new version, drafted from the old, that replaces it when published; licenses keep theirs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ..domain.clock import today
from ..models import (
    BLOCKING_TYPES,
    MILESTONE_TERMS,
    AuditEvent,
    Closed,
    DealTerms,
    License,
    Offer,
    OfferMilestone,
    OfferPatent,
    Patent,
    SystemReason,
)
from ..selectors import live_licenses_on
from . import _audit
from ._runner import (
    _refused,
    _require_package_in_force,
    _require_reason,
    _run,
)
from .matching import index_offer

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def publish_offer(*, offer_id: int, by: User | None, opens_when_free: bool = False) -> Offer:
    """Publish a draft; a new version withdraws the one it replaces, in the same transaction.
    An offer that live licenses keep closed (an exclusive or sole one on licensed patents, any on
    exclusively licensed ones) is refused with those licenses listed, unless the officer chooses
    to publish it as opening when they end (`opens_when_free`), which its audit event states."""
    offer = Offer.objects.select_for_update().select_related("patent").get(pk=offer_id)
    _require_package_in_force(offer.patents.all(), today())
    offer.full_clean(exclude=["state"])  # the protected FSM field is not re-assigned
    _check_open_licence_rules(offer)
    holders = licenses_keeping_closed(offer)
    if holders and not opens_when_free:
        raise _refused(
            _(
                "Live licenses keep this offer closed: %(licenses)s. Publish it when they end, or publish it now as "
                "opening when they end."
            )
            % {"licenses": "; ".join(holder_line(lic) for lic in holders)}
        )
    reason: str | SystemReason = ""
    if holders:
        reason = SystemReason(
            gettext_noop("Published while licensed: it opens when these end: %(licenses)s."),
            {"licenses": "; ".join(holder_line(lic) for lic in holders)},
        )
    _run(offer, "publish", by=by, reason=reason)
    if offer.replaces_id:
        replaced = Offer.objects.select_for_update().get(pk=offer.replaces_id)
        if replaced.state == Offer.State.PUBLISHED:
            replaced_by = SystemReason(gettext_noop("Replaced by version %(version)s."), {"version": offer.version})
            _run(replaced, "withdraw", by=by, reason=replaced_by)
            index_offer(replaced.pk)
    index_offer(offer.pk)  # matching finds it from now on
    return offer


def licenses_keeping_closed(offer: Offer) -> list[License]:
    """The live licenses on the offer's patents when they keep it closed to every enterprise (the
    one rule of who holds what: Offer.objects.with_availability), else none."""
    closed = Offer.objects.with_availability().values_list("closed_because", flat=True).get(pk=offer.pk)
    if closed not in (Closed.EXCLUSIVE, Closed.SOLE, Closed.LICENSED):
        return []
    return list(live_licenses_on(offer.patents.all()))


def holder_line(lic: License) -> str:
    """One live license as an officer reads it in a refusal or a preview."""
    until = lic.holds_until
    held = (
        _("%(state)s until %(date)s") % {"state": lic.get_state_display(), "date": date_format(until)}
        if until
        else lic.get_state_display()
    )
    return _("%(license)s, %(enterprise)s, %(type)s, %(held)s") % {
        "license": lic,
        "enterprise": lic.enterprise.name,
        "type": lic.get_license_type_display(),
        "held": held,
    }


def _check_open_licence_rules(offer: Offer) -> None:
    """No exclusive or sole license, nor an offer of one, while an open licence stands on a patent
    of the package (Patent Law Art. 51)."""
    package = offer.patents.all()
    others = Offer.objects.filter(patent_links__patent__in=package, state=Offer.State.PUBLISHED).exclude(pk=offer.pk)
    if offer.replaces_id:
        others = others.exclude(pk=offer.replaces_id)  # the version this one replaces goes
    if offer.open_licence:
        closed = Offer.objects.with_availability().values_list("closed_because", flat=True).get(pk=offer.pk)
        if closed in (Closed.EXCLUSIVE, Closed.SOLE):  # the one rule of who holds what (models.catalogue)
            raise _refused(
                _("An exclusive or sole license is live on this patent: no open licence can be declared until it ends.")
            )
        exclusive_offers = sorted({str(o) for o in others.filter(license_type__in=BLOCKING_TYPES).distinct()})
        if exclusive_offers:
            raise _refused(
                _(
                    "An exclusive or sole offer stands on this patent (%(offers)s): withdraw it before declaring an "
                    "open licence."
                )
                % {"offers": ", ".join(exclusive_offers)}
            )
    elif offer.blocks_other_licensees and others.filter(open_licence=True).exists():
        raise _refused(
            _("An open licence stands on this patent: it cannot be offered as an exclusive or sole license.")
        )


def check_package(lead: Patent, patents: Iterable[Patent]) -> dict[int, Patent]:
    """A package: the lead patent and the others, all of the lead's institution, all in force today."""
    chosen = {patent.pk: patent for patent in patents}
    chosen[lead.pk] = lead
    foreign = sorted(patent.number for patent in chosen.values() if patent.owner_id != lead.owner_id)
    if foreign:
        raise ValidationError(
            {
                "package": _("A package holds one institution's patents; these belong to another: %(numbers)s")
                % {"numbers": ", ".join(foreign)}
            }
        )
    try:
        _require_package_in_force(chosen.values(), today())
    except ValidationError as exc:
        raise ValidationError({"package": exc.messages}) from exc
    return chosen


@transaction.atomic
def set_package(*, offer_id: int, patents: Iterable[Patent], by: User | None) -> Offer:
    """The patents of a draft offer's package: one institution's (its lead patent's), every one in
    force, the lead among them. A published offer's package changes by a new version."""
    offer = Offer.objects.select_for_update().select_related("patent").get(pk=offer_id)
    if offer.state != Offer.State.DRAFT:
        raise _refused(_("Only a draft's patents can change: a published offer changes by a new version."))
    chosen = check_package(offer.patent, patents)
    before = sorted(offer.patents.values_list("number", flat=True))
    OfferPatent.objects.filter(offer=offer).exclude(patent_id__in=chosen).delete()
    OfferPatent.objects.bulk_create(
        [OfferPatent(offer=offer, patent=patent) for patent in chosen.values()], ignore_conflicts=True
    )
    after = sorted(patent.number for patent in chosen.values())
    if after != before:
        _audit.record(AuditEvent.Action.CHANGED, offer, by=by, changes={"patents": [before, after]})
    return offer


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
    draft = Offer.objects.create(
        patent_id=offer.patent_id, name=offer.name, replaces=offer, version=offer.version + 1, **terms
    )
    draft.patents.add(*offer.patents.all())
    OfferMilestone.objects.bulk_create(
        OfferMilestone(offer=draft, **{name: getattr(m, name) for name in MILESTONE_TERMS})
        for m in offer.milestones.all()
    )
    reason = SystemReason(gettext_noop("New version of %(offer)s"), {"offer": offer.title})
    _audit.created(draft, by=by, fields=("patent", "name", "version", "replaces", *terms), reason=reason)
    return draft


@transaction.atomic
def withdraw_offer(*, offer_id: int, by: User | None, reason: str) -> Offer:
    offer = Offer.objects.select_for_update().get(pk=offer_id)
    _run(offer, "withdraw", by=by, reason=_require_reason(reason))
    index_offer(offer.pk)  # and no longer recommends it
    return offer
