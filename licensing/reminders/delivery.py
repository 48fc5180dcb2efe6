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

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from .. import health
from ..domain import clock
from ..domain.numbers import money_text
from ..models import HealthRecord, Installment, InsuranceClaim, License, LicensePatent, Reminder, RoyaltyReport

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
            .select_related("license__enterprise", "license__offer__patent__owner", "installment")
            .filter(pk=reminder_id, state=Reminder.State.PENDING)
            .first()
        )
        if reminder is None:
            return "skipped"
        why_not = _no_longer_applies(reminder)
        if why_not:
            reminder.cancel(why_not)
            reminder.save()
            return "cancelled"
        try:
            message = build_message(reminder)
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
        return "sent"


def _record_failure(reminder: Reminder, exc: Exception) -> None:
    reminder.record_failure(f"{type(exc).__name__}: {exc}", clock.now() + retry_delay(reminder.attempts + 1))
    reminder.save()


def _claim_of(reminder: Reminder) -> InsuranceClaim | None:
    """The claim a claim notice is about (its key names it: claim_filed:insuranceclaim:<id>:0)."""
    claim_id = reminder.key.split(":")[2]
    return InsuranceClaim.objects.select_related("policy").filter(pk=claim_id).first()


CLAIM_KINDS = (Reminder.Kind.CLAIM_FILED, Reminder.Kind.CLAIM_FILED_INSURER)


def _lapsed_patent_of(reminder: Reminder) -> LicensePatent | None:
    """The license's patent a patent_lapsed notice is about (key: patent_lapsed:licensepatent:<id>:0)."""
    return LicensePatent.objects.select_related("patent").filter(pk=reminder.key.split(":")[2]).first()


def _report_of(reminder: Reminder) -> RoyaltyReport | None:
    """The report a use-report notice is about (key: use_report_due:royaltyreport:<id>:<offset>)."""
    return RoyaltyReport.objects.filter(pk=reminder.key.split(":")[2]).first()


USE_REPORT_KINDS = (Reminder.Kind.USE_REPORT_DUE, Reminder.Kind.USE_REPORT_LATE)
LAPSED_KINDS = (Reminder.Kind.PATENT_LAPSED, Reminder.Kind.PATENT_LAPSED_TTO)
TO_THE_TTO = (Reminder.Kind.CLAIM_FILED, Reminder.Kind.PATENT_LAPSED_TTO, Reminder.Kind.OPEN_LICENCE_GRANTED)


def _no_longer_applies(reminder: Reminder) -> str:
    lic = reminder.license
    if reminder.kind in USE_REPORT_KINDS:
        report = _report_of(reminder)
        if not lic.accepts_reports():
            return f"license is {lic.state}"
        if report is None or report.state not in RoyaltyReport.TO_FILE:
            return "report filed"
        return ""
    if reminder.kind in LAPSED_KINDS and lic.state not in License.LIVE_STATES:
        return f"license is {lic.state}"
    if reminder.kind in CLAIM_KINDS:
        # "A claim was filed" is news only while it is: once approved, paid or rejected (say, a
        # worker that was down for days) the parties have moved on, and the notice would mislead.
        claim = _claim_of(reminder)
        if claim is None:
            return "claim deleted before the notice went out"
        if claim.state != InsuranceClaim.State.FILED:
            return f"claim {claim.state} before the notice went out"
        return ""
    if reminder.kind == Reminder.Kind.TRIAL_ENDING and lic.state != License.State.TRIAL:
        return f"license is {lic.state}"
    if reminder.kind in (Reminder.Kind.INSTALLMENT_DUE, Reminder.Kind.OVERDUE):
        if not lic.accepts_payments():
            return f"license is {lic.state}"
        if not reminder.installment.is_open:
            return "installment paid"
    return ""


def portal_link(lic: License) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("portal:license", args=[lic.pk])


def admin_link(lic: License) -> str:
    """Where TTO staff open the license: the portal would answer them 403."""
    return settings.SITE_URL.rstrip("/") + reverse("admin:licensing_license_change", args=[lic.pk])


# Notices that tell two parties the same news share their wording (the link and language differ).
TEMPLATES = {Reminder.Kind.PATENT_LAPSED_TTO: Reminder.Kind.PATENT_LAPSED}


def build_message(reminder: Reminder) -> EmailMultiAlternatives:
    lic = reminder.license
    institution = lic.offer.patent.owner
    context = {
        "license": lic,
        "patent": lic.offer.patent,
        "institution": institution,
        "deadline": reminder.deadline,
        "link": portal_link(lic),
    }
    # Who reads it decides the address, the language and the link: the TTO opens the admin (the
    # portal would answer its staff 403), the insurer has no account (everything is in the email).
    if reminder.kind in TO_THE_TTO:
        context.update(link=admin_link(lic), for_staff=True)
        to = [institution.contact_email] if institution.contact_email else []
        language = institution.language
    elif reminder.kind == Reminder.Kind.CLAIM_FILED_INSURER:
        policy = lic.insurance_policy
        context.update(link="")
        to = [policy.insurer_email] if policy.insurer_email else []
        language = policy.insurer_language
    else:
        to = [lic.enterprise.contact_email] if lic.enterprise.contact_email else []
        language = lic.enterprise.language
    # What it is about.
    today = clock.today()
    if reminder.kind in CLAIM_KINDS:
        context["claim"] = _claim_of(reminder)
    elif reminder.kind in LAPSED_KINDS:
        link = _lapsed_patent_of(reminder)
        context["lapsed"] = link.patent if link else None
    elif reminder.kind in USE_REPORT_KINDS:
        context.update(report=_report_of(reminder), days_overdue=(today - reminder.deadline).days)
    elif reminder.kind == Reminder.Kind.TRIAL_ENDING:
        context.update(contractual=lic.trial_end, days_left=(reminder.deadline - today).days)
    elif reminder.kind in (Reminder.Kind.INSTALLMENT_DUE, Reminder.Kind.OVERDUE):
        inst: Installment = reminder.installment
        context.update(
            report=getattr(inst, "report", None) if inst.report_pending else None,  # a royalty period's
            contractual=inst.due_date,
            amount=money_text(inst.outstanding),
            days_overdue=(today - reminder.deadline).days,
            grace_end=reminder.deadline + timedelta(days=lic.grace_days),
        )
    with translation.override(language):
        context["LANGUAGE_CODE"] = language
        template = TEMPLATES.get(reminder.kind, reminder.kind)
        subject = render_to_string(f"emails/{template}.subject.txt", context).strip()
        context["subject"] = subject
        text = render_to_string(f"emails/{template}.txt", context)
        html = render_to_string(f"emails/{template}.html", context)
    # The insurer answers the TTO's contact, not the system's sender address.
    to_insurer = reminder.kind == Reminder.Kind.CLAIM_FILED_INSURER
    reply_to = [institution.contact_email] if to_insurer and institution.contact_email else None
    message = EmailMultiAlternatives(subject, text, to=to, reply_to=reply_to, headers={"X-Reminder-Key": reminder.key})
    message.attach_alternative(html, "text/html")
    return message
