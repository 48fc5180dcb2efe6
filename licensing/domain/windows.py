"""The window of sane values for each date a person enters. A date outside it is refused with a
message that says the window, by the service (and so by every form, admin page and command).

| date | window |
|---|---|
| patent filing date | 1985-04-01 (the Patent Law takes effect) .. today |
| patent expiry date | after filing .. filing + 30 years (20 years plus term compensation) |
| trial start | the day applied for - 1 year .. today + 1 year |
| purchase date | the trial's start .. its effective end |
| payment date (recorded or reported) | the day the license was applied for .. today |
| contract signed on | the day it was issued .. today |
| contract takes effect on | the purchase it documents .. a year after signing (before signing: agreed retroactively) |
| insurance policy start | the day applied for - 1 year .. today + 1 year; its end at most 30 years on |
| report period (dashboard, exports) | 1985-04-01 .. today + 50 years |
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .money import add_months

PATENT_LAW_IN_FORCE = dt.date(1985, 4, 1)
LONGEST_PATENT_YEARS = 30
TRIAL_START_LEEWAY = dt.timedelta(days=366)
POLICY_LONGEST_YEARS = 30
REPORT_HORIZON_YEARS = 50


def require_within(value: dt.date, field: str, earliest: dt.date | None, latest: dt.date | None) -> dt.date:
    """`value` or a ValidationError on `field` that names the window."""
    if not isinstance(value, dt.date):
        raise ValidationError({field: _("Enter a date.")})
    if (earliest is not None and value < earliest) or (latest is not None and value > latest):
        if earliest is not None and latest is not None:
            message = _("Enter a date from %(earliest)s to %(latest)s.") % {"earliest": earliest, "latest": latest}
        elif earliest is not None:
            message = _("Enter a date on or after %(earliest)s.") % {"earliest": earliest}
        else:
            message = _("Enter a date on or before %(latest)s.") % {"latest": latest}
        raise ValidationError({field: message})
    return value


def patent_dates(filing: dt.date, expiry: dt.date | None, today: dt.date) -> None:
    require_within(filing, "filing_date", PATENT_LAW_IN_FORCE, today)
    if expiry is not None:
        require_within(
            expiry, "expiry_date", filing + dt.timedelta(days=1), add_months(filing, 12 * LONGEST_PATENT_YEARS)
        )


def trial_start(start: dt.date, applied_on: dt.date, today: dt.date) -> dt.date:
    return require_within(start, "start", applied_on - TRIAL_START_LEEWAY, today + TRIAL_START_LEEWAY)


def purchase_date(on: dt.date, trial_start_on: dt.date, trial_end_effective: dt.date) -> dt.date:
    return require_within(on, "on", trial_start_on, trial_end_effective)


def payment_date(paid_on: dt.date, applied_on: dt.date, today: dt.date) -> dt.date:
    if isinstance(paid_on, dt.date) and paid_on > today:
        raise ValidationError({"paid_on": _("The payment date cannot be in the future.")})
    return require_within(paid_on, "paid_on", applied_on, today)


def policy_dates(starts_on: dt.date, ends_on: dt.date, applied_on: dt.date, today: dt.date) -> None:
    require_within(starts_on, "starts_on", applied_on - TRIAL_START_LEEWAY, today + TRIAL_START_LEEWAY)
    require_within(
        ends_on, "ends_on", starts_on + dt.timedelta(days=1), add_months(starts_on, 12 * POLICY_LONGEST_YEARS)
    )


def report_period(value: dt.date | None, field: str, today: dt.date) -> dt.date | None:
    if value is None:
        return None
    return require_within(value, field, PATENT_LAW_IN_FORCE, add_months(today, 12 * REPORT_HORIZON_YEARS))


CONTRACT_EFFECT_LEEWAY = dt.timedelta(days=366)


def contract_dates(
    signed_on: dt.date, effective_on: dt.date, issued_on: dt.date, bought_on: dt.date, today: dt.date
) -> None:
    """A contract is signed after it was issued and not in the future; it takes effect on the day
    the parties agree, which may be before signing (from the purchase on) or up to a year after."""
    require_within(signed_on, "signed_on", issued_on, today)
    require_within(effective_on, "effective_on", bought_on, signed_on + CONTRACT_EFFECT_LEEWAY)
