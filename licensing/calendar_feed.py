"""The SME's private calendar feed (iCalendar): each trial end and each unpaid installment on its
effective date, so deadlines show in the calendar the SME already uses."""

from datetime import timedelta

from django.utils import translation
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, vText

from . import selectors
from .domain import clock
from .domain.numbers import money_text
from .reminders.notices import portal_license_link as portal_link


def _event(uid: str, day, summary: str, description: str) -> Event:
    event = Event()
    event.add("uid", f"{uid}@tto-licensing")
    event.add("dtstamp", clock.now())
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("summary", summary)
    event.add("description", description)
    return event


def build(enterprise, language: str) -> bytes:
    trials, installments = selectors.deadlines_of(enterprise)
    calendar = Calendar()
    calendar.add("prodid", "-//TTO licensing//portal//")
    calendar.add("version", "2.0")
    with translation.override(language):
        # An X- property is not typed by icalendar: vText escapes line breaks and commas in the name.
        calendar.add("x-wr-calname", vText(_("Patent license deadlines: %(name)s") % {"name": enterprise.name}))
        for lic in trials:
            patent = lic.offer.patent
            calendar.add_component(
                _event(
                    f"trial-{lic.pk}",
                    lic.trial_end_effective,
                    _("Trial of %(number)s ends: decide") % {"number": patent.number},
                    _("%(title)s. Contractual end %(contractual)s. %(link)s")
                    % {
                        "title": patent.title,
                        "contractual": lic.trial_end,
                        "link": portal_link(lic),
                    },
                )
            )
        for inst in installments:
            lic = inst.license
            number = lic.offer.patent.number
            if inst.report_pending:  # a royalty period: the report, and the royalty it gives, fall due
                summary = _("Royalty report due for %(number)s") % {"number": number}
                description = _("Report and pay the royalty for %(start)s – %(end)s. %(link)s") % {
                    "start": inst.report.period_start,
                    "end": inst.report.period_end,
                    "link": portal_link(lic),
                }
            else:
                summary = _("Pay CNY %(amount)s for %(number)s") % {
                    "amount": money_text(inst.outstanding),
                    "number": number,
                }
                description = _("Installment %(seq)s, contractual due date %(due)s. %(link)s") % {
                    "seq": inst.sequence,
                    "due": inst.due_date,
                    "link": portal_link(lic),
                }
            calendar.add_component(_event(f"installment-{inst.pk}", inst.effective_due_date, summary, description))
    return calendar.to_ical()
