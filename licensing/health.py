"""Checks of the parts outside the app (broker, SMTP), shown to staff on the admin index so a bad
configuration is seen, not discovered through missing emails."""

import logging
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import get_connection
from django.http import HttpResponse
from django.utils.translation import gettext as _

from .models import Reminder

log = logging.getLogger(__name__)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def check_broker() -> Check:
    from config import celery_app

    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return Check(_("Task broker"), True, celery_app.conf.broker_url.split("@")[-1])
    except Exception as exc:  # any failure to connect is the answer
        log.error("Task broker unreachable: %s", exc)
        return Check(_("Task broker"), False, _("Unreachable: %(error)s") % {"error": exc})


def check_smtp() -> Check:
    if not settings.EMAIL_HOST:
        return Check(_("Email"), True, _("Console backend (development): emails are printed, not sent."))
    try:
        connection = get_connection(fail_silently=False, timeout=5)
        connection.open()
        connection.close()
        return Check(_("Email"), True, f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}")
    except (smtplib.SMTPException, OSError) as exc:
        log.error("SMTP server %s:%s refused or unreachable: %s", settings.EMAIL_HOST, settings.EMAIL_PORT, exc)
        return Check(_("Email"), False, f"{type(exc).__name__}: {exc}")


def check_reminders() -> Check:
    failing = Reminder.objects.filter(state=Reminder.State.PENDING, attempts__gt=0).count()
    if failing:
        return Check(
            _("Reminders"), False, _("%(count)s reminders could not be sent yet; see Reminders.") % {"count": failing}
        )
    return Check(_("Reminders"), True, _("No failed deliveries."))


def system_status() -> list[Check]:
    return [check_broker(), check_smtp(), check_reminders()]


def liveness(request) -> HttpResponse:
    """/healthz/: the process answers (for a load balancer; touches neither database nor session)."""
    return HttpResponse("ok", content_type="text/plain")
