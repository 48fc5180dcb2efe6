"""Reminder use cases: claim a notice in the ledger, then deliver it exactly once.

Delivery guarantee: a reminder is claimed (unique ledger key) before anything is sent and is
marked sent in the same transaction that holds its row lock while the email goes out. Two
deliveries of one reminder therefore never run at once, a failed send leaves it pending for a
retry, and a sent one is never sent again. The one gap: if the process dies after the SMTP
server accepted the message but before the commit, the reminder stays pending and is sent a
second time (at-least-once at that instant, exactly-once otherwise).
"""

import logging
import smtplib
from datetime import timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from .. import health
from ..domain import clock
from ..models import HealthRecord, Reminder
from . import notices

log = logging.getLogger(__name__)

SEND_ERRORS = (smtplib.SMTPException, OSError)


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(settings.REMINDER_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), 6 * 3600))


def deliver_reminder(reminder_id: int) -> str:
    """Send one pending reminder. Returns 'sent', 'failed' (left pending, retry later),
    'cancelled' (no longer applies) or 'skipped' (sent already, or another worker has it)."""
    with transaction.atomic():
        reminder = (
            Reminder.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("license__enterprise", "license__offer__patent", "institution", "event")
            .filter(pk=reminder_id, state=Reminder.State.PENDING)
            .first()
        )
        if reminder is None:
            return "skipped"
        subject = notices.load_subject(reminder)
        why_not = (
            notices.KINDS[reminder.kind].why_not(subject, reminder)
            if subject is not None
            else f"{reminder.kind} subject deleted before the notice went out"
        )
        if why_not:
            reminder.cancel(why_not)
            reminder.save()
            return "cancelled"
        try:
            message = build_message(reminder, subject)
        except Exception as exc:  # a bug or bad data: recorded on the reminder and shown, then retried
            log.exception("Reminder %s could not be written, will retry", reminder.pk)
            _record_failure(reminder, exc)
            return "failed"
        if not message.to:
            reminder.cancel("no recipient email address")
            reminder.save()
            return "cancelled"
        try:
            message.send()
        except Exception as exc:  # SMTP refusals, a server that does not answer, and anything else
            log.error("Reminder %s not sent, will retry: %s: %s", reminder.pk, type(exc).__name__, exc)
            _record_failure(reminder, exc)
            if isinstance(exc, SEND_ERRORS):
                health.record(HealthRecord.Part.SMTP, False, f"{type(exc).__name__}: {exc}")
            return "failed"
        reminder.mark_sent(message.to, clock.now())
        reminder.save()
        health.record(HealthRecord.Part.SMTP, True)
        log.info("Notice %s sent to %s: %s", reminder.key, ", ".join(message.to), message.subject)
        return "sent"


def _record_failure(reminder: Reminder, exc: Exception) -> None:
    reminder.record_failure(f"{type(exc).__name__}: {exc}", clock.now() + retry_delay(reminder.attempts + 1))
    reminder.save()


def build_message(reminder: Reminder, subject=None) -> EmailMultiAlternatives:
    """The email of a notice, in its reader's language, from the institution's name, with the
    link its reader can open: everything about the kind comes from the registry (notices.py)."""
    spec = notices.KINDS[reminder.kind]
    subject = subject if subject is not None else notices.load_subject(reminder)
    lic = reminder.license
    address = notices.address(spec, reminder, subject)
    context = {
        "license": lic,
        "patent": lic.offer.patent if lic else None,
        "institution": reminder.institution,
        "deadline": reminder.deadline,
        "link": address.link,
        "for_staff": spec.reader is notices.Reader.TTO,
    }
    with translation.override(address.language):
        context["LANGUAGE_CODE"] = address.language
        context.update(spec.context(subject, reminder, clock.today()))
        subject_line = render_to_string(f"emails/{spec.template}.subject.txt", context).strip()
        context["subject"] = subject_line
        text = render_to_string(f"emails/{spec.template}.txt", context)
        html = render_to_string(f"emails/{spec.template}.html", context)
        sender = formataddr((notices.sender_name(reminder), parseaddr(settings.DEFAULT_FROM_EMAIL)[1]))
    message = EmailMultiAlternatives(
        subject_line,
        text,
        from_email=sender,
        to=address.to,
        reply_to=address.reply_to,
        headers={"X-Reminder-Key": reminder.key, **spec.headers(subject)},
    )
    message.attach_alternative(html, "text/html")
    return message
