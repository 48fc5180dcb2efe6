"""Running royalties and use reports. At the purchase each period of the term gets its report
(and, for a royalty, its installment, amount unknown). The SME files a report once its period has
ended and may correct it until the TTO accepts it; acceptance turns the royalty, computed on the
license year's cumulative base in tiers, within the caps, into the installment's amount. After
the last period of a license year, a shortfall under the minimum annual royalty falls due. The
TTO may dispute a report (the SME corrects it) and add an adjustment for an audit finding."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from ..domain import clock, royalties
from ..domain.clock import today
from ..domain.money import CENT, ZERO
from ..domain.numbers import money_text, parse_number
from ..domain.text import REASON_MAX_LENGTH, clean_multi_line
from ..models import AuditEvent, CreditMovement, Installment, License, Reminder, RoyaltyReport, SystemReason
from ..models.royalties import MAX_UNITS
from ..receipts import validate_receipt
from . import _audit
from ._runner import (
    _decimal,
    _lock_license,
    _lock_with_license,
    _notify_once,
    _refused,
    _require_amount,
    _require_reason,
    _run,
    _settle_license_if_done,
    _without_stale_schedule,
)
from .credit import _move_credit, apply_credit
from .distribution import take_back_to_credit
from .schedule import add_amount_due

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile


def open_report_periods(lic: License, on: date, *, by: User | None) -> list[RoyaltyReport]:
    """At the purchase on `on`: a report for each period of the term; for a royalty, each with
    its installment, due `report_due_days` after the period ends and open until it is accepted."""
    if not lic.files_reports:
        return []
    end = lic.term_end or max(p.expiry_date for p in lic.patents.all())
    spans = royalties.periods(on, end, royalties.PERIOD_MONTHS[lic.reporting_period])
    if not spans:
        return []
    dues = [period_end + timedelta(days=lic.report_due_days) for _start, period_end in spans]
    installments: list[Installment | None] = [None] * len(spans)
    if lic.has_royalty:
        rows = []
        for n, due in enumerate(dues, start=1):
            row = Installment(license=lic, kind=Installment.Kind.ROYALTY, sequence=n, amount=ZERO, report_pending=True)
            row.fall_due(due, lic.payments_start)  # the report is due then; so is its royalty
            rows.append(row)
        installments = list(Installment.objects.bulk_create(rows))
    reports = RoyaltyReport.objects.bulk_create(
        RoyaltyReport(license=lic, installment=inst, period_start=start, period_end=period_end, due_date=due)
        for (start, period_end), due, inst in zip(spans, dues, installments, strict=True)
    )
    # One event for the whole term rather than one per period (a 20-year term has 80 quarters).
    _audit.record(
        AuditEvent.Action.CHANGED,
        lic,
        by=by,
        changes={"report_periods": [0, len(reports)]},
        reason=ngettext(
            "Report periods opened: %(count)s, %(start)s – %(end)s, each due %(days)s day after it ends.",
            "Report periods opened: %(count)s, %(start)s – %(end)s, each due %(days)s days after it ends.",
            lic.report_due_days,
        )
        % {"count": len(reports), "start": spans[0][0], "end": spans[-1][1], "days": lic.report_due_days},
    )
    return reports


def _lock_report(report_id: int) -> tuple[License, RoyaltyReport]:
    return _lock_with_license(RoyaltyReport, report_id)


def _same_year_before(report: RoyaltyReport) -> QuerySet[RoyaltyReport]:
    return RoyaltyReport.objects.filter(
        license_id=report.license_id,
        period_start__year=report.period_start.year,
        period_start__lt=report.period_start,
    )


def royalty_for(lic: License, report: RoyaltyReport, base: Decimal) -> Decimal:
    """The royalty on `base` for the report's period: the tiers read the base of the license
    year's earlier periods; the caps, per year and in total, what the license's other reports of
    that year, and of every year, owe. One base for all of it, at filing, in its preview and at
    acceptance alike: the reports whose royalty is due (filed or accepted), so a license's reports
    never owe more than a cap between them, whatever order they are filed in (earlier periods are
    accepted first, so the tiers are exact once accepted)."""
    due = RoyaltyReport.objects.filter(license_id=lic.pk, state__in=RoyaltyReport.ROYALTY_DUE).exclude(pk=report.pk)
    year = report.period_start.year
    sums = due.aggregate(
        base_before=Sum("base_amount", filter=Q(period_start__year=year, period_start__lt=report.period_start)),
        year=Sum("royalty", filter=Q(period_start__year=year)),
        total=Sum("royalty"),
    )
    amount = royalties.royalty_on(base, lic.tiers(), earlier=sums["base_before"] or ZERO)
    amount = royalties.capped(amount, cap=lic.royalty_cap_year, already=sums["year"] or ZERO)
    return royalties.capped(amount, cap=lic.royalty_cap_total, already=sums["total"] or ZERO)


def _check_base(base: Decimal | int | str | None) -> Decimal:
    if base is None or base == "":
        raise ValidationError({"base_amount": _("Enter the period's base; 0 when there was none (a nil report).")})
    amount = _decimal(base, "base_amount")  # the one parser refuses a sign: never negative
    if amount > royalties.MAX_BASE:
        raise ValidationError(
            {"base_amount": _("The base must be at most %(max)s.") % {"max": f"{royalties.MAX_BASE:,}"}}
        )
    if amount != amount.quantize(CENT):
        raise ValidationError({"base_amount": _("Amounts have at most two decimal places (fen).")})
    return amount


def _check_units(units: int | str | None) -> int | None:
    if units is None or units == "":
        return None
    try:
        number = int(parse_number(units, whole=True))
    except ValidationError as exc:
        raise ValidationError({"units": exc.messages}) from exc
    if not 0 <= number <= MAX_UNITS:
        raise ValidationError({"units": _("Units are between 0 and %(max)s.") % {"max": f"{MAX_UNITS:,}"}})
    return number


def preview_royalty(*, report: RoyaltyReport, base: Decimal | int | str) -> Decimal:
    """What a base would give before the report is filed (the portal shows it)."""
    return royalty_for(report.license, report, _check_base(base))


@transaction.atomic
def file_royalty_report(
    *,
    report_id: int,
    base: Decimal | int | str | None,
    units: int | str | None = None,
    note: str = "",
    attachment: UploadedFile | None = None,
    by: User | None,
) -> RoyaltyReport:
    """The licensee reports a period that has ended, or corrects its report until it is accepted.
    A royalty report needs its base (0 for a nil report); a use report has no amounts."""
    note = clean_multi_line(note, "note", max_length=REASON_MAX_LENGTH)
    units = _check_units(units)
    if attachment:
        try:
            validate_receipt(attachment)
        except ValidationError as exc:
            raise ValidationError({"attachment": exc.messages}) from exc
    lic, report = _lock_report(report_id)
    if not lic.accepts_reports():
        raise _refused(_("Reports are filed once the license is bought, while it runs."))
    if not report.period_has_ended:
        raise ValidationError(
            {
                "base_amount": _("This period runs until %(date)s: report it once it has ended.")
                % {"date": report.period_end}
            }
        )
    amount = None if report.is_use_report else _check_base(base)
    royalty = None if amount is None else royalty_for(lic, report, amount)
    before = _audit.snapshot(report)
    if attachment:
        report.attachment.save(attachment.name or "report", attachment, save=False)
    try:
        filed = _run(report, "file", amount, units, note, royalty, clock.now(), by=by, before=before)
    except Exception:
        if attachment and report.attachment:
            report.attachment.delete(save=False)  # no orphan file when the row is not written
        raise
    report.filed_by = by
    report.save(update_fields=["filed_by"])
    _notify_once(Reminder.Kind.REPORT_FILED, report, event=filed, license=lic, made_by=by)
    if royalty is not None:  # reported is owed (self-assessed), whether or not the TTO has accepted yet
        why = _for_period(gettext_noop("Royalty reported for %(start)s – %(end)s"), report)
        _set_period_amount(lic, report, royalty, by=by, why=why)
        lic = _without_stale_schedule(lic)
        if amount:
            _start_payments_with(lic, report, by=by)
            lic = _without_stale_schedule(lic)
        apply_credit(lic, by=by)
        _settle_license_if_done(lic, by)  # a report on time cures nothing; a late one may
    return report


def _period_installment(lic: License, report: RoyaltyReport) -> Installment:
    """The report's installment as the locked license's schedule holds it (the copy its
    transitions read), not a second instance of the same row."""
    return next(i for i in lic.installments.all() if i.pk == report.installment_id)


def _start_payments_with(lic: License, report: RoyaltyReport, *, by: User | None) -> None:
    """Deferred "N months or the first revenue, whichever comes first": the first report with
    revenue starts payments on its own due date (never in the past), and everything the deferral
    held back falls due then, or on its own date if that is later."""
    if not (lic.deferred_until_revenue and lic.payments_start):
        return
    own = _period_installment(lic, report)
    start = max(own.deferred_from or own.due_date, today())
    if start >= lic.payments_start:
        return
    before = _audit.snapshot(lic, ["payments_start"])
    lic.payments_start = start
    lic.save(update_fields=["payments_start"])
    why = _for_period(gettext_noop("Payments start with the first revenue report, for %(start)s – %(end)s"), report)
    _audit.changed(lic, before, by=by, reason=why)
    for inst in lic.installments.all():
        if inst.deferred_from is not None and inst.is_open:
            held = _audit.snapshot(inst)
            inst.fall_due(inst.deferred_from, start)
            inst.save()
            _audit.changed(inst, held, by=by, reason=why)


def _for_period(message: str, report: RoyaltyReport) -> SystemReason:
    """A reason the system writes about a report's period, worded in the reader's language when read."""
    return SystemReason(message, {"start": report.period_start.isoformat(), "end": report.period_end.isoformat()})


def _set_period_amount(
    lic: License, report: RoyaltyReport, royalty: Decimal, *, by: User | None, why: SystemReason
) -> None:
    """The period's installment owes `royalty`; money already paid above it (a report corrected
    down) becomes the license's credit, and a paid period owes again when corrected up."""
    inst = _period_installment(lic, report)
    before = _audit.snapshot(inst)
    excess = max(ZERO, inst.paid_amount - royalty)
    inst.amount, inst.report_pending, inst.paid_amount = royalty, False, inst.paid_amount - excess
    if inst.state == Installment.State.PAID and inst.is_open:
        _run(inst, "owe_again", by=by, reason=why, before=before)
    else:
        inst.save()
        _audit.changed(inst, before, by=by, reason=why)
    if excess:
        movement = _move_credit(lic, CreditMovement.Kind.OVERPAYMENT, excess, by=by, installment=inst)
        take_back_to_credit(lic, inst, movement, by=by)  # no longer income until it is applied again


