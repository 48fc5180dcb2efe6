"""Bad configuration shows up as a clear error in the logs and on the admin index, and loses
nothing: an unreachable broker or a refusing SMTP server leave reminders pending."""

import datetime as dt
import logging
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from django.urls import reverse

from licensing import services
from licensing.models import Reminder
from licensing.reminders import delivery, sweep

from .factories import EnterpriseFactory


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def unreachable_broker(publish_to):
    publish_to(f"redis://127.0.0.1:{free_port()}/0")


@pytest.fixture
def refusing_smtp(settings):
    class Handler:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=free_port(),
        auth_require_tls=False,
        authenticator=lambda *args: AuthResult(success=False, handled=False),
    )
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "tto", "wrong-password"
    yield
    controller.stop()


def test_admin_index_reports_an_unreachable_broker(admin_client, unreachable_broker, caplog):
    """A request that could not queue a task records it; the index shows it without connecting."""
    from licensing import queue

    with caplog.at_level(logging.ERROR):
        assert queue.enqueue("licensing.sweep") is False
        body = admin_client.get(reverse("admin:index"), headers={"accept-language": "en"}).content.decode()

    assert "Task broker" in body and "Unreachable at" in body
    assert any("Task broker unreachable" in r.message for r in caplog.records)


def test_claim_notice_with_the_broker_down_is_logged_and_kept_for_the_next_sweep(
    make_insured_default, staff, clock, unreachable_broker, django_capture_on_commit_callbacks, caplog
):
    lic = make_insured_default()
    clock.stop()  # a frozen clock would stall the broker client's timeouts

    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        services.file_claim(license_id=lic.pk, by=staff)  # the request does not fail

    assert any("Task broker unreachable, licensing.send_reminder" in r.message for r in caplog.records)

    notices = Reminder.objects.filter(kind__startswith="claim_filed")  # the TTO's and the insurer's
    assert set(notices.values_list("state", flat=True)) == {Reminder.State.PENDING} and notices.count() == 2
    assert sorted(sweep.deliverable_reminder_ids()) == sorted(notices.values_list("pk", flat=True))


def test_wrong_smtp_credentials_are_logged_shown_and_retried(admin_client, refusing_smtp, offer, staff, clock, caplog):
    clock("2026-03-02")
    lic = services.apply_for_trial(offer_id=offer.pk, enterprise=EnterpriseFactory())
    services.approve_trial(license_id=lic.pk, by=staff, start=dt.date(2026, 3, 2))
    clock("2026-08-26")
    sweep.run_sweep()
    reminder = Reminder.objects.get(kind=Reminder.Kind.TRIAL_ENDING)

    with caplog.at_level(logging.ERROR):
        assert delivery.deliver_reminder(reminder.pk) == "failed"

    reminder.refresh_from_db()
    assert reminder.state == Reminder.State.PENDING and "SMTPAuthenticationError" in reminder.last_error
    assert any("not sent, will retry" in r.message for r in caplog.records)
    body = admin_client.get(reverse("admin:index"), headers={"accept-language": "en"}).content.decode()
    assert "SMTPAuthenticationError" in body
    assert "1 reminder could not be sent yet" in body


def test_liveness_answers_without_database_or_session(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz/")

    assert response.status_code == 200 and response.content == b"ok"
    assert "sessionid" not in response.cookies


def test_a_web_process_knows_every_task_it_queues_by_name():
    """Services queue tasks by name (licensing/queue.py). A web process imports no task module
    itself, so the app must register them when Django starts, or a queued reset email is lost."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    code = (
        "import django; django.setup(); from celery import current_app; "
        "print(sorted(n for n in current_app.tasks if n.startswith('licensing.')))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, check=True
    ).stdout
    for name in ("licensing.send_reminder", "licensing.send_password_reset", "licensing.build_export"):
        assert name in out


def test_the_sweep_not_run_yet_is_pending_in_the_first_hour_and_a_fault_after(admin_client, monkeypatch):
    """Issue 22, point 7: right after a start the status said "✘ has not run yet" in red."""
    from django.utils import timezone

    from licensing import health

    monkeypatch.setattr(health, "STARTED_AT", timezone.now() - dt.timedelta(minutes=10))
    page = admin_client.get(reverse("admin:index"), headers={"accept-language": "en"}).content.decode()
    assert 'class="status-pending"' in page and "the first sweep is due within an hour of the start" in page
    assert "are the worker and beat running?" not in page

    monkeypatch.setattr(health, "STARTED_AT", timezone.now() - dt.timedelta(hours=3))
    page = admin_client.get(reverse("admin:index"), headers={"accept-language": "en"}).content.decode()
    assert "Has not run yet: are the worker and beat running?" in page and "status-pending" not in page
