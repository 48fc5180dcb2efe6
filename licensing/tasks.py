"""Celery tasks: thin. They find work (sweeps) or take an id, call the use case, and are safe to
run twice."""

import logging

from celery import shared_task

from . import health, queue, services, throttle
from .domain import clock
from .models import HealthRecord
from .reminders import delivery
from .reminders.sweep import campaign_reminder_ids, deliverable_reminder_ids, run_sweep
from .reporting import jobs

log = logging.getLogger(__name__)

CAMPAIGN_BATCH = 100  # a push campaign's notices per delivery task


@shared_task(name="licensing.sweep")
def sweep() -> dict:
    """Beat runs this hourly: lifecycle transitions, reminders claimed, deliveries queued."""
    stats = run_sweep()
    ids = deliverable_reminder_ids()
    for reminder_id in ids:
        queue.enqueue(send_reminder.name, reminder_id)
    stats["queued"] = len(ids)
    for export_id in jobs.stale_export_ids():  # queued while the broker was down, or orphaned
        queue.enqueue(build_export.name, export_id)
    stats["exports_purged"] = jobs.purge_exports()
    stats["rate_limits_purged"] = throttle.purge()
    # The sweep ran in a worker, so beat, the broker and the worker all work.
    health.record(HealthRecord.Part.SWEEP, True, str(stats))
    health.record(HealthRecord.Part.BROKER, True)
    log.info("Sweep done: %s", stats)
    return stats


@shared_task(bind=True, name="licensing.send_reminder", max_retries=12)
def send_reminder(self, reminder_id: int) -> str:
    outcome = delivery.deliver_reminder(reminder_id)
    if outcome == "failed":
        # Retry with backoff; should the retry message be lost, the next sweep queues it again.
        delay = delivery.retry_delay(self.request.retries + 1)
        raise self.retry(countdown=delay.total_seconds())
    return outcome


@shared_task(name="licensing.deliver_campaign")
def deliver_campaign(campaign_id: int) -> int:
    """Queue a push campaign's notices in batches of CAMPAIGN_BATCH (the web request that made it
    returned at once): 10,000 notices are 100 messages, not 10,000. Those already sent are skipped
    by deliver_reminder, so running this twice is safe."""
    ids = campaign_reminder_ids(campaign_id)
    for start in range(0, len(ids), CAMPAIGN_BATCH):
        queue.enqueue(send_reminders.name, ids[start : start + CAMPAIGN_BATCH])
    return len(ids)


@shared_task(name="licensing.monthly_digest")
def monthly_digest() -> int:
    """Beat runs this on the 1st of each month: each institution's digest of last month's new
    offers (services.push_monthly_digest: once a month, however often it runs)."""
    from .models import Institution

    made = 0
    for institution_id in Institution.objects.filter(monthly_digest=True).order_by("pk").values_list("pk", flat=True):
        if services.push_monthly_digest(institution_id=institution_id, on=clock.today()) is not None:
            made += 1
    return made


@shared_task(name="licensing.send_reminders")
def send_reminders(reminder_ids: list[int]) -> dict:
    """Deliver a batch of notices one after the other. One that fails stays pending with its
    backoff (deliver_reminder records it) and the hourly sweep queues it again."""
    outcomes: dict[str, int] = {}
    for reminder_id in reminder_ids:
        outcome = delivery.deliver_reminder(reminder_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@shared_task(name="licensing.build_export")
def build_export(export_id: int) -> str:
    return jobs.build_export(export_id=export_id)


@shared_task(name="licensing.send_inventor_invitation")
def send_inventor_invitation(inventor_id: int, language: str) -> None:
    services.send_inventor_invitation(inventor_id=inventor_id, language=language)


@shared_task(name="licensing.send_password_reset")
def send_password_reset(email: str, language: str) -> None:
    services.send_password_reset(email=email, language=language)