@transaction.atomic
def accept_royalty_report(*, report_id: int, by: User | None) -> RoyaltyReport:
    """The TTO accepts a filed report: its royalty becomes the period's amount due (a nil report's
    period is settled); after the license year's last period, any minimum shortfall falls due."""
    lic, report = _lock_report(report_id)
    pending_before = _same_year_before(report).exclude(state=RoyaltyReport.State.ACCEPTED).first()
    if report.state == RoyaltyReport.State.FILED and pending_before is not None:
        raise _refused(
            _("Accept the report for %(start)s – %(end)s first: the tiers count the license year in order.")
            % {"start": pending_before.period_start, "end": pending_before.period_end}
        )
    royalty = None if report.is_use_report else royalty_for(lic, report, report.base_amount or ZERO)
    accepted = _run(report, "accept", royalty, by=by)
    _notify_once(Reminder.Kind.REPORT_ACCEPTED, report, event=accepted, license=lic)
    if report.installment_id is None:
        return report
    assert royalty is not None
    why = _for_period(gettext_noop("Royalty report accepted for %(start)s – %(end)s"), report)
    _set_period_amount(lic, report, royalty, by=by, why=why)  # the same, unless an earlier period changed
    inst = _period_installment(lic, report)
    if not inst.is_open and inst.state != Installment.State.PAID:  # a nil report: nothing to pay
        _run(inst, "mark_paid", by=by, reason=why)
    _minimum_shortfall_after(lic, report, by=by)
    lic = _without_stale_schedule(lic)
    apply_credit(lic, by=by)  # the credit pays the period's royalty first
    _settle_license_if_done(lic, by)  # a nil report may cure arrears, the last one settle the license
    return report


