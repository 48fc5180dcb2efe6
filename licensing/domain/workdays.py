"""Chinese working days, for deadlines that fall on a weekend or statutory holiday.

The State Council's calendar, with its adjusted working days (调休: weekend days declared working
days), comes from `chinesecalendar`, which covers the years already announced. For a later year
(schedules run years ahead) the `holidays` package's computed statutory holidays plus weekends
stand in, without adjusted working days; `manage.py refresh_effective_dates` recomputes stored
dates once an updated calendar is installed.
"""

import datetime as dt
import logging
from functools import cache

import chinese_calendar
import holidays

log = logging.getLogger(__name__)


@cache
def _statutory_holidays(year: int) -> holidays.HolidayBase:
    log.warning("No official working-day calendar for %s: using statutory holidays and weekends", year)
    return holidays.country_holidays("CN", years=year)


def is_working_day(day: dt.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5 and day not in _statutory_holidays(day.year)


def effective_date(day: dt.date) -> dt.date:
    """The deadline as it applies: the day itself, or the next working day."""
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day
