"""The scheduled sweep: find what is due in the database and call the services.

It reads the database, not a queue, so a sweep after any outage (beat down, Redis restarted,
worker lost) finds everything that is due. The ledger's unique keys make running it twice, or
two at once, claim each notice once. Each step costs a constant number of queries, plus one
service call per license that changes state.
"""

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    Case,
    DateField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.utils.translation import gettext_noop

from .. import services
from ..domain import clock
from ..models import (
    AuditEvent,
    Contract,
    Installment,
    License,
    LicensePatent,
    Patent,
    Push,
    Recordal,
    Reminder,
    ReminderSchedule,
    RoyaltyReport,
    SweepMark,
    SystemReason,
)
from . import ledger

log = logging.getLogger(__name__)


def run_sweep(today: dt.date | None = None) -> dict:
    """Everything due as of `today` (the business date by default): the services it calls read
    the same day (clock.as_of), so what the sweep selects, they decide alike."""
    today = today or clock.today()
    with clock.as_of(today):
        stats = {
            "expired": expire_ended_trials(today),
            "overdue": mark_overdue_installments(today),
            "defaulted": default_past_grace(today),
        }
        stats["reminders"] = claim_due_reminders(today)
    return stats


def _each(ids, service, **kwargs) -> int:
    """Call a per-license service; one that the state no longer allows (a race) is skipped."""
    done = 0
    for license_id in ids:
        try:
            service(license_id=license_id, **kwargs)
            done += 1
        except ValidationError as exc:
            log.info("Sweep skipped license %s: %s", license_id, exc.messages)
    return done


def expire_ended_trials(today: dt.date) -> int:
    ids = License.objects.filter(License.trial_ended_q(today)).values_list("pk", flat=True)
    return _each(list(ids), services.expire_trial)


def mark_overdue_installments(today: dt.date) -> int:
    ids = (
        Installment.objects.still_due_before(today)
        .open()
        .filter(license__state__in=License.PAYABLE_STATES)
        .order_by()  # no default ordering columns in the DISTINCT
        .values_list("license_id", flat=True)
        .distinct()
    )
    return _each(list(ids), services.mark_overdue, on=today)


def default_past_grace(today: dt.date) -> int:
    """Licenses in arrears past their offer's grace days: default, and claim if insured."""
    ids = License.objects.past_grace(today).values_list("pk", flat=True)
    return _each(list(ids), default_and_claim)


@transaction.atomic
def default_and_claim(*, license_id: int) -> None:
    reason = SystemReason(gettext_noop("The grace period after the oldest overdue installment has passed."))
    lic = services.declare_default(license_id=license_id, by=None, reason=reason)
    if lic.is_insured():
        services.file_claim(
            license_id=license_id, by=None, reason=SystemReason(gettext_noop("Filed automatically on default."))
        )


# -- reminders ----------------------------------------------------------------------------------


def _schedules() -> dict:
    """Per reminder kind: the default offsets, and the institutions whose own schedule differs,
    grouped by offsets (a handful of groups however many institutions there are)."""
    fields = {
        Reminder.Kind.TRIAL_ENDING: "trial_ending_days",
        Reminder.Kind.INSTALLMENT_DUE: "installment_due_days",
        Reminder.Kind.OVERDUE: "overdue_days",
        # Use reports (no amounts: a free license's) are reminded on the installments' days.
        Reminder.Kind.USE_REPORT_DUE: "installment_due_days",
        Reminder.Kind.USE_REPORT_LATE: "overdue_days",
    }
    rows = list(ReminderSchedule.objects.values("institution_id", *fields.values()))
    schedules = {}
    for kind, field in fields.items():
        default = tuple(ReminderSchedule.parse(ReminderSchedule.DEFAULTS[field]))
        groups = defaultdict(list)
        for row in rows:
            offsets = tuple(ReminderSchedule.parse(row[field]))
            if offsets != default:
                groups[offsets].append(row["institution_id"])
        schedules[kind] = (default, dict(groups))
    return schedules