def _minimum_shortfall_after(lic: License, report: RoyaltyReport, *, by: User | None) -> None:
    """The report closes its license year: what the year's royalties fall short of the minimum
    (pro rata for a year the license held only in part) falls due with the report."""
    if not lic.royalty_minimum:
        return
    year = RoyaltyReport.objects.filter(license_id=lic.pk, period_start__year=report.period_start.year)
    if year.filter(period_start__gt=report.period_start).exists():
        return
    first = year.order_by("period_start").values_list("period_start", flat=True).first() or report.period_start
    minimum = royalties.prorated(lic.royalty_minimum, first, report.period_end)
    accepted = year.filter(state=RoyaltyReport.State.ACCEPTED).aggregate(due=Sum("royalty"))["due"] or ZERO
    shortfall = royalties.minimum_shortfall(minimum, accepted)
    if shortfall:
        reason = SystemReason(
            gettext_noop("Minimum annual royalty %(minimum)s for %(year)s, royalties accepted %(accepted)s"),
            {"minimum": money_text(minimum), "year": report.period_start.year, "accepted": money_text(accepted)},
        )
        add_amount_due(lic, Installment.Kind.ROYALTY_MINIMUM, shortfall, report.due_date, by=by, reason=reason)


@transaction.atomic
def dispute_royalty_report(*, report_id: int, by: User | None, reason: str) -> RoyaltyReport:
    """The TTO does not accept the report as filed: the SME sees why and corrects it."""
    lic, report = _lock_report(report_id)
    reason = _require_reason(reason)
    disputed = _run(report, "dispute", reason, by=by, reason=reason)
    _notify_once(Reminder.Kind.REPORT_DISPUTED, report, event=disputed, license=lic)
    return report


