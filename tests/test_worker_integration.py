"""Real parts end to end: a Celery worker and beat as separate processes on Redis, PostgreSQL, and
an SMTP server (aiosmtpd) on localhost receiving the emails. The worker runs on the real clock,
so the book is built around today."""

import contextlib
import datetime as dt
import email
import io
import os
import socket
import subprocess
import sys
import time
from email.header import decode_header, make_header

import openpyxl
import pytest
import redis
from aiosmtpd.controller import Controller
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from licensing import services
from licensing.models import Reminder
from licensing.reminders import sweep

from .conftest import tell_the_story_so_far
from .factories import EnterpriseFactory, OfferFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
    pytest.mark.postgres,
    pytest.mark.slow,
]

# One Redis database per xdist worker (gw0: 15, gw1: 14, ...), flushed by the tests that use it.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:])
REDIS_URL = os.environ.get("TEST_REDIS_URL", f"redis://127.0.0.1:6379/{15 - _WORKER}")


class Inbox:
    """aiosmtpd handler: keeps every message it is handed."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        message["X-Rcpt"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    yield controller, inbox, port
    with contextlib.suppress(AssertionError):  # a test may have left it stopped
        controller.stop()


@pytest.fixture
def broker():
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def celery_processes(tmp_path, smtp, settings):
    """Start worker and beat with the test database, Redis, the SMTP server and the test's private
    file storage; stop them after."""
    _controller, _inbox, port = smtp
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": REDIS_URL,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "EMAIL_TIMEOUT": "3",
        "SWEEP_INTERVAL_SECONDS": "2",
        "REMINDER_RETRY_BASE_SECONDS": "1",
        "PRIVATE_MEDIA_ROOT": str(settings.PRIVATE_MEDIA_ROOT),
    }
    procs = []

    def start():
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        for name, args in [
            ("worker", ["worker", "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle"]),
            ("beat", ["beat", "--loglevel=INFO", "--schedule", str(tmp_path / "beat-schedule")]),
        ]:
            log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
            procs.append(
                (
                    subprocess.Popen(
                        celery + args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR
                    ),
                    log,
                )
            )

    yield start
    for proc, log in procs:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    for name in ("worker", "beat"):
        path = tmp_path / f"{name}.log"
        if path.exists():
            sys.stdout.write(f"--- {name} log ---\n{path.read_text()[-4000:]}\n")


def wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def build_book(staff, institution):
    """Around the real today: a trial ending in 7 days (zh-hans SME), an installment due today and
    one 1 day overdue (en SMEs)."""
    today = timezone.localdate()
    trial_sme = EnterpriseFactory(contact_email="zh@sme.example", language="zh-hans")
    offer = OfferFactory(patent__owner=institution, trial_months=1)
    trial = services.apply_for_trial(offer_id=offer.pk, enterprise=trial_sme)
    # ends (on its effective working day) about a week from today: a trial-ending notice is due
    trial = services.approve_trial(license_id=trial.pk, by=staff, start=today - dt.timedelta(days=24))

    payers = []
    for days_ago, mailbox in [(0, "due@sme.example"), (1, "late@sme.example")]:
        sme = EnterpriseFactory(contact_email=mailbox, language="en")
        offer = OfferFactory(patent__owner=institution, trial_months=1, lump_sum_allowed=True, first_due_months=0)
        lic = services.apply_for_trial(offer_id=offer.pk, enterprise=sme)
        services.approve_trial(license_id=lic.pk, by=staff, start=today - dt.timedelta(days=40))
        lic = services.purchase(license_id=lic.pk, plan="lump_sum", by=staff, on=today - dt.timedelta(days=35))
        # place the due date so that the effective (working-day) due date is today or yesterday
        lic.installments.update(
            due_date=today - dt.timedelta(days=days_ago), effective_due_date=today - dt.timedelta(days=days_ago)
        )
        payers.append(lic)
    # The story's own hand-offs (applications, approvals, purchases) went out when it happened,
    # before the window these tests watch.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        tell_the_story_so_far()
    return trial, payers


def expected_recipients(trial):
    days_left = (trial.trial_end_effective - timezone.localdate()).days
    return {"zh@sme.example", "due@sme.example", "late@sme.example"}, days_left


def test_real_worker_and_beat_send_each_reminder_once(staff, institution, smtp, broker, celery_processes):
    controller, inbox, _port = smtp
    controller.start()
    trial, _payers = build_book(staff, institution)
    recipients, days_left = expected_recipients(trial)

    celery_processes()
    assert wait_for(lambda: len(inbox.messages) >= 3), "reminders did not arrive"
    time.sleep(6)  # three more beat sweeps: nothing more may arrive

    assert sorted(m["X-Rcpt"] for m in inbox.messages) == sorted(recipients)
    by_rcpt = {m["X-Rcpt"]: m for m in inbox.messages}
    assert subject(by_rcpt["zh@sme.example"]) == f"您对专利 {trial.offer.patent.number} 的试用将在 {days_left} 天后结束"
    assert subject(by_rcpt["due@sme.example"]).startswith("Payment of CNY 100,000.00 due on")
    assert subject(by_rcpt["late@sme.example"]) == "Overdue for 1 day: CNY 100,000.00"
    assert by_rcpt["late@sme.example"].is_multipart()  # text and HTML
    assert set(Reminder.objects.values_list("state", flat=True)) == {"sent"}


def test_smtp_down_during_the_sweep_then_up_delivers_each_once(staff, institution, smtp, broker, celery_processes):
    controller, inbox, _port = smtp
    trial, _payers = build_book(staff, institution)
    recipients, _ = expected_recipients(trial)

    # A sweep whose deliveries are queued, then Redis loses its messages (a restart): the sweeps
    # read the database, so nothing is lost.
    sweep.run_sweep()
    broker.flushdb()

    celery_processes()  # SMTP is down: every delivery fails and is retried with backoff
    assert wait_for(lambda: Reminder.objects.filter(attempts__gte=1).count() == 3, timeout=60)
    assert inbox.messages == []
    assert "ConnectionRefusedError" in Reminder.objects.first().last_error

    controller.start()  # the server comes back on the same port
    assert wait_for(lambda: len(inbox.messages) >= 3, timeout=90), "reminders not delivered after recovery"
    time.sleep(6)

    assert sorted(m["X-Rcpt"] for m in inbox.messages) == sorted(recipients)
    reminders = Reminder.objects.filter(kind__in=["trial_ending", "installment_due", "overdue"])
    assert reminders.filter(state="sent").count() == 3


def test_real_worker_builds_the_xlsx_export_a_user_requested(
    client, staff, institution, broker, celery_processes, publish_to
):
    """The request commits and publishes to Redis; the worker process builds the file, reporting
    progress in the database; the requester downloads it."""
    from django.contrib.auth.models import Group

    from licensing.models import Export
    from licensing.roles import TTO_STAFF_GROUP

    build_book(staff, institution)
    staff.groups.add(Group.objects.get(name=TTO_STAFF_GROUP))
    client.force_login(staff)
    publish_to(REDIS_URL)
    celery_processes()

    response = client.post(reverse("admin:export_xlsx", args=["licenses"]), headers={"accept-language": "en"})

    export = Export.objects.get()
    assert response.status_code == 302 and export.state == "queued"
    assert wait_for(lambda: Export.objects.get().state in ("done", "failed")), "the worker did not build the export"
    export.refresh_from_db()
    assert (export.state, export.rows_total, export.rows_done, export.error) == ("done", 3, 3, "")
    download = client.get(reverse("admin:export_download", args=[export.pk]))
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    assert sheet.title == "Licenses" and sheet.max_row == 4  # a header and the three licenses


def test_beat_schedule_runs_the_sweep_task():
    from config import celery_app

    celery_app.loader.import_default_modules()  # what a worker does at start: autodiscover tasks
    assert celery_app.conf.beat_schedule["lifecycle-sweep"]["task"] == "licensing.sweep"
    assert {"licensing.sweep", "licensing.send_reminder", "licensing.build_export"} <= set(celery_app.tasks)


def test_a_hand_off_goes_through_the_real_worker_once_from_the_institutions_name(
    client, staff, institution, smtp, broker, celery_processes, publish_to, make_member
):
    """Issue 22, point 4: the SME reports a payment in the portal; the request commits and
    publishes; the worker process sends the TTO one email, from the institution's name, with a
    link to the report in the admin, and the beat sweeps after it send nothing more."""
    controller, inbox, _port = smtp
    controller.start()
    _trial, (payer, _late) = build_book(staff, institution)
    sme = make_member(payer.enterprise).user
    client.force_login(sme)
    publish_to(REDIS_URL)
    celery_processes()

    response = client.post(
        reverse("portal:report_payment", args=[payer.pk]),
        {"amount": "100000.00", "paid_on": timezone.localdate().isoformat(), "reference": "HX-2026-001"},
    )
    assert response.status_code == 302
    assert wait_for(lambda: any(m["X-Rcpt"] == institution.contact_email for m in inbox.messages))
    time.sleep(6)  # three more beat sweeps

    to_tto = [m for m in inbox.messages if m["X-Rcpt"] == institution.contact_email]
    assert len(to_tto) == 1
    (message,) = to_tto
    assert institution.name in str(make_header(decode_header(message["From"])))
    assert "HX-2026-001" not in subject(message) and "100,000.00" in subject(message)
    report = payer.payment_reports.get()
    assert (
        f"/admin/licensing/paymentreport/{report.pk}/change/"
        in message.get_payload()[0].get_payload(decode=True).decode()
    )
