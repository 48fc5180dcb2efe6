"""Applications and trials: apply, approve, reject, return, expire."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ..domain import windows, workdays
from ..domain.clock import today
from ..domain.money import ZERO, add_months
from ..domain.text import clean_multi_line, clean_single_line
from ..models import (
    MILESTONE_TERMS,
    AuditEvent,
    DealTerms,
    Enterprise,
    Installment,
    License,
    LicenseMilestone,
    LicensePatent,
    Offer,
    Patent,
    Reminder,
    SystemReason,
    package_life,
)
from ..selectors import enterprises_for
from . import _audit
from ._runner import (
    _applied_on,
    _lock_license,
    _notify_once,
    _refused,
    _require_package_in_force,
    _require_reason,
    _run,
    _without_stale_schedule,
)
from .credit import apply_credit
from .schedule import INSTALLMENT_TERMS

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def apply_for_trial(
    *, offer_id: int, enterprise: Enterprise, intended_use: str = "", contact: str = "", by: User | None = None
) -> License:
    intended_use = clean_multi_line(intended_use, "intended_use", max_length=2000)
    contact = clean_single_line(contact, "contact", max_length=200)
    offer = Offer.objects.get(pk=offer_id)
    if by is not None and by.is_staff and not enterprises_for(by).filter(pk=enterprise.pk).exists():
        # Registering it would show this institution the enterprise's details and members, and
        # take the member decisions from the institution that has them (member_decision_allowed).
        raise _refused(
            _("This enterprise deals with another institution: a platform administrator registers its application.")
        )
    # Lock every patent of the package, in one order, so that applications sharing a patent run
    # one after the other and the exclusivity check cannot race (nor two applications deadlock).
    patents = list(Patent.objects.select_for_update().filter(offer_links__offer=offer).order_by("pk"))
    if not offer.accepts_applications():
        raise _refused(_("This offer is not open for applications."))
    _require_package_in_force(patents, today())
    closed = Offer.objects.with_availability(enterprise).get(pk=offer.pk)
    if not closed.available:
        raise _refused(closed.closed_sentence)
    terms = {name: getattr(offer, name) for name in DealTerms.term_names()}
    terms["term_end"] = offer.term_within(package_life(patents))  # never past the package's life
    lic = License.objects.create(
        offer=offer,
        institution_id=offer.patent.owner_id,
        enterprise=enterprise,
        intended_use=intended_use,
        contact=contact,
        **terms,
    )
    LicensePatent.objects.bulk_create(LicensePatent(license=lic, patent=patent) for patent in patents)
    LicenseMilestone.objects.bulk_create(
        LicenseMilestone(license=lic, **{name: getattr(m, name) for name in MILESTONE_TERMS})
        for m in offer.milestones.all()
    )
    # The terms and patents it applied on, as the license keeps them: its lifecycle reads these.
    applied = _audit.created(lic, by=by, fields=("offer", "enterprise", "intended_use", "contact", *terms))
    _audit.record(
        AuditEvent.Action.CHANGED, lic, by=by, changes={"patents": [None, [patent.number for patent in patents]]}
    )
    if offer.open_licence and enterprise.size_class != Enterprise.SizeClass.LARGE:
        return _grant_under_open_licence(lic)
    _notify_once(Reminder.Kind.APPLICATION_RECEIVED, lic, event=applied, made_by=by)  # the TTO decides
    return lic


def _grant_under_open_licence(lic: License) -> License:
    """An SME that notifies under an open licence gets its license with no staff decision: the
    trial starts today, and the TTO is told by email once the transaction commits."""
    lic = approve_trial(
        license_id=lic.pk, by=None, reason=SystemReason(gettext_noop("Granted on application under the open licence."))
    )
    _notify_once(Reminder.Kind.OPEN_LICENCE_GRANTED, lic)
    return lic


@transaction.atomic
def approve_trial(
    *, license_id: int, by: User | None, start: date | None = None, reason: str | SystemReason = ""
) -> License:
    lic = _lock_license(license_id, schedule=False)
    start = windows.trial_start(start or today(), _applied_on(lic), today())
    patents = _require_package_in_force(lic.patents.all(), start)
    last_expiry = package_life(patents)
    # The trial runs to its effective end (moved past weekends and holidays): that day too.
    if workdays.effective_date(add_months(start, lic.trial_months)) > last_expiry:
        raise _refused(_("The trial would end after the patent expires on %(date)s.") % {"date": last_expiry})
    approved = _run(lic, "approve", start, by=by, reason=reason)
    _notify_once(Reminder.Kind.TRIAL_STARTED, lic, event=approved)  # with its end, in the SME's language
    if lic.trial_fee > ZERO:
        # A trial fee is due when the trial starts and is tracked like an installment.
        fee = Installment.objects.create(
            license=lic, kind=Installment.Kind.TRIAL_FEE, sequence=1, amount=lic.trial_fee, due_date=start
        )
        _audit.created(fee, by=by, fields=INSTALLMENT_TERMS)
        apply_credit(lic, by=by)
    return _without_stale_schedule(lic)


@transaction.atomic
def reject_application(*, license_id: int, by: User | None, reason: str) -> License:
    lic = _lock_license(license_id, schedule=False)
    rejected = _run(lic, "reject", by=by, reason=_require_reason(reason))
    _notify_once(Reminder.Kind.APPLICATION_REJECTED, lic, event=rejected)
    return lic


@transaction.atomic
def return_patent(*, license_id: int, by: User | None, reason: str = "") -> License:
    lic = _lock_license(license_id, schedule=False)
    _run(lic, "return_patent", by=by, reason=reason)
    return lic


@transaction.atomic
def expire_trial(*, license_id: int, by: User | None = None) -> License:
    lic = _lock_license(license_id, schedule=False)
    _run(lic, "expire", by=by, reason=SystemReason(gettext_noop("The trial ended with no decision.")))
    # Told, and asked why (matching's feedback). Keyed by the license, not the event: it expires
    # once, and a sweep replayed from the same day claims the same key.
    _notify_once(Reminder.Kind.TRIAL_EXPIRED, lic)
    return lic
