"""Any delivery error is recorded on the reminder and shown; a notice that no longer applies is
cancelled. The admin index shows what the worker recorded and never connects to the mail server
or the broker itself."""

import datetime as dt
import socket
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from licensing import health, services
from licensing.models import HealthRecord, Reminder
from licensing.reminders import delivery


def test_a_claim_rejected_before_its_notice_went_out_cancels_the_notice(make_insured_default, staff):
    lic = make_insured_default()
    claim = services.file_claim(license_id=lic.pk, by=staff)  # the notice is claimed (eager task ran)
    reminder = Reminder.objects.get(kind=Reminder.Kind.CLAIM_FILED)
    Reminder.objects.filter(pk=reminder.pk).update(state=Reminder.State.PENDING, sent_at=None)
    services.reject_claim(claim_id=claim.pk, by=staff, reason="Policy lapsed")

    assert delivery.deliver_reminder(reminder.pk) == "cancelled"
    reminder.refresh_from_db()
    assert reminder.state == Reminder.State.CANCELLED and "claim rejected" in reminder.last_error


def test_an_error_while_writing_a_notice_is_recorded_shown_and_retried(
    make_insured_default, staff, client, superuser, monkeypatch
):
    lic = make_insured_default()
    services.file_claim(license_id=lic.pk, by=staff)
    reminder = Reminder.objects.get(kind=Reminder.Kind.CLAIM_FILED)
    Reminder.objects.filter(pk=reminder.pk).update(state=Reminder.State.PENDING, sent_at=None)

    def broken(reminder, subject=None):
        raise AttributeError("'NoneType' object has no attribute 'policy'")

    monkeypatch.setattr(delivery, "build_message", broken)
    assert delivery.deliver_reminder(reminder.pk) == "failed"
    reminder.refresh_from_db()
    assert reminder.state == Reminder.State.PENDING and reminder.attempts == 1
    assert "AttributeError" in reminder.last_error and reminder.next_attempt_at > timezone.now()
    client.force_login(superuser)  # after the clock moved
    body = client.get(reverse("admin:index"), headers={"accept-language": "en"}).content.decode()
    assert "1 reminder could not be sent yet" in body


def test_the_admin_index_never_connects_to_a_mail_server_that_does_not_answer(admin_client, settings):
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", silent.getsockname()[1]
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        started = time.monotonic()
        response = admin_client.get(reverse("admin:index"), headers={"accept-language": "en"})
        assert time.monotonic() - started < 1.0
    assert response.status_code == 200 and b"no email sent yet" in response.content


def test_the_admin_index_shows_what_the_worker_recorded(admin_client, settings, clock):
    settings.EMAIL_HOST = "smtp.tto.example"
    clock("2026-05-01")
    health.record(HealthRecord.Part.SMTP, False, "SMTPAuthenticationError: (535, b'bad credentials')")
    health.record(HealthRecord.Part.BROKER, False, "OperationalError: Connection refused")
    health.record(HealthRecord.Part.SWEEP, True)
    clock("2026-05-01")
    body = admin_client.get(reverse("admin:index"), headers={"accept-language": "en"}).content.decode()
    assert "SMTPAuthenticationError" in body and "Connection refused" in body
    assert "Last ran at 2026-05-01" in body

    clock("2026-05-02")  # a day without a sweep: beat or the worker is down
    body = admin_client.get(reverse("admin:index"), headers={"accept-language": "en"}).content.decode()
    assert "are the worker and beat running?" in body


def test_the_sweep_records_itself(db, settings):
    from licensing.tasks import sweep

    sweep()
    record = HealthRecord.objects.get(part=HealthRecord.Part.SWEEP)
    assert record.ok and timezone.now() - record.recorded_at < dt.timedelta(minutes=1)


@pytest.mark.parametrize("outcome", ["sent", "failed"])
def test_each_delivery_records_what_the_mail_server_did(make_insured_default, staff, settings, outcome, monkeypatch):
    lic = make_insured_default()
    services.file_claim(license_id=lic.pk, by=staff)
    reminder = Reminder.objects.get(kind=Reminder.Kind.CLAIM_FILED)
    Reminder.objects.filter(pk=reminder.pk).update(state=Reminder.State.PENDING, sent_at=None)
    if outcome == "failed":
        import smtplib

        def refuse(self, *args, **kwargs):
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

        monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    assert delivery.deliver_reminder(reminder.pk) == outcome
    record = HealthRecord.objects.get(part=HealthRecord.Part.SMTP)
    assert record.ok is (outcome == "sent")