def _due_offset(offsets, deadline: str, today: dt.date, *, before: bool):
    """SQL for the offset of the most recent notice already due on a row, NULL if none is.
    Before a deadline that is the smallest offset o with deadline <= today + o; after it, the
    largest o with deadline <= today - o. Only the most recent one is claimed: after a missed
    stretch one notice goes out, not a burst of stale ones."""
    whens = [
        When(**{f"{deadline}__lte": today + dt.timedelta(days=o if before else -o)}, then=Value(o))
        for o in sorted(offsets, reverse=not before)
    ]
    return Case(*whens, default=None, output_field=IntegerField()) if whens else Value(None, IntegerField())


def _offset_by_institution(schedule, institution: str, deadline: str, today: dt.date, *, before: bool):
    default, groups = schedule
    return Case(
        *(
            When(**{f"{institution}__in": ids}, then=_due_offset(offsets, deadline, today, before=before))
            for offsets, ids in groups.items()
        ),
        default=_due_offset(default, deadline, today, before=before),
        output_field=IntegerField(),
    )


# How far before a day's complete claim began its later sweeps look for changes: longer than any
# transaction runs, so a change committed after that claim read the book is never missed.
SWEEP_OVERLAP = dt.timedelta(hours=1)
# What belongs to no license and yet decides its notices: an institution's reminder schedule, a
# patent's standing, a CNIPA recordal. A change to one makes the next sweep complete; other such
# changes (an offer, an enterprise, an institution's name) decide no notice.
DECIDES_NOTICES = ("reminderschedule", "patent", "recordal")


# A complete claim at least this often, whatever the marks say: the net under a write past the
# services that forgot to forget them (it then costs a week of its notices at most).
COMPLETE_EVERY = dt.timedelta(days=7)


@dataclass(frozen=True)
class Scope:
    """What a sweep claims for, after a mark: the licenses changed since it (`changed`), and when
    the mark is yesterday's (the day's first sweep), the rows whose deadline meets an offset today
    too (`daily`): a day's notices differ from the day before's only there."""

    mark: SweepMark
    changed: QuerySet
    daily: bool


def claim_scope(today: dt.date) -> Scope | None:
    """The scope of today's claim after today's mark, or yesterday's. None, a complete claim: no
    mark of either day (the first sweep after a missed day, or ever), none complete within
    COMPLETE_EVERY, or something changed since that belongs to no license (an institution's
    reminder schedule, a patent, a CNIPA recordal: DECIDES_NOTICES): rare, and then the sweep is
    complete again."""
    since = ExpressionWrapper(OuterRef("claimed_from") - SWEEP_OVERLAP, output_field=DateTimeField())
    later = Q(pk__gt=OuterRef("last_event")) | Q(at__gte=since)
    unowned = AuditEvent.objects.filter(
        later, license__isnull=True, content_type__app_label="licensing", content_type__model__in=DECIDES_NOTICES
    )
    yesterday = today - dt.timedelta(days=1)
    marks = SweepMark.objects.filter(day__in=(today, yesterday)).annotate(unowned=Exists(unowned)).order_by("-day")
    mark = next(iter(marks), None)  # one query: today's, else yesterday's
    if mark is None or mark.unowned:
        return None
    daily = mark.day == yesterday
    if daily and (mark.complete_on is None or mark.complete_on <= today - COMPLETE_EVERY):
        return None
    later = Q(pk__gt=mark.last_event) | Q(at__gte=mark.claimed_from - SWEEP_OVERLAP)
    return Scope(mark, AuditEvent.objects.filter(later).order_by().values("license_id"), daily)