@transaction.atomic
def record_royalty_adjustment(
    *, license_id: int, amount: Decimal | int | str, reason: str, by: User | None
) -> Installment:
    """An audit of the licensee's books found more royalty due: it falls due `report_due_days` later."""
    amount = _require_amount(amount)
    reason = _require_reason(reason)
    lic = _lock_license(license_id)
    if not (lic.has_royalty and lic.accepts_reports()):
        raise _refused(_("An audit adjustment applies to a bought license with a running royalty."))
    due = today() + timedelta(days=lic.report_due_days)
    adjustment = add_amount_due(lic, Installment.Kind.ROYALTY_ADJUSTMENT, amount, due, by=by, reason=reason)
    created = _audit.trail(adjustment).filter(action=AuditEvent.Action.CREATED).first()  # with the reason
    _notify_once(Reminder.Kind.AUDIT_ADJUSTMENT, adjustment, event=created, license=lic)
    return adjustment


def unreported_minimum(lic: License, on: date) -> Decimal:
    """The contractual floor of the periods whose reports are late (unknown royalties): each
    period's share of the minimum annual royalty. An insurance claim counts it with what is owed."""
    if not lic.royalty_minimum:
        return ZERO
    overdue = Installment.objects.overdue(on).filter(license_id=lic.pk, report_pending=True)
    late = RoyaltyReport.objects.filter(installment__in=overdue)
    return sum((royalties.prorated(lic.royalty_minimum, r.period_start, r.period_end) for r in late), ZERO)
