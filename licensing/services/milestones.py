"""Milestone payments: a milestone of a bought license is reached (declared by the SME in the
portal, or recorded by the TTO), and its amount falls due its days later, chased like any
installment."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ..domain.clock import today
from ..domain.money import add_months
from ..domain.text import REASON_MAX_LENGTH, clean_multi_line
from ..models import Installment, License, LicenseMilestone, SystemReason
from ._runner import _lock_with_license, _refused, _run
from .schedule import add_amount_due

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from ..models.milestones import MilestoneTerms


@transaction.atomic
def reach_milestone(*, milestone_id: int, on: date, by: User | None, evidence: str = "") -> LicenseMilestone:
    """The milestone was reached on `on`: its amount falls due `due_days` later (any credit pays
    it at once), and a paid-up license owes again."""
    evidence = clean_multi_line(evidence, "evidence", max_length=REASON_MAX_LENGTH)
    lic, milestone = _lock_with_license(LicenseMilestone, milestone_id)
    if not lic.accepts_milestones():
        raise _refused(_("A milestone falls due only once the license is bought."))
    if milestone.is_dated:
        raise _refused(_("This milestone falls due on its date: it is not declared."))
    if on > today():
        raise ValidationError({"on": _("A milestone is declared once it is reached, not before.")})
    if lic.purchased_on and on < lic.purchased_on:
        raise ValidationError(
            {
                "on": _("The license was bought on %(date)s: a milestone is reached after that.")
                % {"date": lic.purchased_on}
            }
        )
    _run(milestone, "reach", on, by=by, reason=evidence)
    reason = SystemReason(gettext_noop("Milestone reached: %(name)s"), {"name": milestone.name})
    installment = add_amount_due(
        lic,
        Installment.Kind.MILESTONE,
        milestone.amount,
        on + timedelta(days=milestone.due_days or 0),
        by=by,
        reason=reason,
    )
    milestone.installment, milestone.declared_by = installment, by
    milestone.save(update_fields=["installment", "declared_by"])
    return milestone


def milestone_due(purchased_on: date, milestone: MilestoneTerms) -> date:
    """A dated milestone falls due its months after the purchase (before any deferral)."""
    return add_months(purchased_on, milestone.due_months or 0)


def schedule_dated_milestones(lic: License, on: date, *, by: User | None) -> None:
    """At the purchase on `on`: each dated milestone's amount falls due its months later."""
    for milestone in lic.milestones.filter(state=LicenseMilestone.State.PENDING, due_months__isnull=False):
        _run(milestone, "schedule", by=by)
        reason = SystemReason(gettext_noop("Dated milestone: %(name)s"), {"name": milestone.name})
        due = milestone_due(on, milestone)
        milestone.installment = add_amount_due(
            lic, Installment.Kind.MILESTONE, milestone.amount, due, by=by, reason=reason
        )
        milestone.save(update_fields=["installment"])
