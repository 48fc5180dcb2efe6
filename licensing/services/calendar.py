"""The working-day calendar changed (a new `chinesecalendar` with next year's holidays and 调休
days): open deadlines are re-dated to the new calendar, each change an audit event."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext_noop

from ..domain import workdays
from ..domain.clock import today
from ..models import Installment, License, SystemReason
from . import _audit

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def refresh_effective_dates(*, by: User | None = None) -> dict[str, int]:
    """Recompute the effective (working-day) date of every installment still due and every trial
    still running from today on, from its contractual date. The licenses concerned are locked
    first, in id order (services/__init__.py), so no payment or sweep works on a date that is
    moving. Returns how many of each moved."""
    on = today()
    reason = SystemReason(
        gettext_noop("The working-day calendar was updated (statutory holidays and adjusted working days).")
    )
    installments = [
        row
        for row in Installment.objects.filter(state=Installment.State.DUE, due_date__gte=on).iterator(chunk_size=2000)
        if workdays.effective_date(row.due_date) != row.effective_due_date
    ]
    trials = [
        row
        for row in License.objects.filter(state=License.State.TRIAL, trial_end__gte=on).iterator(chunk_size=2000)
        if row.trial_end and workdays.effective_date(row.trial_end) != row.trial_end_effective
    ]
    license_ids = sorted({row.license_id for row in installments} | {row.pk for row in trials})
    list(License.objects.select_for_update(of=("self",)).filter(pk__in=license_ids).order_by("pk").values("pk"))
    for row in installments:
        before = _audit.snapshot(row, ["effective_due_date"])
        row.effective_due_date = workdays.effective_date(row.due_date)
        row.save(update_fields=["effective_due_date"])
        _audit.changed(row, before, by=by, reason=reason)
    for lic in trials:
        before = _audit.snapshot(lic, ["trial_end_effective"])
        lic.trial_end_effective = workdays.effective_date(lic.trial_end)
        lic.save(update_fields=["trial_end_effective"])
        _audit.changed(lic, before, by=by, reason=reason)
    return {"installments": len(installments), "trials": len(trials)}
