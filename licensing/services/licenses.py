"""A license after its trial: the purchase and its schedule, arrears, default, termination, write-off."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..domain import windows
from ..domain.clock import today
from ..domain.money import add_months, split_evenly
from ..models import (
    AuditEvent,
    DealTerms,
    Installment,
    License,
    Offer,
    Reminder,
    RoyaltyReport,
    SystemReason,
    package_life,
)
from . import _audit
from ._runner import (
    _lock_license,
    _notify_once,
    _refused,
    _require_package_in_force,
    _require_reason,
    _run,
    _settle_license_if_done,
    _without_stale_schedule,
)
from .credit import apply_credit
from .milestones import milestone_due, schedule_dated_milestones
from .recordals import owe_cancellation_if_recorded
from .royalties import open_report_periods
from .schedule import INSTALLMENT_TERMS

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def build_schedule(terms: DealTerms, plan: str, purchased_on: date) -> list[tuple[str, Decimal, date]]:
    """(kind, amount, due date) of each payment the purchase sets: the entry fee on the day of
    the purchase, then the price in the plan chosen; nothing for a free license. Due dates are
    counted from the purchase date each time, so a schedule from Jan 31 stays on month ends
    instead of drifting."""
    schedule: list[tuple[str, Decimal, date]] = (
        [(Installment.Kind.ENTRY_FEE, terms.entry_fee, purchased_on)] if terms.entry_fee else []
    )
    if not terms.price:
        return schedule
    if plan == License.Plan.LUMP_SUM:
        return [*schedule, (Installment.Kind.PURCHASE, terms.price, add_months(purchased_on, terms.first_due_months))]
    amounts = split_evenly(terms.price, terms.installment_count)
    return [
        *schedule,
        *(
            (
                Installment.Kind.PURCHASE,
                amount,
                add_months(purchased_on, terms.first_due_months + i * terms.installment_interval_months),
            )
            for i, amount in enumerate(amounts)
        ),
    ]


def planned_schedule(terms: License | Offer, plan: str, purchased_on: date) -> list[Installment]:
    """What a purchase on `purchased_on` sets falling due, as it will be written: the fees and the
    price in the plan chosen (build_schedule), then each dated milestone, every date held back by
    a deferred start (Installment.fall_due). The one schedule: the decision pages and the
    officer's preview of an offer (`terms` an offer: rows of no license) show it, the purchase
    checks and writes it."""
    lic = terms if isinstance(terms, License) else None
    payments_start = terms.payments_start_after(purchased_on)
    numbers: dict[str, int] = {}  # numbered per kind: entry fee 1, installments 1..n
    rows = []
    for kind, amount, due in build_schedule(terms, plan, purchased_on):
        numbers[kind] = numbers.get(kind, 0) + 1
        rows.append(Installment(license=lic, kind=kind, sequence=numbers[kind], amount=amount))
        rows[-1].fall_due(due, payments_start)
    for n, milestone in enumerate((m for m in terms.milestones.all() if m.is_dated), start=1):
        rows.append(Installment(license=lic, kind=Installment.Kind.MILESTONE, sequence=n, amount=milestone.amount))
        rows[-1].fall_due(milestone_due(purchased_on, milestone), payments_start)
    return rows


@transaction.atomic
def purchase(*, license_id: int, plan: str, by: User | None, on: date | None = None) -> License:
    lic = _lock_license(license_id, schedule=False)
    on = on or today()
    if plan not in lic.plans:
        raise ValidationError({"plan": _("This license's terms do not allow that payment plan.")})
    if lic.state == License.State.TRIAL:
        assert lic.trial_start and lic.trial_end_effective  # every trial has both (License.approve)
        windows.purchase_date(on, lic.trial_start, lic.trial_end_effective)
        _require_package_in_force(lic.patents.all(), max(on, today()))
    planned = planned_schedule(lic, plan, on)
    last_expiry = package_life(lic.patents.all())
    last_due = max((row.due_date for row in planned), default=None)
    if last_due and last_due > last_expiry:
        raise _refused(
            _("The last payment would fall on %(last)s, after the patent expires on %(expiry)s.")
            % {"last": last_due, "expiry": last_expiry}
        )
    bought = _run(lic, "purchase", plan, on, by=by)
    _notify_once(Reminder.Kind.PURCHASE_CONFIRMED, lic, event=bought)  # read after commit: the whole schedule
    fixed = [row for row in planned if row.kind != Installment.Kind.MILESTONE]  # milestones: below, with theirs
    installments = Installment.objects.bulk_create(fixed)
    for inst in installments:
        _audit.created(inst, by=by, fields=INSTALLMENT_TERMS)
    open_report_periods(lic, on, by=by)  # a royalty's periods, or use reports, for the whole term
    schedule_dated_milestones(lic, on, by=by)
    apply_credit(lic, by=by)  # money received beyond what was owed pays what now falls due
    _settle_license_if_done(lic, by)  # a free license is taken with nothing to pay
    return _without_stale_schedule(lic)


def take_effect(lic: License, on: date, *, by: User | None, reason: str | SystemReason) -> None:
    """The contract takes effect on `on`: everything the purchase dated from its own day is dated
    from `on` instead, as the same schedule builds it (planned_schedule, open_report_periods): the
    deferral's end, each fixed payment still owed, each dated milestone, the report periods. What
    is paid keeps its day. The license is locked by the caller."""
    assert lic.takes_effect_on and lic.plan is not None  # a bought license
    if on == lic.takes_effect_on:
        return
    if lic.royalty_reports.exclude(state=RoyaltyReport.State.EXPECTED).exists():
        raise _refused(
            _(
                "Reports were filed for periods counted from %(date)s: the contract's effective date cannot move "
                "them. Record the signing with the effective date %(date)s, or amend the contract."
            )
            % {"date": lic.takes_effect_on}
        )
    before = _audit.snapshot(lic, ["takes_effect_on", "payments_start", "term_start"])
    if lic.term_start == lic.takes_effect_on:  # the term ran from the purchase: it runs from the effect
        lic.term_start = on
    lic.takes_effect_on = on
    lic.payments_start = lic.payments_start_after(on)
    lic.save(update_fields=["takes_effect_on", "payments_start", "term_start"])
    _audit.changed(lic, before, by=by, reason=reason)
    planned = {(row.kind, row.sequence): row for row in planned_schedule(lic, lic.plan, on)}
    dated_milestones = {m.installment_id: m for m in lic.milestones.filter(installment__isnull=False)}
    for inst in lic.installments.exclude(kind=Installment.Kind.ROYALTY):
        if inst.outstanding == 0:
            continue  # paid: it keeps the day it was paid for
        if inst.pk in dated_milestones:
            due = milestone_due(on, dated_milestones[inst.pk])
        elif (inst.kind, inst.sequence) in planned and inst.kind != Installment.Kind.MILESTONE:
            row = planned[(inst.kind, inst.sequence)]
            due = row.deferred_from or row.due_date  # as the terms date it; fall_due defers it again
        else:
            continue  # an amount that fell due later (a reached milestone, a shortfall): its own day
        inst_before = _audit.snapshot(inst, ["due_date", "effective_due_date", "deferred_from"])
        inst.fall_due(due, lic.payments_start)
        inst.save(update_fields=["due_date", "effective_due_date", "deferred_from"])
        _audit.changed(inst, inst_before, by=by, reason=reason)
    expected = lic.royalty_reports.filter(state=RoyaltyReport.State.EXPECTED)
    if expected.exists():
        periods = expected.count()
        royalty_ids = [pk for pk in expected.values_list("installment_id", flat=True) if pk]
        expected.delete()
        Installment.objects.filter(pk__in=royalty_ids).delete()
        _audit.record(AuditEvent.Action.CHANGED, lic, by=by, changes={"report_periods": [periods, 0]}, reason=reason)
        open_report_periods(lic, on, by=by)


@transaction.atomic
def mark_overdue(*, license_id: int, by: User | None = None, on: date | None = None) -> License:
    """Installments past their due date become overdue; a purchased license goes into arrears."""
    lic = _lock_license(license_id)
    on = on or today()
    for inst in lic.installments.all():
        if inst.state == Installment.State.DUE and inst.is_overdue_on(on):
            _run(inst, "mark_overdue", by=by)
    if lic.state == License.State.PURCHASED and lic.is_overdue():
        _run(lic, "fall_into_arrears", by=by)
    return lic


@transaction.atomic
def declare_default(*, license_id: int, by: User | None, reason: str | SystemReason = "") -> License:
    lic = _lock_license(license_id)
    _run(lic, "declare_default", today(), by=by, reason=reason)
    # The contract stops with the default (its default article): a recorded one owes its cancellation.
    owe_cancellation_if_recorded(lic, today(), by=by, reason=reason)
    return lic


@transaction.atomic
def terminate(*, license_id: int, by: User | None, reason: str) -> License:
    lic = _lock_license(license_id, schedule=False)
    reason = _require_reason(reason)
    _run(lic, "terminate", by=by, reason=reason)
    owe_cancellation_if_recorded(lic, today(), by=by, reason=reason)
    return lic


@transaction.atomic
def write_off(*, license_id: int, by: User | None, reason: str) -> License:
    lic = _lock_license(license_id, schedule=False)
    reason = _require_reason(reason)
    _run(lic, "write_off", by=by, reason=reason)
    owe_cancellation_if_recorded(lic, today(), by=by, reason=reason)
    return lic
