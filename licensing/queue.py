"""Queueing a task for the worker, by its name: services and reports queue work after commit
without importing the tasks module (which imports them), so the layers stay one-way."""

import logging

from celery import current_app

from . import health
from .models import HealthRecord

log = logging.getLogger(__name__)


def enqueue(task_name: str, *args) -> bool:
    """Queue the task registered as `task_name` (e.g. "licensing.send_reminder"); with the broker
    down, log it, record it for the admin index and carry on: the reminder or export stays pending
    and the next sweep queues it again."""
    try:
        current_app.tasks[task_name].apply_async(args=args, retry=False)
        return True
    except Exception as exc:  # kombu raises several types for an unreachable broker
        log.error("Task broker unreachable, %s%s left for the next sweep: %s", task_name, args, exc)
        health.record(HealthRecord.Part.BROKER, False, f"{type(exc).__name__}: {exc}")
        return False
