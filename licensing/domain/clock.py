"""The one clock: every date and moment the app reads comes from here (a lint rule, ruff's
TID251 in pyproject.toml, refuses django.utils.timezone.now and localdate anywhere else).

`today()` is the business date: the day every rule reads ("today" for due dates, grace periods,
trial ends). It is the local date in the business zone (Asia/Shanghai), unless a caller runs "as
of" another day: the sweep runs as of the day it is given, so a sweep as of 2028-03-01 selects,
decides and words everything by that day, and the services it calls agree with it instead of
reading the wall clock.

`now()` is the moment an event is recorded (applied_at, recorded_at, sent_at, the audit trail):
the wall clock, or the day a story is replayed on (the demo book).
"""

import contextvars
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils import timezone

_business_date: contextvars.ContextVar[dt.date | None] = contextvars.ContextVar("business_date", default=None)


def today() -> dt.date:
    return _business_date.get() or timezone.localdate()


def local_date(moment: dt.datetime) -> dt.date:
    """The business-zone date of a recorded moment (an application's day, a payment's)."""
    return timezone.localdate(moment)


def local_time(moment: dt.datetime) -> dt.datetime:
    """A recorded moment on the business zone's clock (Beijing time), as people read it."""
    return timezone.localtime(moment)


def start_of_day(day: dt.date) -> dt.datetime:
    """Midnight at the start of `day` in the business zone: where a date compares with moments."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def wall_clock() -> dt.datetime:
    """The real moment, never replayed: for operations, not business events (health checks,
    export heartbeats, rate-limit windows, retries), which must not move with a replayed story."""
    return timezone.now()


@contextmanager
def as_of(day: dt.date) -> Iterator[dt.date]:
    """Run the block as of `day` (nested blocks restore the outer day when they end)."""
    token = _business_date.set(day)
    try:
        yield day
    finally:
        _business_date.reset(token)


# -- the moment of an event ------------------------------------------------------------------------

_replayed_day: contextvars.ContextVar[dt.date | None] = contextvars.ContextVar("replayed_day", default=None)


def now() -> dt.datetime:
    """When an event is recorded (the audit trail, a payment recorded, a credit moved): the wall
    clock, or, while a story told in the past is replayed (the demo book), that day in office
    hours, so its history reads as it happened and in the order it happened (the wall clock's
    seconds keep the order within the day)."""
    day = _replayed_day.get()
    moment = wall_clock()
    if day is None:
        return moment
    local = timezone.localtime(moment)
    office = dt.timedelta(hours=9) + dt.timedelta(
        seconds=(local.minute * 60 + local.second) * 8, microseconds=local.microsecond
    )  # 09:00 to 17:00, moving with the wall clock's minutes
    return timezone.make_aware(dt.datetime.combine(day, dt.time()) + office, local.tzinfo)


@contextmanager
def replaying(day: dt.date) -> Iterator[dt.date]:
    """Record the block's events on `day` (never later than today): for the demo, not for users."""
    token = _replayed_day.set(min(day, local_date(wall_clock())))
    try:
        yield day
    finally:
        _replayed_day.reset(token)
