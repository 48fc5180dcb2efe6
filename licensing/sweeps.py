"""The scheduled sweep: find what is due in the database and call the services.

It reads the database, not a queue, so a sweep after any outage (beat down, Redis restarted,
worker lost) finds everything that is due. Rows are read in batches; the ledger's unique keys make
running it twice, or two at once, claim each notice once.
"""

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Min, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from . import notifications, services
from .models import Installment, License, Offer, Reminder, ReminderSchedule

log = logging.getLogger(__name__)

BATCH = 2000
# Installments that remind and default: unpaid, on a license that owes money.
OWING_STATES = (License.State.TRIAL, License.State.PURCHASED, License.State.IN_ARREARS)


def run_sweep(today: dt.date | None = None) -> dict:
    today = today or timezone.localdate()
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
    ids = License.objects.filter(state=License.State.TRIAL, trial_end_effective__lt=today).values_list("pk", flat=True)
    return _each(list(ids), services.expire_trial)


def mark_overdue_installments(today: dt.date) -> int:
    ids = (
        Installment.objects.filter(
            state=Installment.State.DUE,
            paid_amount__lt=F("amount"),
            effective_due_date__lt=today,
            license__state__in=OWING_STATES,
        )
        .order_by()  # no default ordering columns in the DISTINCT
        .values_list("license_id", flat=True)
        .distinct()
    )
    return _each(list(ids), services.mark_overdue, on=today)


def default_past_grace(today: dt.date) -> int:
    """Licenses in arrears past their offer's grace days: default, and claim if insured."""
    oldest_overdue = (
        Installment.objects.filter(license=OuterRef("pk"), paid_amount__lt=F("amount"), effective_due_date__lt=today)
        .order_by()
        .values("license")
        .annotate(oldest=Min("effective_due_date"))
        .values("oldest")
    )
    graces = Offer.objects.order_by().values_list("grace_days", flat=True).distinct()  # a handful of values
    past_grace = Q(pk__in=[])
    for grace in graces:
        past_grace |= Q(offer__grace_days=grace, oldest__lt=today - dt.timedelta(days=grace))
    ids = (
        License.objects.filter(state=License.State.IN_ARREARS)
        .annotate(oldest=Subquery(oldest_overdue))
        .filter(past_grace)
        .values_list("pk", flat=True)
    )
    return _each(list(ids), default_and_claim)


@transaction.atomic
def default_and_claim(*, license_id: int) -> None:
    reason = _("The grace period after the oldest overdue installment has passed.")
    lic = services.declare_default(license_id=license_id, by=None, reason=reason)
    if lic.is_insured():
        services.file_claim(license_id=license_id, by=None, reason=_("Filed automatically on default."))


# -- reminders ----------------------------------------------------------------------------------


def _schedules() -> tuple[dict, dict]:
    """Per institution, the offsets of each reminder kind; and the defaults for the rest."""

    def parse(row):
        return {
            Reminder.Kind.TRIAL_ENDING: ReminderSchedule.parse(row["trial_ending_days"]),
            Reminder.Kind.INSTALLMENT_DUE: ReminderSchedule.parse(row["installment_due_days"]),
            Reminder.Kind.OVERDUE: ReminderSchedule.parse(row["overdue_days"]),
        }

    custom = {row["institution_id"]: parse(row) for row in ReminderSchedule.objects.values()}
    return custom, parse(ReminderSchedule.DEFAULTS)


def most_recent_offset(offsets: list[int], days: int, before: bool) -> int | None:
    """The offset of the latest notice already due. Before a deadline `days` are days left and
    notices at offset >= days are due; after it `days` are days past and offsets <= days are.
    Only the most recent is sent: a missed day does not send a burst of stale notices."""
    due = [o for o in offsets if (o >= days if before else o <= days)]
    if not due:
        return None
    return min(due) if before else max(due)


def claim_due_reminders(today: dt.date) -> int:
    custom, default = _schedules()
    every = [default, *custom.values()]
    horizon = {kind: max(max(s[kind], default=0) for s in every) for kind in default}
    owner = "offer__patent__owner_id"
    claimed = 0

    trials = License.objects.filter(
        state=License.State.TRIAL,
        trial_end_effective__gte=today,
        trial_end_effective__lte=today + dt.timedelta(days=horizon[Reminder.Kind.TRIAL_ENDING]),
    ).values_list("pk", "trial_end_effective", owner)
    claimed += _claim_in_batches(
        trials, Reminder.Kind.TRIAL_ENDING, today, custom, default, before=True, installment=False
    )

    unpaid = Installment.objects.filter(paid_amount__lt=F("amount"), license__state__in=OWING_STATES)
    coming = unpaid.filter(
        effective_due_date__gte=today,
        effective_due_date__lte=today + dt.timedelta(days=horizon[Reminder.Kind.INSTALLMENT_DUE]),
    ).values_list("pk", "effective_due_date", "license__" + owner, "license_id")
    claimed += _claim_in_batches(coming, Reminder.Kind.INSTALLMENT_DUE, today, custom, default, before=True)

    late = unpaid.filter(
        effective_due_date__lt=today,
        effective_due_date__gte=today - dt.timedelta(days=horizon[Reminder.Kind.OVERDUE]),
    ).values_list("pk", "effective_due_date", "license__" + owner, "license_id")
    claimed += _claim_in_batches(late, Reminder.Kind.OVERDUE, today, custom, default, before=False)
    return claimed


def _claim_in_batches(rows, kind, today, custom, default, *, before: bool, installment: bool = True) -> int:
    """Work out the notice each row is due for, and claim the new ones, a batch at a time."""
    claimed, batch = 0, {}
    model = "installment" if installment else "license"
    for row in rows.iterator(chunk_size=BATCH):
        pk, deadline, institution_id = row[:3]
        days = (deadline - today).days if before else (today - deadline).days
        offset = most_recent_offset(custom.get(institution_id, default)[kind], days, before)
        if offset is None:
            continue
        batch[Reminder.key_for(kind, model, pk, offset)] = (pk, deadline, offset, row)
        if len(batch) >= BATCH:
            claimed += _claim(batch, kind, before, installment)
            batch = {}
    return claimed + _claim(batch, kind, before, installment)


def _claim(batch: dict, kind, before: bool, installment: bool) -> int:
    if not batch:
        return 0
    taken = set(Reminder.objects.filter(key__in=list(batch)).values_list("key", flat=True))
    rows = [
        Reminder(
            key=key,
            kind=kind,
            offset_days=offset if before else -offset,
            deadline=deadline,
            license_id=row[3] if installment else pk,
            installment_id=pk if installment else None,
        )
        for key, (pk, deadline, offset, row) in batch.items()
        if key not in taken
    ]
    return notifications.claim_reminders(rows)


def deliverable_reminder_ids(now=None) -> list[int]:
    """Pending reminders whose (next) attempt is due: new ones and failed ones whose backoff passed."""
    now = now or timezone.now()
    return list(
        Reminder.objects.filter(state=Reminder.State.PENDING, next_attempt_at__lte=now).values_list("pk", flat=True)
    )
