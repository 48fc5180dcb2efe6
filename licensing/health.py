"""The state of the parts outside the app (broker, SMTP, the hourly sweep), shown to staff on the
admin index so a bad configuration is seen, not discovered through missing emails.

The page never connects to anything to find out: the worker records what it met when it last
sent an email or ran the sweep, and web requests record a broker they could not reach
(`record`). A mail server that does not answer therefore never holds up a page.
"""

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages
from django.http import HttpResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .domain import clock
from .models import HealthRecord, Reminder

log = logging.getLogger(__name__)

# Beat runs the sweep hourly: two hours without one means beat or the worker is down.
SWEEP_STALE_AFTER = dt.timedelta(hours=2)
# When this process started: for its first hour (and a little) no sweep is expected yet.
STARTED_AT = clock.wall_clock()
FIRST_SWEEP_WITHIN = dt.timedelta(minutes=70)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    pending: bool = False  # not a fault yet: waiting for its first run


def record(part: str, ok: bool, detail: str = "") -> None:
    """What a worker or request just met at `part` (one of HealthRecord.Part)."""
    HealthRecord.objects.update_or_create(
        part=part, defaults={"ok": ok, "detail": detail[:2000], "recorded_at": clock.wall_clock()}
    )


def _when(at) -> str:
    return date_format(timezone.localtime(at), "Y-m-d H:i")


def _recorded_checks(records: dict, now) -> list[Check]:
    Part = HealthRecord.Part
    checks = []
    broker = records.get(Part.BROKER)
    if broker is None or broker.ok:
        checks.append(Check(_("Task broker"), True, settings.CELERY_BROKER_URL.split("@")[-1]))
    else:
        checks.append(
            Check(
                _("Task broker"),
                False,
                _("Unreachable at %(when)s: %(error)s") % {"when": _when(broker.recorded_at), "error": broker.detail},
            )
        )
    sweep = records.get(Part.SWEEP)
    if sweep is None and now - STARTED_AT < FIRST_SWEEP_WITHIN:
        checks.append(
            Check(
                _("Hourly sweep"),
                True,
                _("Not run yet: the first sweep is due within an hour of the start (%(when)s).")
                % {"when": _when(STARTED_AT)},
                pending=True,
            )
        )
    elif sweep is None:
        checks.append(Check(_("Hourly sweep"), False, _("Has not run yet: are the worker and beat running?")))
    elif now - sweep.recorded_at > SWEEP_STALE_AFTER:
        checks.append(
            Check(
                _("Hourly sweep"),
                False,
                _("Last ran at %(when)s: are the worker and beat running?") % {"when": _when(sweep.recorded_at)},
            )
        )
    else:
        checks.append(Check(_("Hourly sweep"), True, _("Last ran at %(when)s.") % {"when": _when(sweep.recorded_at)}))
    if not settings.EMAIL_HOST:
        checks.append(Check(_("Email"), True, _("Console backend (development): emails are printed, not sent.")))
    else:
        smtp = records.get(Part.SMTP)
        server = f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
        if smtp is None:
            checks.append(Check(_("Email"), True, _("%(server)s: no email sent yet.") % {"server": server}))
        elif smtp.ok:
            checks.append(
                Check(
                    _("Email"),
                    True,
                    _("%(server)s: last sent at %(when)s.") % {"server": server, "when": _when(smtp.recorded_at)},
                )
            )
        else:
            checks.append(
                Check(
                    _("Email"),
                    False,
                    _("%(server)s refused or did not answer at %(when)s: %(error)s")
                    % {"server": server, "when": _when(smtp.recorded_at), "error": smtp.detail},
                )
            )
    return checks


def check_reminders() -> Check:
    failing = Reminder.objects.filter(state=Reminder.State.PENDING, attempts__gt=0).count()
    if failing:
        return Check(
            _("Reminders"),
            False,
            ngettext(
                "%(count)s reminder could not be sent yet; see Reminders.",
                "%(count)s reminders could not be sent yet; see Reminders.",
                failing,
            )
            % {"count": failing},
        )
    return Check(_("Reminders"), True, _("No failed deliveries."))


def system_status() -> list[Check]:
    """Two queries, no connection to anything outside the database."""
    records = {r.part: r for r in HealthRecord.objects.all()}
    return [*_recorded_checks(records, clock.wall_clock()), check_reminders()]


def static_manifest_missing() -> bool:
    """In production the static files storage is the manifest one, and every page that links a
    stylesheet fails without the manifest `collectstatic` writes."""
    storage = storages["staticfiles"]
    manifest = getattr(storage, "manifest_name", None)
    return manifest is not None and not (Path(getattr(storage, "location", "")) / manifest).exists()


def liveness(request) -> HttpResponse:
    """/healthz/: the process can serve pages (for a load balancer; touches neither database nor
    session). 503 when the static files were not collected, since every page would fail."""
    if static_manifest_missing():
        log.error("Static files manifest missing under %s: run collectstatic", settings.STATIC_ROOT)
        return HttpResponse("static files not collected", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")
