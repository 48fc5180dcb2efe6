"""The business date: the day every rule reads ("today" for due dates, grace periods, trial ends).

It is the local date in the business zone (Asia/Shanghai), unless a caller runs "as of" another
day: the sweep runs as of the day it is given, so a sweep as of 2028-03-01 selects, decides and
words everything by that day, and the services it calls agree with it instead of reading the
wall clock. Moments (applied_at, recorded_at, sent_at) stay real timestamps.
"""

import contextvars
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils import timezone

_business_date: contextvars.ContextVar[dt.date | None] = contextvars.ContextVar("business_date", default=None)


def today() -> dt.date:
    return _business_date.get() or timezone.localdate()


@contextmanager
def as_of(day: dt.date) -> Iterator[dt.date]:
    """Run the block as of `day` (nested blocks restore the outer day when they end)."""
    token = _business_date.set(day)
    try:
        yield day
    finally:
        _business_date.reset(token)