def claim_due_reminders(today: dt.date) -> int:
    """Claim every notice due today: one INSERT … SELECT per kind, so claiming costs what
    selecting the due rows costs, whatever their number. A day's notices change only with the
    day or with a license: after the day's first claim, a sweep claims only for the licenses
    changed since; the next day's first, for those and for the deadlines that meet an offset that
    day (claim_scope). So the hourly sweeps cost what changed, and the daily one what came due."""
    began = clock.now()
    scope = claim_scope(today)
    if scope is None or scope.daily:  # what changes after this event is for the later sweeps
        last_event = AuditEvent.objects.aggregate(last=Max("pk"))["last"] or 0

    def of_changed(rows: QuerySet, license_path: str, came_due: QuerySet | None = None) -> list[QuerySet]:
        """The rows to claim for: all of them, those of the changed licenses, and on the day's
        first sweep after yesterday's, also `came_due` (the rows whose deadline meets an offset
        today; a kind with none given, cheap and not all of it kept by events, is claimed whole)."""
        if scope is None or (scope.daily and came_due is None):
            return [rows]
        changed = rows.filter(**{f"{license_path}__in": scope.changed})
        return [changed, came_due] if scope.daily else [changed]

    schedules = _schedules()
    every = {
        kind: sorted({*default, *(o for offsets in groups for o in offsets)})
        for kind, (default, groups) in schedules.items()
    }
    horizon = {kind: max(offsets, default=0) for kind, offsets in every.items()}

    def on_days(kind: str, *, before: bool) -> list[dt.date]:
        """The deadlines that meet one of the kind's offsets today."""
        return [today + dt.timedelta(days=o if before else -o) for o in every[kind]]

    owner = "institution_id"
    trial_kind, due_kind, overdue_kind = (
        Reminder.Kind.TRIAL_ENDING,
        Reminder.Kind.INSTALLMENT_DUE,
        Reminder.Kind.OVERDUE,
    )
    claimed = 0

    def claim(scoped: list[QuerySet], annotate, kind: str, model_name: str, **fields) -> int:
        return sum(
            ledger.claim_reminders(rows.annotate(due_offset=annotate), kind, model_name, **fields) for rows in scoped
        )

    trials = License.objects.filter(
        state=License.State.TRIAL,
        trial_end_effective__gte=today,
        trial_end_effective__lte=today + dt.timedelta(days=horizon[trial_kind]),
    )
    claimed += claim(
        of_changed(trials, "pk", trials.filter(trial_end_effective__in=on_days(trial_kind, before=True))),
        _offset_by_institution(schedules[trial_kind], owner, "trial_end_effective", today, before=True),
        trial_kind,
        "license",
        license="pk",
        installment=None,
        deadline="trial_end_effective",
    )

    unpaid = Installment.objects.filter(license__state__in=License.PAYABLE_STATES)
    coming = unpaid.open_due_between(today, today + dt.timedelta(days=horizon[due_kind]))
    claimed += claim(
        of_changed(coming, "license_id", unpaid.open_due_on(on_days(due_kind, before=True))),
        _offset_by_institution(schedules[due_kind], "license__" + owner, "effective_due_date", today, before=True),
        due_kind,
        "installment",
        license="license_id",
        installment="pk",
        deadline="effective_due_date",
    )

    late = unpaid.open_due_between(today - dt.timedelta(days=horizon[overdue_kind]), today - dt.timedelta(days=1))
    claimed += claim(
        of_changed(late, "license_id", unpaid.open_due_on(on_days(overdue_kind, before=False))),
        _offset_by_institution(schedules[overdue_kind], "license__" + owner, "effective_due_date", today, before=False),
        overdue_kind,
        "installment",
        license="license_id",
        installment="pk",
        deadline="effective_due_date",
        after=True,
    )

    # Use reports: a royalty report is its installment's deadline (above); one with no amounts
    # (installment NULL) is reminded before its due date and after it, until it is filed.
    to_file = RoyaltyReport.objects.filter(
        installment__isnull=True,
        state__in=RoyaltyReport.TO_FILE,
        license__state__in=License.BOUGHT_STATES,
    )
    for kind, before, window in (
        (Reminder.Kind.USE_REPORT_DUE, True, {"due_date__gte": today}),
        (Reminder.Kind.USE_REPORT_LATE, False, {"due_date__lt": today}),
    ):
        span = dt.timedelta(days=horizon[kind])
        limit = {"due_date__lte": today + span} if before else {"due_date__gte": today - span}
        reports = to_file.filter(**window, **limit)
        claimed += claim(
            of_changed(reports, "license_id", to_file.filter(due_date__in=on_days(kind, before=before))),
            _offset_by_institution(schedules[kind], "license__" + owner, "due_date", today, before=before),
            kind,
            "royaltyreport",
            license="license_id",
            installment=None,
            deadline="due_date",
            after=not before,
        )

    # A contract issued and not signed by the licensee: it is asked again 7, 14 and 30 days after
    # the issue (Contract.SIGNATURE_REMINDER_DAYS), until it uploads its signed copy.
    days = Contract.SIGNATURE_REMINDER_DAYS
    unsigned = (
        Contract.objects.filter(Contract.awaits_licensee_q())
        .annotate(issued_on=TruncDate("issued_at"))  # in the business zone (TIME_ZONE)
        .filter(issued_on__gte=today - dt.timedelta(days=max(days)))
    )
    claimed += claim(
        of_changed(unsigned, "license_id"),
        _due_offset(days, "issued_on", today, before=False),
        Reminder.Kind.CONTRACT_TO_SIGN,
        "contract",
        license="license_id",
        installment=None,
        deadline="issued_on",
        after=True,
    )

    # A CNIPA recordal still to file: the TTO is reminded 30, 7 and 1 days before its deadline.
    days = Recordal.REMINDER_DAYS
    to_record = Recordal.objects.filter(
        state=Recordal.State.DUE, due_by__gte=today, due_by__lte=today + dt.timedelta(days=max(days))
    )
    claimed += claim(
        of_changed(to_record, "contract__license_id"),
        _due_offset(days, "due_by", today, before=True),
        Reminder.Kind.RECORDAL_DUE,
        "recordal",
        license="contract__license_id",
        installment=None,
        deadline="due_by",
        owner="contract__institution_id",
    )

    # A patent of a live license that is no longer in force (expired, lapsed, invalidated): the
    # SME and the TTO are told once per license and patent, the day the sweep first sees it.
    lapsed = (
        LicensePatent.objects.filter(license__state__in=License.LIVE_STATES)
        .exclude(Patent.in_force_q(today, "patent__"))
        .annotate(seen_on=Value(today, DateField()))
    )
    for kind in (Reminder.Kind.PATENT_LAPSED, Reminder.Kind.PATENT_LAPSED_TTO):  # each in its reader's language
        claimed += claim(
            of_changed(lapsed, "license_id"),
            Value(0, IntegerField()),
            kind,
            "licensepatent",
            license="license_id",
            installment=None,
            deadline="seen_on",
        )
    if scope is None or scope.daily:  # the day's first claim: its later sweeps look at what changes from now
        complete_on = today if scope is None else scope.mark.complete_on
        SweepMark.objects.bulk_create(
            [SweepMark(day=today, claimed_from=began, last_event=last_event, complete_on=complete_on)],
            update_conflicts=True,
            unique_fields=["day"],
            update_fields=["claimed_from", "last_event", "complete_on"],
        )
    return claimed


def campaign_reminder_ids(campaign_id: int) -> list[int]:
    """A push campaign's pending notices, in the order they were claimed (found by their keys: the
    ledger's one index that holds them, however large it grows)."""
    pushes = Push.objects.filter(campaign_id=campaign_id).values_list("pk", flat=True)
    keys = [Reminder.key_for(Reminder.Kind.OFFER_PUSHED, "push", pk, 0) for pk in pushes]
    pending = Reminder.objects.filter(key__in=keys, state=Reminder.State.PENDING)
    return list(pending.order_by("pk").values_list("pk", flat=True))


def deliverable_reminder_ids(now=None) -> list[int]:
    """Pending reminders whose (next) attempt is due: new ones and failed ones whose backoff passed,
    in the order they were claimed (by id), so notices claimed together go out in that order on
    every database (the ledger's own ordering, newest first, is for the admin list)."""
    now = now or clock.now()
    due = Reminder.objects.filter(state=Reminder.State.PENDING, next_attempt_at__lte=now)
    return list(due.order_by("pk").values_list("pk", flat=True))
